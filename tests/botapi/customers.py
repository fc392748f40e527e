"""The test's side of Telegram: customers who write, edit and press buttons; channels that post;
groups, their members and forum topics.

Plain (non-async) methods, called from tests in the server's event loop. Each creates what a
Telegram client would, stores it, and returns the Update (update_id None when the bot may not
see it: privacy mode in groups, or allowed_updates). Misuse a real client could not commit
(pressing a button that is not there, editing someone else's message, writing in a group one is
not in or in a closed topic one does not manage) raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ApiError
from .formatting import MAX_CAPTION, MAX_TEXT, entity_text, format_text
from .forum import FIRST_FORUM_MESSAGE_ID, open_topic, place, topic_name
from .markup import callback_datas
from .media import file_object, make_photo
from .members import Member, make_member
from .model import Chat, User
from .store import ChatLog, QueryRecord, State, snapshot

MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
GROUP_TYPES = ("group", "supergroup")
ChatRef = Chat | User | int
T = TypeVar("T")


class Customers:
    state: State

    # --- people and chats ----------------------------------------------------------------------

    def create_user(self, first_name: str = "Alice", *, user_id: int | None = None, last_name: str | None = None,
                    username: str | None = None, language_code: str | None = "en", is_premium: bool | None = None,
                    started: bool = False) -> User:
        """A customer and their private chat with the bot. The bot may write there only once the
        customer has (`started`), as Telegram forbids bots to start conversations."""
        user = User(user_id or self.state.next_user_id(), first_name, last_name, username, language_code,
                    is_premium=is_premium)
        if user.id in self.state.users:
            raise ValueError(f"user {user.id} exists already")
        self.state.users[user.id] = user
        chat = Chat(user.id, "private", username=username, first_name=first_name, last_name=last_name)
        self.state.add_chat(chat, started=started)
        return user

    def create_group(self, title: str = "Support group", *, chat_id: int | None = None, supergroup: bool = False,
                     forum: bool = False, username: str | None = None, bot_is_admin: bool = False,
                     bot_status: str | None = None, bot_rights: dict[str, bool] | None = None) -> Chat:
        """A group with the bot in it: a member, or an administrator (bot_is_admin) whose rights
        are Telegram's defaults changed by `bot_rights`; bot_status "left" or "kicked" makes a
        group the bot is not in. Under privacy mode it sees only commands, mentions of it and
        replies to its messages, unless it is an admin. A forum (topics on) is a supergroup, as
        Telegram upgrades a group whose topics are enabled."""
        chat_type = "supergroup" if supergroup or forum else "group"
        chat = Chat(chat_id or self.state.next_chat_id(chat_type), chat_type, title=title, username=username,
                    is_forum=forum)
        self.state.add_chat(chat, next_message_id=FIRST_FORUM_MESSAGE_ID if forum else 1)
        self.set_bot_member(chat, bot_status or ("administrator" if bot_is_admin else "member"), **(bot_rights or {}))
        return chat

    def create_channel(self, title: str = "News", *, chat_id: int | None = None, username: str | None = None) -> Chat:
        chat = Chat(chat_id or self.state.next_chat_id("channel"), "channel", title=title, username=username)
        self.state.add_chat(chat)
        self.set_bot_member(chat, "administrator")
        return chat

    def add_member(self, chat: ChatRef, user: User, status: str = "member", *, until_date: int = 0,
                   custom_title: str | None = None, **rights: bool) -> None:
        """Put `user` in a group (or change their standing): creator, administrator (Telegram's
        default rights changed by `rights`, e.g. can_manage_topics=False), member, restricted
        (no rights unless given, e.g. can_send_messages=True), left or kicked."""
        log = self._log(chat, None)
        if log.chat.type == "private":
            raise ValueError("private chats have no members to add")
        log.members[user.id] = make_member(log.chat.type, status, rights, until_date=until_date,
                                           custom_title=custom_title)
        self.state.notify()

    def set_bot_member(self, chat: ChatRef, status: str, **rights: bool) -> None:
        """The bot's own standing, as add_member; "left"/"kicked": its calls there answer 403."""
        self.add_member(chat, self.state.bot, status, **rights)

    def create_topic(self, user: User, chat: ChatRef, name: str, *, icon_color: int | None = None) -> dict[str, Any]:
        """A member opens a topic by hand: the forum_topic_created service message, as an update."""
        log = self._log(chat, user)
        if not log.chat.is_forum:
            raise ValueError(f"chat {log.chat.id} is not a forum; create_group(..., forum=True)")
        member = self._member(log, user)
        if member.status == "restricted" and not member.can("can_manage_topics"):
            raise ValueError(f"user {user.id} may not create topics here")
        _, message = _as_client(lambda: open_topic(self.state, log, user, topic_name(name), icon_color, None))
        return self.state.push_update("message", message, self._bot_sees(log, message))

    def private_chat(self, user: User) -> Chat:
        return self.state.chats[user.id].chat

    def block_bot(self, user: User) -> None:
        """The bot's next message to this user fails with 403 Forbidden: bot was blocked by the user."""
        self.state.chats[user.id].blocked = True

    def unblock_bot(self, user: User) -> None:
        self.state.chats[user.id].blocked = False

    # --- messages ------------------------------------------------------------------------------

    def send_text(self, user: User, text: str, chat: ChatRef | None = None, *, thread: int | None = None,
                  reply_to: dict[str, Any] | None = None, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Commands (/start, /help@bot) get bot_command entities and @names mention entities.
        `thread`: a forum topic's id (see forum.place for where a message lands)."""
        plain, found = format_text(text, None, entities)
        _check_length(plain, MAX_TEXT, "text")
        return self._send(user, chat, _with_entities({"text": plain}, "entities", found), reply_to, thread)

    def send_photo(self, user: User, chat: ChatRef | None = None, *, thread: int | None = None,
                   caption: str | None = None, width: int = 1280, height: int = 960, content: bytes | None = None,
                   reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        photo = make_photo(self.state, content or _png_header(width, height), width, height)
        return self._send(user, chat, {"photo": photo, **self._caption(caption)}, reply_to, thread)

    def send_sticker(self, user: User, chat: ChatRef | None = None, *, thread: int | None = None, emoji: str = "👍",
                     set_name: str | None = "TestStickers") -> dict[str, Any]:
        sticker = file_object(self.state, "sticker", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp", type="regular",
                              width=512, height=512, is_animated=False, is_video=False, emoji=emoji)
        if set_name:
            sticker["set_name"] = set_name
        return self._send(user, chat, {"sticker": sticker}, None, thread)

    def send_voice(self, user: User, chat: ChatRef | None = None, *, thread: int | None = None, duration: int = 3,
                   content: bytes = b"OggS\x00\x02voice") -> dict[str, Any]:
        voice = file_object(self.state, "voice", content, "oga", duration=duration, mime_type="audio/ogg")
        return self._send(user, chat, {"voice": voice}, None, thread)

    def send_document(self, user: User, chat: ChatRef | None = None, *, thread: int | None = None,
                      file_name: str = "invoice.pdf", content: bytes = b"%PDF-1.4\n% test document\n",
                      mime_type: str = "application/pdf", caption: str | None = None) -> dict[str, Any]:
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        document = file_object(self.state, "document", content, extension, file_name=file_name, mime_type=mime_type)
        return self._send(user, chat, {"document": document, **self._caption(caption)}, None, thread)

    def send_location(self, user: User, latitude: float, longitude: float, chat: ChatRef | None = None, *,
                      thread: int | None = None) -> dict[str, Any]:
        return self._send(user, chat, {"location": {"latitude": latitude, "longitude": longitude}}, None, thread)

    def send_contact(self, user: User, phone_number: str, first_name: str | None = None, chat: ChatRef | None = None,
                     *, thread: int | None = None, last_name: str | None = None,
                     contact_user_id: int | None = None) -> dict[str, Any]:
        """Without a first_name the customer shares their own contact."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name or user.first_name}
        if last_name:
            contact["last_name"] = last_name
        owner = contact_user_id if first_name else user.id
        if owner is not None:
            contact["user_id"] = owner
        return self._send(user, chat, {"contact": contact}, None, thread)

    def edit_text(self, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        """The author edits their text: an edited_message (or edited_channel_post) update."""
        log, current = self._stored(message)
        if self.state.sent_by_bot(log, current["message_id"]) or "text" not in current:
            raise ValueError("customers can edit only their own text messages")
        plain, found = format_text(new_text, None, None)
        _check_length(plain, MAX_TEXT, "text")
        if plain == current["text"]:
            raise ValueError("the text is unchanged; Telegram clients send no edit then")
        current.pop("entities", None)
        current.update(_with_entities({"text": plain}, "entities", found), edit_date=self.state.now())
        channel = log.chat.type == "channel"
        visible = channel or self._bot_sees(log, current)
        return self.state.push_update("edited_channel_post" if channel else "edited_message", current, visible)

    def delete_in_private_chat(self, user: User, message: dict[str, Any]) -> None:
        """The user deletes a message of their private chat with the bot, for both sides (Telegram sends the
        bot no update for it; its later edits of the message fail with "message to edit not found")."""
        log, current = self._stored(message)
        if log.chat.type != "private" or log.chat.id != user.id:
            raise ValueError("a user deletes for both sides only in their own private chat")
        log.deleted.append(log.messages.pop(current["message_id"]))
        self.state.notify()

    def post_to_channel(self, channel: Chat, text: str) -> dict[str, Any]:
        """A channel post (sender_chat, no from) for a bot that administers the channel."""
        log = self._log(channel, None)
        if log.chat.type != "channel":
            raise ValueError("post_to_channel needs a channel")
        plain, found = format_text(text, None, None)
        message = self.state.add_message(log, _with_entities({"text": plain}, "entities", found), None)
        return self.state.push_update("channel_post", message)

    # --- buttons -------------------------------------------------------------------------------

    def press_button(self, user: User, bot_message: dict[str, Any], callback_data: str, *,
                     forge: bool = False) -> dict[str, Any]:
        """A callback_query for a button on the message as it is now (edits applied). Only data
        actually on its keyboard can be pressed, unless `forge` sends arbitrary data."""
        log, current = self._stored(bot_message)
        if log.chat.type == "private" and log.chat.id != user.id:
            raise ValueError(f"user {user.id} cannot see private chat {log.chat.id}")
        self._member(log, user)
        if not self.state.sent_by_bot(log, current["message_id"]):
            raise ValueError("only messages the bot sent carry its inline buttons")
        available = callback_datas(current)
        if not forge and callback_data not in available:
            raise ValueError(f"no button with callback_data {callback_data!r} on message "
                             f"{current['message_id']}; buttons: {available}")
        query_id = self.state.new_query_id()
        self.state.queries[query_id] = QueryRecord(query_id, user.id, log.chat.id, current["message_id"], callback_data)
        if log.chat.type == "private":
            log.started = True
        query = {"id": query_id, "from": user.as_json(), "message": snapshot(current), "chat_instance": log.instance,
                 "data": callback_data}
        return self.state.push_update("callback_query", query)

    # --- helpers -------------------------------------------------------------------------------

    def _send(self, user: User, chat: ChatRef | None, content: dict[str, Any],
              reply_to: dict[str, Any] | None, thread: int | None = None) -> dict[str, Any]:
        log = self._log(chat, user)
        if log.chat.type == "channel":
            raise ValueError("customers cannot write in a channel; use post_to_channel")
        if log.chat.type == "private" and log.chat.id != user.id:
            raise ValueError(f"user {user.id} cannot write in the private chat of {log.chat.id}")
        if thread is not None and not log.chat.is_forum:
            raise ValueError(f"chat {log.chat.id} has no topics; create_group(..., forum=True)")
        member = self._member(log, user)
        if member.status == "restricted" and not member.can("can_send_messages"):
            raise ValueError(f"user {user.id} may not write in chat {log.chat.id}")
        target = self._stored(reply_to)[1] if reply_to is not None else None
        fields, target = _as_client(lambda: place(log, thread, member, target))
        message = self.state.add_message(log, {**fields, **content}, user, target)
        if log.chat.type == "private":
            log.started, log.blocked = True, False  # writing to a blocked bot unblocks it
        return self.state.push_update("message", message, self._bot_sees(log, message))

    def _caption(self, caption: str | None) -> dict[str, Any]:
        if not caption:
            return {}
        plain, found = format_text(caption, None, None)
        _check_length(plain, MAX_CAPTION, "caption")
        return _with_entities({"caption": plain}, "caption_entities", found)

    def _member(self, log: ChatLog, user: User) -> Member:
        """Only members act in a group. A plain group takes a stranger's first message as their
        joining; a forum insists on add_member, so no test speaks in a staff group by accident."""
        if log.chat.type not in GROUP_TYPES:
            return Member("member")
        member = log.members.get(user.id)
        if member is None and not log.chat.is_forum:
            member = log.members[user.id] = Member("member")
        if member is None or not member.is_member:
            raise ValueError(f"user {user.id} is not a member of chat {log.chat.id}; add_member first")
        return member

    def _bot_sees(self, log: ChatLog, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups only commands for this bot, mentions of it, replies to it and
        service messages; nothing at all from a group the bot is not in."""
        if log.chat.type in GROUP_TYPES and not self.state.bot_member(log).is_member:
            return False
        if log.chat.type not in GROUP_TYPES or not self.state.privacy_mode or self.state.bot_member(log).is_admin:
            return True
        if "forum_topic_created" in message:
            return True
        text = message.get("text") or message.get("caption") or ""
        entities = message.get("entities") or message.get("caption_entities") or []
        me = f"@{self.state.bot.username}".lower()
        for entity in entities:
            covered = entity_text(text, entity).lower()
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                return "@" not in covered or covered.endswith(me)
            if entity["type"] == "mention" and covered == me:
                return True
        replied = message.get("reply_to_message") or {}
        return replied.get("from", {}).get("id") == self.state.bot.id

    def _log(self, chat: ChatRef | None, user: User | None) -> ChatLog:
        chat_id = chat_id_of(chat) if chat is not None else user.id if user else None
        if chat_id not in self.state.chats:
            raise ValueError(f"unknown chat {chat_id}; create it first")
        return self.state.chats[chat_id]

    def _stored(self, message: dict[str, Any]) -> tuple[ChatLog, dict[str, Any]]:
        """The stored (live) message behind a Message or Update dict."""
        message = message_of(message)
        log = self._log(message["chat"]["id"], None)
        current = log.messages.get(message["message_id"])
        if current is None:
            raise ValueError(f"message {message['message_id']} in chat {log.chat.id} does not exist (deleted?)")
        return log, current


def chat_id_of(chat: ChatRef) -> int:
    """A chat, a user (their private chat) or a plain id."""
    return chat if isinstance(chat, int) else chat.id


def message_of(obj: dict[str, Any]) -> dict[str, Any]:
    """Accept a Message, or an Update carrying one (a callback query's message included)."""
    if "update_id" not in obj:
        return obj
    for kind in MESSAGE_KINDS:
        if kind in obj:
            return obj[kind]
    if "callback_query" in obj:
        return obj["callback_query"]["message"]
    raise ValueError("this update carries no message")


def _as_client(action: Callable[[], T]) -> T:
    """What the Bot API refuses, a Telegram client cannot do either."""
    try:
        return action()
    except ApiError as exc:
        raise ValueError(f"a Telegram client cannot do this: {exc.description}") from None


def _with_entities(fields: dict[str, Any], key: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    return {**fields, key: entities} if entities else fields


def _check_length(text: str, limit: int, what: str) -> None:
    if what == "text" and not text:
        raise ValueError("Telegram clients cannot send an empty message")
    if len(text) > limit:
        raise ValueError(f"a {what} longer than {limit} characters cannot be sent")


def _png_header(width: int, height: int) -> bytes:
    """Enough of a PNG for its size to be read; tests rarely need pixels."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
