"""The Bot API's forum topic methods, with the checks and texts Telegram (TDLib) answers with.

Rights: creating a topic needs can_manage_topics; editing, closing and reopening need it too
unless the bot created the topic; deleting needs can_delete_messages. The bot gets no updates
for the service messages its own calls post.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .forum import open_topic, remove_topic, topic_event, topic_name
from .members import may_manage_topics
from .methods import api_method
from .model import Topic
from .params import Params
from .store import ChatLog, State

TOPIC_NOT_MODIFIED = "TOPIC_NOT_MODIFIED"


@api_method("createForumTopic")
def create_forum_topic(state: State, params: Params) -> dict[str, Any]:
    log = _forum(state, params)
    if not may_manage_topics(state.bot_member(log)):
        raise bad_request("not enough rights to create a topic")
    name = topic_name(params.get("name"))
    topic, _ = open_topic(state, log, state.bot, name, params.get("icon_color"),
                          params.get("icon_custom_emoji_id") or None)
    return topic.as_json()


@api_method("editForumTopic")
def edit_forum_topic(state: State, params: Params) -> bool:
    """Only what is passed changes; passing nothing is a no-op, passing the same is an error."""
    log = _forum(state, params)
    topic = _topic(log, params)
    _may_change(state, log, topic, "edit the topic")
    renames, sets_icon = bool(params.get("name")), "icon_custom_emoji_id" in params
    if not renames and not sets_icon:
        return True
    changes: dict[str, Any] = {}
    if renames and (name := topic_name(params["name"])) != topic.name:
        changes["name"] = name
    if sets_icon and (emoji_id := params["icon_custom_emoji_id"] or "") != (topic.icon_custom_emoji_id or ""):
        changes["icon_custom_emoji_id"] = emoji_id  # "" when the icon was removed
    if not changes:
        raise bad_request(TOPIC_NOT_MODIFIED)
    topic.name = changes.get("name", topic.name)
    if "icon_custom_emoji_id" in changes:
        topic.icon_custom_emoji_id = changes["icon_custom_emoji_id"] or None
    topic_event(state, log, topic, state.bot, {"forum_topic_edited": changes})
    return True


@api_method("closeForumTopic")
def close_forum_topic(state: State, params: Params) -> bool:
    return _set_closed(state, params, closed=True)


@api_method("reopenForumTopic")
def reopen_forum_topic(state: State, params: Params) -> bool:
    return _set_closed(state, params, closed=False)


@api_method("deleteForumTopic")
def delete_forum_topic(state: State, params: Params) -> bool:
    log = _forum(state, params)
    topic = _topic(log, params)
    if not state.bot_member(log).can("can_delete_messages"):
        raise bad_request("not enough rights to delete the topic")
    remove_topic(state, log, topic)
    return True


def _set_closed(state: State, params: Params, *, closed: bool) -> bool:
    log = _forum(state, params)
    topic = _topic(log, params)
    _may_change(state, log, topic, "close or open the topic")
    if topic.closed == closed:
        raise bad_request(TOPIC_NOT_MODIFIED)
    topic.closed = closed
    topic_event(state, log, topic, state.bot, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
    return True


def _forum(state: State, params: Params) -> ChatLog:
    log = state.find_chat(params.get("chat_id"))
    if not log.chat.is_forum:
        raise bad_request("the chat is not a forum")
    return log


def _topic(log: ChatLog, params: Params) -> Topic:
    thread_id = params.get("message_thread_id")
    if not isinstance(thread_id, int) or thread_id <= 0:
        raise bad_request("invalid message thread identifier specified")
    topic = log.topics.get(thread_id)
    if topic is None:
        raise bad_request("TOPIC_ID_INVALID")
    return topic


def _may_change(state: State, log: ChatLog, topic: Topic, what: str) -> None:
    if topic.creator_id != state.bot.id and not may_manage_topics(state.bot_member(log)):
        raise bad_request(f"not enough rights to {what}")
