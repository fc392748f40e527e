"""Every inline button's callback data, in one codec.

Telegram gives a button 64 bytes of data and hands them back, unchecked, when it is pressed: anyone
can send any bytes. Each kind of button has its own pattern, registered with its handler, so
routing never depends on the order handlers are added in; `UNKNOWN` matches everything else (forged
or stale data) so such a press is still answered. The wire formats are those earlier versions sent,
so buttons already in customers' chats keep working after an upgrade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.replies import SLOT_CHOICE

MAX_BYTES = 64
_NAME = r"[a-z_]{1,40}"
# Under a bot reply: an intent, a Control, or a value offered for the slot the bot asked for ("slot:10023").
CHOICE = re.compile(rf"^(\d{{1,15}}):({_NAME}|{SLOT_CHOICE}[A-Za-z0-9-]{{1,32}})$")
FORGET = re.compile(r"^f:(yes|no)$")  # the /forget confirmation
REVIEW = re.compile(rf"^r:(\d{{1,15}}):({_NAME})$")  # an admin's review label, or "skip"
STAFF = re.compile(rf"^h:(\d{{1,15}}):(claim|resolve|bot|pick|label)(?::({_NAME}))?$")  # in a staff topic
_KNOWN = (CHOICE, FORGET, REVIEW, STAFF)
UNKNOWN = re.compile(rf"^(?!(?:{'|'.join(p.pattern[1:-1] for p in _KNOWN)})$)", re.DOTALL)
SKIP = "skip"


class StaffVerb(StrEnum):
    """The buttons staff press in a handoff's topic."""

    CLAIM = "claim"  # "I'm on it"
    RESOLVE = "resolve"  # with an intent: resolved, and the customer's question labelled with it
    BOT = "bot"  # back to the bot
    PICK = "pick"  # show the intents to label with
    LABEL = "label"  # with an intent: label the customer's question


@dataclass(frozen=True)
class StaffPress:
    handoff_id: int
    verb: StaffVerb
    intent: str | None


@dataclass(frozen=True)
class Pressed:
    """A press about stored message `message_id`: a customer's choice under the bot's reply to it
    (an intent or a Control), or an admin's review label for it (an intent or SKIP)."""

    message_id: int
    choice: str


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES or not any(pattern.match(data) for pattern in _KNOWN):
        raise ValueError(f"not valid callback data: {data!r}")
    return data


def choice(message_id: int, value: str) -> str:
    return _checked(f"{message_id}:{value}")


def forget(confirmed: bool) -> str:
    return _checked(f"f:{'yes' if confirmed else 'no'}")


def review(message_id: int, value: str) -> str:
    return _checked(f"r:{message_id}:{value}")


def staff(handoff_id: int, verb: StaffVerb, intent: str | None = None) -> str:
    return _checked(f"h:{handoff_id}:{verb}" + (f":{intent}" if intent else ""))


def parse_staff(data: str | None) -> StaffPress | None:
    match = STAFF.match(data or "")
    return StaffPress(int(match[1]), StaffVerb(match[2]), match[3]) if match else None


def parse_choice(data: str | None) -> Pressed | None:
    match = CHOICE.match(data or "")
    return Pressed(int(match[1]), match[2]) if match else None


def parse_forget(data: str | None) -> bool | None:
    """True for "yes, erase", False for "no", None for anything else."""
    match = FORGET.match(data or "")
    return match[1] == "yes" if match else None


def parse_review(data: str | None) -> Pressed | None:
    match = REVIEW.match(data or "")
    return Pressed(int(match[1]), match[2]) if match else None
