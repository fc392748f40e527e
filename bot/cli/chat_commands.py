"""Commands that run the bot (the local chat, and `run`: Telegram when a token is set) and show its handoffs."""

from __future__ import annotations

import json
import os

import click

from bot.cli.app import Failed, command, config_of, opened
from bot.demo_shop_process import beside
from bot.summaries import handoff_line
from bot.usecases import handoff


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
    """On Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the local chat; with the demo shop beside it
    when [demo_shop] start is true."""
    config = config_of(ctx)
    with beside(config):
        if os.environ.get("TELEGRAM_BOT_TOKEN"):
            from bot.channels.telegram_app import run_telegram

            return run_telegram(config)
        click.echo("TELEGRAM_BOT_TOKEN is not set: starting the local chat instead.", err=True)
        return ctx.invoke(chat)


@command()
@click.option("--open", "open_only", is_flag=True, help="only handoffs a person holds or is about to")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per handoff")
@click.pass_context
def handoffs(ctx: click.Context, open_only: bool, as_json: bool) -> int:
    """The queue of conversations handed to a person: who holds what, and how long customers waited."""
    with opened(ctx) as runtime:
        rows = handoff.queue(runtime, open_only)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        click.echo("no open handoffs" if open_only else "no handoffs yet")
    for row in rows:
        click.echo(handoff_line(row))
    return 0
