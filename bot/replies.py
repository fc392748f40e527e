"""What a channel hands the engine and gets back: a message in, a reply with its buttons out.

Kept apart from the engine so that every part that builds replies (the engine, the fulfilment of an
intent's action, the channels) shares these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.actions import ActionCall
from training.policy import Action


class Control(StrEnum):
    """What a button can mean besides an intent: a person, or a rating of the answer."""

    HUMAN = "human"
    UP = "up"
    DOWN = "down"


SLOT_CHOICE = "slot:"  # a button's choice that fills the slot the bot asked for: "slot:10023"


@dataclass(frozen=True)
class Incoming:
    channel: str
    user: str
    chat_id: str
    text: str
    language: str | None = None  # the channel's hint; the text decides when it has letters
    external_key: str | None = None  # the channel's update id: a redelivery is stored and answered once


@dataclass(frozen=True)
class Button:
    label: str
    choice: str  # an intent name, or a Control


@dataclass(frozen=True)
class Reply:
    text: str
    message_id: int | None = None
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    action: Action = Action.ANSWER
    intent: str | None = None
    handoff_id: int | None = None  # a handoff this reply announces (HANDOFF) or relays to (RELAY)
    call: ActionCall | None = None  # the shop's system to ask before sending (the text is the answer without it)


RATINGS = (Button("👍", Control.UP), Button("👎", Control.DOWN))


def person_button(label: str, offered: bool) -> tuple[Button, ...]:
    """"Talk to a person", where [handoff] on_button offers it."""
    return (Button(label, Control.HUMAN),) if offered else ()
