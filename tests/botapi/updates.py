"""The server-side update queue: updates stay until a later getUpdates offset confirms them."""

from __future__ import annotations

import copy
from typing import Any

# What a bot gets when it never chose, or chose [] (Bot API: all but these).
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    def __init__(self, first_update_id: int = 1) -> None:
        self._pending: list[dict[str, Any]] = []
        self._next_id = first_update_id
        self._allowed: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def allowed(self) -> list[str] | None:
        return sorted(self._allowed) if self._allowed is not None else None

    def set_allowed(self, types: list[str] | None) -> None:
        """None keeps the previous choice and [] restores the default, as Telegram documents."""
        if types is not None:
            self._allowed = frozenset(types) or None

    def accepts(self, kind: str) -> bool:
        """Applied when an update is created, so a new choice does not touch queued updates."""
        return kind in self._allowed if self._allowed is not None else kind not in DEFAULT_EXCLUDED

    def create(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a new update with the next id."""
        update = {"update_id": self._next_id, kind: copy.deepcopy(payload)}
        self._next_id += 1
        self._pending.append(update)
        return copy.deepcopy(update)

    def confirm(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset updates."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def peek(self, limit: int) -> list[dict[str, Any]]:
        return copy.deepcopy(self._pending[:limit])

    def first(self) -> dict[str, Any] | None:
        return copy.deepcopy(self._pending[0]) if self._pending else None

    def drop_all(self) -> None:
        self._pending.clear()

    def pending(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._pending)
