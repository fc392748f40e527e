"""Linking a customer's chat to their account at the shop, once, through a `/start` deep link.

The shop (which knows who is logged in on its site) gives its customer a link
`https://t.me/<bot>?start=<token>`; Telegram sends the bot `/start <token>`. The token names the
shop's account reference and an expiry, signed with the actions secret (docs/actions.md "Linking an
account"), so only the shop can make one. Once linked, calls to the shop's system carry `account`,
and the shop may answer for that account's orders without asking the customer to prove who they are.

A token is good for one link, for at most MAX_VALIDITY: one forwarded to someone else, or seen over a
shoulder, is worthless after the customer used it, and the only secret it holds is the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

MAX_VALIDITY = 24 * 3600  # seconds: a token that claims to be good for longer is refused
# Telegram's start parameter: at most 64 characters of A-Z a-z 0-9 _ -.
_TOKEN = re.compile(r"([A-Za-z0-9]{1,24})_(\d{10})_([A-Za-z0-9_-]{24})")


class LinkRefused(StrEnum):
    """Why a /start token links nothing (said to the customer in their words, data/messages.toml)."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class LinkToken:
    account: str
    expires: int  # unix seconds
    digest: str  # what is kept to refuse the token a second time (not the token)


def make_token(secret: bytes, account: str, expires: int) -> str:
    """The token the shop puts in its deep link (its own code does the same: docs/actions.md)."""
    if not re.fullmatch(r"[A-Za-z0-9]{1,24}", account):
        raise ValueError("an account reference is 1 to 24 letters and digits")
    return f"{account}_{expires}_{_signature(secret, account, expires)}"


def read_token(secret: bytes, text: str, now: float) -> LinkToken | LinkRefused:
    """The account a /start payload links, or why it links none (a used token is the caller's to check)."""
    found = _TOKEN.fullmatch(text.strip())
    if found is None:
        return LinkRefused.MALFORMED
    account, expires, signature = found[1], int(found[2]), found[3]
    if not hmac.compare_digest(signature, _signature(secret, account, expires)):
        return LinkRefused.FORGED
    if not now < expires <= now + MAX_VALIDITY:
        return LinkRefused.EXPIRED
    return LinkToken(account, expires, hashlib.sha256(signature.encode()).hexdigest())


def _signature(secret: bytes, account: str, expires: int) -> str:
    """base64url of the first 18 bytes of HMAC-SHA256(secret, "link:<account>:<expires>"): 24 characters.
    The prefix keeps it apart from an action call's signature, made with the same secret."""
    digest = hmac.new(secret, f"link:{account}:{expires}".encode("ascii"), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")
