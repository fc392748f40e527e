"""The records the server keeps and hands to tests: people, chats, calls, answers, deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


def _present(**fields: Any) -> dict[str, Any]:
    """Telegram omits optional fields instead of sending null."""
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return _present(id=self.id, is_bot=self.is_bot, first_name=self.first_name, last_name=self.last_name,
                        username=self.username, language_code=self.language_code, is_premium=self.is_premium)


@dataclass(frozen=True)
class Chat:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False  # supergroups with topics

    def as_json(self) -> dict[str, Any]:
        return _present(id=self.id, type=self.type, title=self.title, username=self.username,
                        first_name=self.first_name, last_name=self.last_name, is_forum=self.is_forum or None)


@dataclass
class Topic:
    """A forum topic; its id is the id of the service message that created it."""

    thread_id: int
    name: str
    icon_color: int
    creator_id: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def as_json(self) -> dict[str, Any]:
        """ForumTopic, as createForumTopic returns it."""
        return {"message_thread_id": self.thread_id, **self.created_json()}

    def created_json(self) -> dict[str, Any]:
        """ForumTopicCreated, the service message's payload."""
        return _present(name=self.name, icon_color=self.icon_color, icon_custom_emoji_id=self.icon_custom_emoji_id)


@dataclass
class Call:
    """One authenticated Bot API request: typed params, the fault it got, the envelope answered."""

    method: str
    params: dict[str, Any]
    at: float
    fault: str | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool | None:
        """None while in flight or when the connection was dropped."""
        return None if self.response is None else bool(self.response.get("ok"))


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    at: float


@dataclass(frozen=True)
class ChatAction:
    chat_id: int
    action: str
    at: float
    message_thread_id: int | None = None


class ServedFault(NamedTuple):
    method: str
    kind: str


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook; `error` is what getWebhookInfo would report."""

    update_id: int
    url: str
    attempt: int
    status: int | None
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice, sticker
    data: bytes
    file_path: str

    def as_json(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.data),
                "file_path": self.file_path}
