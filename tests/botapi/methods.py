"""The Bot API methods. Each takes the shared State and typed Params and returns the `result`
(or raises ApiError), so the HTTP layer only wraps envelopes."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import NOT_MODIFIED, POLL_CONFLICT, QUERY_TOO_OLD, WEBHOOK_CONFLICT, ApiError, bad_request
from .formatting import MAX_CAPTION, MAX_TEXT, format_text, text_error
from .forum import check_action_thread, place
from .markup import Markup, parse_markup
from .media import photo_from_param
from .members import Member
from .model import CallbackAnswer, ChatAction
from .params import Params, normalize
from .store import ChatLog, State, WebhookConfig

MAX_POLL_TIMEOUT = 50.0
MAX_ANSWER_TEXT = 200
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document",
    "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
SCOPE_TYPES = frozenset({
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat", "chat_administrators",
    "chat_member",
})
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LANGUAGE = re.compile(r"^([a-z]{2})?$")
# What copyMessage copies; anything else (service messages above all) cannot be copied.
COPYABLE = frozenset({"text", "photo", "document", "voice", "sticker", "location", "contact"})
CAPTIONED = frozenset({"photo", "document", "voice"})
MAX_REACTIONS = 11

Handler = Callable[[State, Params], Any | Awaitable[Any]]


@dataclass(frozen=True)
class ApiMethod:
    name: str
    handler: Handler


@dataclass(frozen=True)
class Described:
    """A result whose envelope also carries a description, as setWebhook's does on Telegram."""

    result: Any
    description: str


METHODS: dict[str, ApiMethod] = {}


def api_method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = ApiMethod(name, handler)
        return handler

    return register


def lookup(name: str) -> ApiMethod | None:
    """Method names are case-insensitive on Telegram."""
    return METHODS.get(name.lower())


# --- bot ---------------------------------------------------------------------------------------


@api_method("getMe")
def get_me(state: State, params: Params) -> dict[str, Any]:
    return {
        **state.bot.as_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": not state.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("logOut")
def log_out(state: State, params: Params) -> bool:
    return True


@api_method("close")
def close(state: State, params: Params) -> bool:
    return True


# --- receiving updates -------------------------------------------------------------------------


@api_method("getUpdates")
async def get_updates(state: State, params: Params) -> list[dict[str, Any]]:
    """Long polling: confirm below `offset`, then wait up to `timeout` for anything pending.
    A newer getUpdates ends an older one with 409, as when two bot instances run."""
    if state.webhook.url:
        raise ApiError(409, WEBHOOK_CONFLICT)
    limit = params.get("limit")
    limit = limit if limit is not None and 1 <= limit <= 100 else 100
    timeout = min(max(params.get("timeout") or 0.0, 0.0), MAX_POLL_TIMEOUT)
    state.updates.set_allowed(_update_types(params.get("allowed_updates")))
    if params.get("offset") is not None:
        state.updates.confirm(params["offset"])
    state.poll_generation += 1
    ticket = state.poll_generation
    state.notify()
    await state.changed.until(
        lambda: state.closing or state.webhook.url or state.poll_generation != ticket or len(state.updates), timeout
    )
    if state.poll_generation != ticket:
        raise ApiError(409, POLL_CONFLICT)
    if state.webhook.url:
        raise ApiError(409, WEBHOOK_CONFLICT)
    return state.updates.peek(limit)


def _update_types(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("can't parse allowed_updates JSON array")
    return value


@api_method("setWebhook")
def set_webhook(state: State, params: Params) -> Described:
    url = str(params.get("url") or "")
    if not url:
        return delete_webhook(state, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token") or None
    if secret is not None and not _SECRET_TOKEN.match(str(secret)):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.get("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if params.get("drop_pending_updates"):
        state.updates.drop_all()
    state.updates.set_allowed(_update_types(params.get("allowed_updates")))
    state.webhook = WebhookConfig(url, secret, max_connections, params.get("ip_address"))
    state.notify()
    return Described(True, "Webhook was set")


@api_method("deleteWebhook")
def delete_webhook(state: State, params: Params) -> Described:
    existed = bool(state.webhook.url)
    if params.get("drop_pending_updates"):
        state.updates.drop_all()
    state.webhook = WebhookConfig()
    state.notify()
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")


@api_method("getWebhookInfo")
def get_webhook_info(state: State, params: Params) -> dict[str, Any]:
    hook = state.webhook
    info: dict[str, Any] = {"url": hook.url, "has_custom_certificate": False, "pending_update_count": len(state.updates)}
    if hook.url:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if state.updates.allowed is not None:
            info["allowed_updates"] = state.updates.allowed
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return info


# --- sending -----------------------------------------------------------------------------------


@api_method("sendMessage")
def send_message(state: State, params: Params) -> dict[str, Any]:
    log = state.writable_chat(params.get("chat_id"))
    text, entities = format_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
    _raise(text_error("text", text, MAX_TEXT))
    markup = parse_markup(params.get("reply_markup"))
    thread, reply_to = _placement(state, log, params)
    content = {**thread, **_text_fields("text", text, entities), **_inline(markup)}
    message = state.add_message(log, content, state.bot, reply_to)
    _show_keyboard(log, markup)
    return message


@api_method("sendPhoto")
def send_photo(state: State, params: Params) -> dict[str, Any]:
    log = state.writable_chat(params.get("chat_id"))
    caption, entities = format_text(params.get("caption"), params.get("parse_mode"), params.get("caption_entities"))
    _raise(text_error("caption", caption, MAX_CAPTION))
    markup = parse_markup(params.get("reply_markup"))
    thread, reply_to = _placement(state, log, params)
    photo = photo_from_param(state, params.get("photo"), params)
    content = {**thread, "photo": photo, **_text_fields("caption", caption, entities), **_inline(markup)}
    message = state.add_message(log, content, state.bot, reply_to)
    _show_keyboard(log, markup)
    return message


@api_method("sendChatAction")
def send_chat_action(state: State, params: Params) -> bool:
    log = state.writable_chat(params.get("chat_id"))
    check_action_thread(log, params.get("message_thread_id"))
    if params.get("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.chat_actions.append(ChatAction(log.chat.id, params["action"], state.clock(), params.get("message_thread_id")))
    state.notify()
    return True


@api_method("copyMessage")
def copy_message(state: State, params: Params) -> dict[str, int]:
    """A new message by the bot with the original's content (the same file ids), no link to it;
    `caption` replaces a media caption. Answers only the new message_id, as Telegram does."""
    log = state.writable_chat(params.get("chat_id"))
    source = state.find_chat(params.get("from_chat_id"))
    message_id = params.required("message_id", "message identifier is not specified")
    original = state.message(source, message_id)
    if original is None:
        raise bad_request("message to copy not found")
    content = {key: copy.deepcopy(value) for key, value in original.items()
               if key in COPYABLE or key in ("entities", "caption", "caption_entities")}
    if not COPYABLE & set(content):
        raise bad_request("message can't be copied")
    if params.get("caption") is not None and CAPTIONED & set(content):
        caption, entities = format_text(params["caption"], params.get("parse_mode"), params.get("caption_entities"))
        _raise(text_error("caption", caption, MAX_CAPTION))
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(_text_fields("caption", caption, entities))
    markup = parse_markup(params.get("reply_markup"))
    thread, reply_to = _placement(state, log, params)
    copied = state.add_message(log, {**thread, **content, **_inline(markup)}, state.bot, reply_to)
    _show_keyboard(log, markup)
    return {"message_id": copied["message_id"]}


def _raise(error: ApiError | None) -> None:
    if error is not None:
        raise error


def _text_fields(key: str, text: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """`text`/`entities` or `caption`/`caption_entities`; empty ones are left out, as on Telegram."""
    fields: dict[str, Any] = {key: text} if text else {}
    if entities:
        fields["entities" if key == "text" else "caption_entities"] = entities
    return fields


def _inline(markup: Markup) -> dict[str, Any]:
    return {"reply_markup": markup.inline} if markup.inline else {}


def _show_keyboard(log: ChatLog, markup: Markup) -> None:
    if markup.keyboard is not None:
        log.reply_keyboard = None if markup.keyboard.get("remove_keyboard") else markup.keyboard


def _reply_target(state: State, log: ChatLog, params: Params) -> dict[str, Any] | None:
    """reply_parameters, or the older reply_to_message_id that PTB may still send."""
    reply = params.get("reply_parameters")
    if reply is None and params.get("reply_to_message_id") is not None:
        reply = {"message_id": params["reply_to_message_id"],
                 "allow_sending_without_reply": params.get("allow_sending_without_reply", False)}
    if reply is None:
        return None
    if not isinstance(reply, dict):
        raise bad_request("can't parse reply parameters JSON object")
    target = state.message(log, reply.get("message_id"))
    if target is None and not reply.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")
    return target


def _placement(state: State, log: ChatLog, params: Params) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The thread fields and replied message of a message the bot sends (see forum.place)."""
    return place(log, params.get("message_thread_id"), state.bot_member(log), _reply_target(state, log, params))


# --- chats and members -------------------------------------------------------------------------


@api_method("getChat")
def get_chat(state: State, params: Params) -> dict[str, Any]:
    """ChatFullInfo with the fields PTB 22.8 requires; is_forum only when topics are on."""
    log = state.find_chat(params.get("chat_id"))
    person = log.chat.type == "private"
    gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                           "gifts_from_channels"), person)
    return {**log.chat.as_json(), "accent_color_id": abs(log.chat.id) % 7, "max_reaction_count": MAX_REACTIONS,
            "accepted_gift_types": gifts}


@api_method("getChatMember")
def get_chat_member(state: State, params: Params) -> dict[str, Any]:
    """Someone Telegram knows but who is not in the chat is "left"; an unknown id is an error."""
    log = state.find_chat(params.get("chat_id"))
    user_id = params.required("user_id", "invalid user_id specified")
    user = state.bot if user_id == state.bot.id else state.users.get(user_id)
    if user is None:
        raise bad_request("PARTICIPANT_ID_INVALID")
    if log.chat.type == "private":
        if user_id not in (log.chat.id, state.bot.id):
            raise bad_request("PARTICIPANT_ID_INVALID")
        return Member("member").as_json(user)
    return log.members.get(user_id, Member("left")).as_json(user)


# --- editing -----------------------------------------------------------------------------------


@api_method("editMessageText")
def edit_message_text(state: State, params: Params) -> dict[str, Any]:
    """Without reply_markup the inline keyboard goes, as on Telegram."""
    message = _editable(state, params)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    text, entities = format_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
    _raise(text_error("text", text, MAX_TEXT))
    markup = parse_markup(params.get("reply_markup"), inline_only=True)
    return _apply_edit(state, message, {"text": text, "entities": entities or None, "reply_markup": markup.inline})


@api_method("editMessageCaption")
def edit_message_caption(state: State, params: Params) -> dict[str, Any]:
    message = _editable(state, params)
    if "text" in message:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = format_text(params.get("caption"), params.get("parse_mode"), params.get("caption_entities"))
    _raise(text_error("caption", caption, MAX_CAPTION))
    markup = parse_markup(params.get("reply_markup"), inline_only=True)
    changes = {"caption": caption or None, "caption_entities": entities or None, "reply_markup": markup.inline}
    return _apply_edit(state, message, changes)


@api_method("editMessageReplyMarkup")
def edit_message_reply_markup(state: State, params: Params) -> dict[str, Any]:
    """No reply_markup removes the keyboard; a markup-only edit sets no edit_date."""
    message = _editable(state, params)
    markup = parse_markup(params.get("reply_markup"), inline_only=True)
    return _apply_edit(state, message, {"reply_markup": markup.inline}, mark_edited=False)


@api_method("deleteMessage")
def delete_message(state: State, params: Params) -> bool:
    log = state.find_chat(params.get("chat_id"))
    message_id = params.required("message_id", "message identifier is not specified")
    if state.message(log, message_id) is None:
        raise bad_request("message to delete not found")
    own = state.sent_by_bot(log, message_id)
    if not own and log.chat.type != "private" and not state.bot_member(log).can("can_delete_messages"):
        raise bad_request("message can't be deleted")
    if message_id in log.topics:
        raise bad_request("message can't be deleted")  # a topic's first message goes only with the topic
    log.deleted.append(log.messages.pop(message_id))
    state.notify()
    return True


def _editable(state: State, params: Params) -> dict[str, Any]:
    """The stored message to edit: only the bot's own messages, addressed by chat_id+message_id."""
    if params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    log = state.find_chat(params.get("chat_id"))
    message_id = params.required("message_id", "message identifier is not specified")
    message = state.message(log, message_id)
    if message is None:
        raise bad_request("message to edit not found")
    if not state.sent_by_bot(log, message_id):
        raise bad_request("message can't be edited")
    return message


def _apply_edit(state: State, message: dict[str, Any], changes: dict[str, Any],
                mark_edited: bool = True) -> dict[str, Any]:
    if all(message.get(key) == value for key, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    if mark_edited:
        message["edit_date"] = state.now()
    state.notify()
    return copy.deepcopy(message)


# --- callback queries and commands -------------------------------------------------------------


@api_method("answerCallbackQuery")
def answer_callback_query(state: State, params: Params) -> bool:
    query_id = str(params.get("callback_query_id") or "")
    record = state.queries.get(query_id)
    if record is None or record.answered:
        raise bad_request(QUERY_TOO_OLD)
    text = params.get("text")
    if text is not None and len(str(text)) > MAX_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    state.answer_query(CallbackAnswer(query_id, text, bool(params.get("show_alert")), params.get("url"),
                                      params.get("cache_time"), state.clock()))
    return True


@api_method("setMyCommands")
def set_my_commands(state: State, params: Params) -> bool:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    key = commands_key(state, params.get("scope"), params.get("language_code"))
    cleaned = [_command(command) for command in commands]
    if cleaned:
        state.commands[key] = cleaned
    else:
        state.commands.pop(key, None)
    state.notify()
    return True


@api_method("getMyCommands")
def get_my_commands(state: State, params: Params) -> list[dict[str, Any]]:
    """Exactly the list set for this scope and language: Telegram does not fall back here."""
    return copy.deepcopy(state.commands.get(commands_key(state, params.get("scope"), params.get("language_code")), []))


@api_method("deleteMyCommands")
def delete_my_commands(state: State, params: Params) -> bool:
    state.commands.pop(commands_key(state, params.get("scope"), params.get("language_code")), None)
    state.notify()
    return True


def commands_key(state: State, scope: Any, language_code: Any) -> tuple[str, str]:
    """(canonical scope, language): chat scopes need a chat Telegram knows."""
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    key: dict[str, Any] = {"type": scope["type"]}
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        key["chat_id"] = state.find_chat(normalize("chat_id", scope.get("chat_id"))).chat.id
    if scope["type"] == "chat_member":
        user_id = normalize("user_id", scope.get("user_id"))
        if user_id not in state.users:
            raise bad_request("user not found")
        key["user_id"] = user_id
    language = language_code or ""
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise bad_request("invalid language code specified")
    return json.dumps(key, sort_keys=True), language


def _command(command: Any) -> dict[str, str]:
    if not isinstance(command, dict) or not _COMMAND.match(str(command.get("command", ""))):
        raise bad_request("BOT_COMMAND_INVALID")
    description = str(command.get("description") or "")
    if not 1 <= len(description) <= 256:
        raise bad_request("command description is empty" if not description else "BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command["command"], "description": description}


# --- files -------------------------------------------------------------------------------------


@api_method("getFile")
def get_file(state: State, params: Params) -> dict[str, Any]:
    stored = state.files.get(str(params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.as_json()
