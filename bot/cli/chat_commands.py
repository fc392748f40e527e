"""Commands that run the bot: the local chat, and `run` (Telegram when a token is set)."""

from __future__ import annotations

import os

import click

from bot.cli.app import Failed, command, config_of, opened


@command()
@click.pass_context
def chat(ctx: click.Context) -> int:
    """Talk to the bot in this terminal."""
    from bot.channels.console import ConsoleChat

    with opened(ctx) as runtime:
        if runtime.model.current is None:
            raise Failed(runtime.model.problem or "no model is trained yet: run `supportbot train` first (`make run` does)")
        ConsoleChat(runtime).run()
    return 0


@command()
@click.pass_context
def run(ctx: click.Context) -> int:
    """On Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the local chat."""
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        from bot.channels.telegram_app import run_telegram

        return run_telegram(config_of(ctx))
    click.echo("TELEGRAM_BOT_TOKEN is not set: starting the local chat instead.", err=True)
    return ctx.invoke(chat)
