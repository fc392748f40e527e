"""`supportbot link-account`: a one-time link that ties a customer's chat to their account at the shop.

What a shop's website does for a logged-in customer (docs/actions.md "Linking an account"), here for
trying it and for shops that hand links out by hand.
"""

from __future__ import annotations

import os
import time

import click

from bot.account_link import MAX_VALIDITY, make_token
from bot.cli.app import Failed, command
from bot.fulfilment import SECRET_ENV


@command("link-account")
@click.argument("account")
@click.option("--minutes", type=click.IntRange(1, MAX_VALIDITY // 60), default=15, show_default=True,
              help="how long the link works (it works once)")
@click.option("--bot", "bot_username", help="the bot's Telegram username: print the t.me link, not the bare token")
def link_account(account: str, minutes: int, bot_username: str | None) -> int:
    """A link that links the chat of whoever opens it to ACCOUNT, the shop's own reference of the customer
    (in the local chat, type `/start TOKEN`). Signed with SUPPORTBOT_ACTIONS_SECRET, as the bot checks it."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        raise Failed(f"{SECRET_ENV} is not set: the bot checks links with it, so set the same value for both")
    try:
        token = make_token(secret.encode(), account, int(time.time()) + minutes * 60)
    except ValueError as exc:
        raise Failed(str(exc)) from None
    click.echo(f"https://t.me/{bot_username.lstrip('@')}?start={token}" if bot_username else token)
    return 0
