"""`supportbot demo-shop`: the demo shop's system alone, for trying the actions contract against it."""

from __future__ import annotations

import os

import click

from bot.cli.app import Failed, command, config_of
from bot.demo_shop_process import SECRET_VARIABLE


@command("demo-shop")
@click.option("--host", help="address to listen on (default: [demo_shop] host)")
@click.option("--port", type=click.IntRange(1, 65535), help="port (default: [demo_shop] port)")
@click.pass_context
def demo_shop(ctx: click.Context, host: str | None, port: int | None) -> int:
    """The demo shop (sample orders, refunds, stock) answering signed action calls until Ctrl-C.
    `supportbot run` starts it by itself when [demo_shop] start is true."""
    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        raise Failed(f"{SECRET_VARIABLE} is not set: the bot and the demo shop sign with it, so set the same value for both "
                     "(e.g. export SUPPORTBOT_ACTIONS_SECRET=$(openssl rand -hex 32))")
    from demo_shop.app import serve

    config = config_of(ctx)
    serve(host or config.demo_shop.host, port or config.demo_shop.port, config.demo_shop_db, secret)
    return 0
