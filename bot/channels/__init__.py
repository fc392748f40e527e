"""Channels: where people reach supportbot (Telegram, the terminal). Each translates its world into
use-case calls (bot/usecases) and their results back; none holds business logic."""
