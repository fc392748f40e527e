"""`supportbot`: the command-line channel. Importing this registers every command."""

from bot.cli import chat_commands, data_commands, demo_commands, domain_commands, model_commands  # noqa: F401  (registers the commands)
from bot.cli.app import main

__all__ = ["main"]
