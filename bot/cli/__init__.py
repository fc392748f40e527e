"""`supportbot`: the command-line channel. Importing this registers every command."""

from bot.cli import (  # noqa: F401  (registers the commands)
    ab_commands,
    chat_commands,
    data_commands,
    demo_commands,
    domain_commands,
    link_commands,
    model_commands,
    stats_commands,
)
from bot.cli.app import main

__all__ = ["main"]
