"""What the fake Telegram knows, shared by the HTTP methods and the test-side API."""

from __future__ import annotations

import copy
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .changes import ChangeSignal
from .errors import bad_request, forbidden
from .members import Member
from .model import CallbackAnswer, Chat, ChatAction, StoredFile, Topic, User
from .updates import UpdateQueue


@dataclass
class ChatLog:
    """One chat: its messages, its members (the bot among them) and, in forums, its topics."""

    chat: Chat
    instance: str  # chat_instance of callback queries from this chat
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    bot_message_ids: set[int] = field(default_factory=set)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    next_message_id: int = 1
    started: bool = False  # private chats: the user has written to the bot
    blocked: bool = False  # private chats: the user blocked the bot
    members: dict[int, Member] = field(default_factory=dict)  # groups and channels, by user id
    topics: dict[int, Topic] = field(default_factory=dict)  # forums: open and closed, not deleted
    reply_keyboard: dict[str, Any] | None = None  # what the customer's keyboard shows now


@dataclass
class QueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass
class WebhookConfig:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class State:
    def __init__(self, bot: User, privacy_mode: bool, clock: Callable[[], float]) -> None:
        self.bot = bot
        self.privacy_mode = privacy_mode
        self.clock = clock
        self.users: dict[int, User] = {}
        self.chats: dict[int, ChatLog] = {}
        self.files: dict[str, StoredFile] = {}
        self.photo_sets: dict[str, list[dict[str, Any]]] = {}
        self.bot_messages: list[tuple[int, int]] = []  # (chat_id, message_id) in sending order
        self.queries: dict[str, QueryRecord] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[ChatAction] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.updates = UpdateQueue()
        self.filtered_updates: list[dict[str, Any]] = []
        self.webhook = WebhookConfig()
        self.changed = ChangeSignal()
        self.poll_generation = 0
        self.closing = False
        self._file_numbers = itertools.count(1)
        self._user_ids = itertools.count(100_000_001)
        self._group_numbers = itertools.count(1)

    def now(self) -> int:
        """Unix seconds, as every Telegram date."""
        return int(self.clock())

    def notify(self) -> None:
        self.changed.notify()

    def next_user_id(self) -> int:
        return next(n for n in self._user_ids if n not in self.chats)

    def next_chat_id(self, chat_type: str) -> int:
        """Basic groups have small negative ids; supergroups and channels start with -100."""
        while True:
            number = next(self._group_numbers)
            chat_id = -(700_000_000 + number) if chat_type == "group" else -(1_000_000_000_000 + 2_000_000_000 + number)
            if chat_id not in self.chats:
                return chat_id

    # --- chats ---------------------------------------------------------------------------------

    def add_chat(self, chat: Chat, **flags: Any) -> ChatLog:
        if chat.id in self.chats:
            raise ValueError(f"chat {chat.id} exists already")
        log = ChatLog(chat, instance=str(secrets.randbits(63) - 2**62), **flags)
        self.chats[chat.id] = log
        return log

    def find_chat(self, chat_id: Any) -> ChatLog:
        """A chat the bot is in: a group or channel it left or was kicked from answers 403."""
        log = self._lookup_chat(chat_id)
        if log.chat.type != "private":
            status = self.bot_member(log).status
            if status == "kicked":
                raise forbidden(f"bot was kicked from the {log.chat.type} chat")
            if status == "left":
                raise forbidden(f"bot is not a member of the {log.chat.type} chat")
        return log

    def _lookup_chat(self, chat_id: Any) -> ChatLog:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str):
            wanted = chat_id.lstrip("@").lower()
            found = [log for log in self.chats.values() if (log.chat.username or "").lower() == wanted]
            if chat_id.startswith("@") and found:
                return found[0]
            raise bad_request("chat not found")
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        return self.chats[chat_id]

    def bot_member(self, log: ChatLog) -> Member:
        """The bot's standing in a chat; in a private chat it is simply there."""
        return log.members.get(self.bot.id) or Member("member")

    def writable_chat(self, chat_id: Any) -> ChatLog:
        """A chat the bot may post to; private chats need the user to have started the bot."""
        log = self.find_chat(chat_id)
        if log.chat.type == "private" and log.blocked:
            raise forbidden("bot was blocked by the user")
        if log.chat.type == "private" and not log.started:
            raise forbidden("bot can't initiate conversation with a user")
        return log

    # --- messages ------------------------------------------------------------------------------

    def add_message(self, log: ChatLog, content: dict[str, Any], sender: User | None,
                    reply_to: dict[str, Any] | None = None, *, service: bool = False) -> dict[str, Any]:
        """Store a new message with the chat's next id; channel posts carry sender_chat, not from.
        The bot's service messages (a topic created, closed…) are its own but not among those it sent."""
        message: dict[str, Any] = {"message_id": log.next_message_id}
        if log.chat.type == "channel":
            message["sender_chat"] = log.chat.as_json()
        elif sender is not None:
            message["from"] = sender.as_json()
        message.update(chat=log.chat.as_json(), date=self.now())
        if reply_to is not None:
            message["reply_to_message"] = snapshot(reply_to)
        message.update(copy.deepcopy(content))
        log.next_message_id += 1
        log.messages[message["message_id"]] = message
        if sender is not None and sender.id == self.bot.id:
            log.bot_message_ids.add(message["message_id"])
            if not service:
                self.bot_messages.append((log.chat.id, message["message_id"]))
        self.notify()
        return copy.deepcopy(message)

    def message(self, log: ChatLog, message_id: Any) -> dict[str, Any] | None:
        return log.messages.get(message_id) if isinstance(message_id, int) else None

    def sent_by_bot(self, log: ChatLog, message_id: int) -> bool:
        return message_id in log.bot_message_ids

    # --- updates -------------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any], visible: bool = True) -> dict[str, Any]:
        """Queue an update for the bot. One the bot may not see (privacy mode, allowed_updates) is
        never created on Telegram: it gets no update_id and is kept in `filtered_updates` instead."""
        if visible and self.updates.accepts(kind):
            update = self.updates.create(kind, payload)
        else:
            update = {"update_id": None, kind: copy.deepcopy(payload)}
            self.filtered_updates.append(copy.deepcopy(update))
        self.notify()
        return update

    def new_query_id(self) -> str:
        return str(secrets.randbits(62))

    def answer_query(self, answer: CallbackAnswer) -> None:
        self.callback_answers.append(answer)
        self.notify()

    # --- files ---------------------------------------------------------------------------------

    def store_file(self, kind: str, data: bytes, extension: str) -> StoredFile:
        number = next(self._file_numbers)
        folder = {"photo": "photos", "document": "documents", "voice": "voice", "sticker": "stickers"}[kind]
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}{number:04d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"U{number:04d}{secrets.token_urlsafe(6)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}.{extension}",
        )
        self.files[stored.file_id] = stored
        return stored


def snapshot(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in another (reply_to_message, callback_query.message): one level deep."""
    embedded = copy.deepcopy(message)
    embedded.pop("reply_to_message", None)
    return embedded
