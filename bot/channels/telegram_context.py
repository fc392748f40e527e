"""What every Telegram handler may reach: typed `context.bot_data` (PTB's ContextTypes).

Handlers get the worker (their only way to the database and the model), the read-only config and
domain (safe to read on the event loop), the flood guard, the retrainer, the staff group and the order of its relays. Nothing else.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.actions import ActionsClient
from bot.channels.flood import FloodGuard
from bot.channels.relay_order import RelayOrder
from bot.channels.staff_group import StaffGroup
from bot.retrain import Retrainer
from bot.usecases.access import Actor
from bot.worker import Worker
from training.config import Config
from training.domain import Domain

CHANNEL = "telegram"


class BotData:
    """Set once by `build_application`, before the first update."""

    worker: Worker
    config: Config
    domain: Domain
    flood: FloodGuard
    retrainer: Retrainer
    staff: StaffGroup
    actions: ActionsClient  # the shop's system; awaited on the event loop, never on the worker
    relay_order: RelayOrder


Context = CallbackContext[ExtBot, dict, dict, BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)


def language_of_user(update: Update) -> str:
    code = update.effective_user.language_code if update.effective_user else None
    return "zh" if code and code.lower().startswith("zh") else "en"


def actor_of(update: Update, config: Config) -> Actor:
    """`telegram:<user id>`; an admin only when the id is in [telegram] admin_ids and the chat is private."""
    user, chat = update.effective_user, update.effective_chat
    admin = bool(user and chat and chat.type == "private" and user.id in config.telegram.admin_ids)
    return Actor(f"{CHANNEL}:{user.id if user else '?'}", admin)
