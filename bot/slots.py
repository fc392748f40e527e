"""Asking for what an intent's action needs, and holding the answers until the action runs.

The flow, as data (PTB's ConversationHandler idea, kept in SQLite so a restart continues it):

    state      the customer's message                     what happens (bot/engine.py)
    none       an intent with an action, a slot missing   ASK the first missing slot, then await it
    none       an intent with an action, all known        CALL the shop's system
    awaiting   "never mind", "算了", /cancel              CANCELLED, nothing awaited
    awaiting   older than [slots] timeout_minutes         nothing awaited: a new message
    awaiting   fills the slot                             ASK the next missing one, or CALL
    awaiting   another intent, answered confidently       nothing awaited: a new message
    awaiting   anything else                              ASK again; after [slots] max_attempts, the general answer

A slot whose value is personal data (an e-mail or postcode given to prove who ordered) is held
here in memory for the one call, never written: after a restart it is simply asked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.dialogue import Awaiting, Dialogue
from training.config import SlotSettings
from training.domain import TEXT, Intent
from training.entities import Entity

# What ends the bot's question, after lower-casing and dropping punctuation and spaces at the ends.
CANCEL = frozenset({
    "/cancel", "cancel", "never mind", "nevermind", "forget it", "no thanks", "stop", "nothing", "skip it",
    "算了", "不用了", "取消", "没事了", "不查了", "算了吧", "不用了谢谢",
})
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def is_cancel(text: str) -> bool:
    """Whether the customer is calling the question off: "Never mind!", "算了。", /cancel."""
    stripped = text.strip().lower()
    return stripped == "/cancel" or _EDGES.sub("", stripped) in CANCEL


@dataclass
class _Held:
    """Personal slot values of one customer, until the question lapses."""

    values: dict[str, str]
    expires: datetime


class SlotFilling:
    """On the worker thread, like the engine that owns it."""

    def __init__(self, dialogue: Dialogue, settings: SlotSettings) -> None:
        self.dialogue = dialogue
        self.settings = settings
        self.timeout = timedelta(minutes=settings.timeout_minutes)
        self._memory: dict[int, _Held] = {}

    def awaiting(self, user_id: int) -> Awaiting | None:
        """The customer's open question; a lapsed one is cleared and counts as none."""
        awaiting = self.dialogue.awaiting(user_id)
        if awaiting is not None and awaiting.expired():
            self.clear(user_id)
            return None
        return awaiting

    def known(self, awaiting: Awaiting) -> dict[str, str]:
        """What the customer told so far: stored slots, and personal ones if this process still holds them."""
        held = self._memory.get(awaiting.user_id)
        return {**awaiting.filled, **(held.values if held else {})}

    @staticmethod
    def values(intent: Intent, entities: Iterable[Entity], text: str, awaited: str | None = None) -> dict[str, str]:
        """The intent's slots this message fills: the first entity of a type each accepts; the whole
        text for the awaited slot when it takes free text (a product name)."""
        entities = tuple(entities)
        found = {}
        for name, slot in intent.slots.items():
            entity = next((e for e in entities if e.type in slot.entity_types), None)
            if entity is not None:
                found[name] = entity.value
            elif name == awaited and TEXT in slot.entity_types and text.strip():
                found[name] = text.strip()
        return found

    @staticmethod
    def missing(intent: Intent, known: Mapping[str, str], linked: bool = False) -> str | None:
        """The first required slot not known yet; a customer whose account is linked proves nothing."""
        return next((name for name in intent.requires if name not in known and not (linked and intent.slots[name].proof)),
                    None)

    def ask(self, user_id: int, intent: Intent, slot: str, known: Mapping[str, str], message_id: int | None,
            attempts: int = 0) -> None:
        """Await `slot`: stored slots in SQLite, personal ones in memory only."""
        self._forget_lapsed()
        personal = {k: v for k, v in known.items() if intent.slots[k].pii}
        self.dialogue.ask(user_id, intent.name, slot, {k: v for k, v in known.items() if k not in personal},
                          message_id, self.timeout, attempts)
        if personal:
            self._memory[user_id] = _Held(personal, datetime.now(UTC) + self.timeout)
        else:
            self._memory.pop(user_id, None)

    def clear(self, user_id: int) -> None:
        """Nothing awaited any more, and nothing personal held."""
        self.dialogue.clear(user_id)
        self._memory.pop(user_id, None)

    def drop(self, user_id: int) -> None:
        """/forget: whatever this process holds about the customer goes (the row goes with their data)."""
        self._memory.pop(user_id, None)

    def _forget_lapsed(self) -> None:
        """Customers who walked away mid-question leave nothing behind in memory."""
        now = datetime.now(UTC)
        for user_id in [u for u, held in self._memory.items() if held.expires <= now]:
            del self._memory[user_id]
