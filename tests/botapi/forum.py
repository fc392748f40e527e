"""Forums: topics, and where a new message lands in one.

Telegram's rules, shared by the Bot API methods and the test side: a topic's id is the id of the
service message that created it (General is 1 and is not a topic: its messages carry no thread);
every message in a topic carries message_thread_id and is_topic_message, and one that replies to
nothing replies to the topic's creation message; a closed topic takes messages only from those
who manage topics; a reply to a message in a topic lands in that topic.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .members import Member, may_manage_topics
from .model import Topic, User
from .store import ChatLog, State

ICON_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
MAX_TOPIC_NAME = 128
FIRST_FORUM_MESSAGE_ID = 2  # message 1 opened the General topic
GENERAL_THREAD_ID = 1


def topic_name(value: Any) -> str:
    """As Telegram cleans a title: whitespace collapsed, cut to 128 characters, never empty."""
    name = " ".join(str(value or "").split())[:MAX_TOPIC_NAME].strip()
    if not name:
        raise bad_request("title must be non-empty")
    return name


def icon_color(value: Any, thread_id: int) -> int:
    """One of Telegram's six colours; without one, Telegram picks it (here: by thread id)."""
    if value is None:
        return ICON_COLORS[thread_id % len(ICON_COLORS)]
    if value not in ICON_COLORS:
        raise bad_request("invalid icon color specified")
    return value


def open_topic(state: State, log: ChatLog, creator: User, name: str, color: Any,
               emoji_id: str | None) -> tuple[Topic, dict[str, Any]]:
    """A new topic and its forum_topic_created service message, whose id the topic takes."""
    thread_id = log.next_message_id
    topic = Topic(thread_id, name, icon_color(color, thread_id), creator.id, emoji_id)
    content = {**_in_thread(thread_id), "forum_topic_created": topic.created_json()}
    log.topics[thread_id] = topic
    message = state.add_message(log, content, creator, service=True)
    return topic, message


def topic_event(state: State, log: ChatLog, topic: Topic, actor: User, event: dict[str, Any]) -> dict[str, Any]:
    """A service message in the topic: forum_topic_edited, forum_topic_closed, forum_topic_reopened."""
    opening = log.messages[topic.thread_id]
    return state.add_message(log, {**_in_thread(topic.thread_id), **event}, actor, opening, service=True)


def remove_topic(state: State, log: ChatLog, topic: Topic) -> None:
    """deleteForumTopic: the topic goes with every message in it."""
    for message_id in [i for i, m in log.messages.items() if in_topic(m, topic.thread_id)]:
        log.deleted.append(log.messages.pop(message_id))
    del log.topics[topic.thread_id]
    state.notify()


def in_topic(message: dict[str, Any], thread_id: int) -> bool:
    return bool(message.get("is_topic_message")) and message.get("message_thread_id") == thread_id


def place(log: ChatLog, thread_id: int | None, poster: Member,
          reply_to: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(thread fields, replied message) of a new message by `poster`; raises Telegram's errors."""
    if thread_id is None and reply_to is not None and reply_to.get("is_topic_message"):
        thread_id = reply_to["message_thread_id"]
    if thread_id is None:
        return {}, reply_to
    topic = log.topics.get(thread_id)
    if topic is None:
        raise bad_request("message thread not found")
    if topic.closed and not may_manage_topics(poster):
        raise bad_request("TOPIC_CLOSED")
    if reply_to is None:
        return _in_thread(thread_id), log.messages[thread_id]
    if not in_topic(reply_to, thread_id):
        raise bad_request("message to be replied not found")
    return _in_thread(thread_id), reply_to


def check_action_thread(log: ChatLog, thread_id: int | None) -> None:
    """sendChatAction: a topic, or General (1) in a forum."""
    if thread_id is None or (log.chat.is_forum and thread_id == GENERAL_THREAD_ID):
        return
    if thread_id not in log.topics:
        raise bad_request("message thread not found")


def _in_thread(thread_id: int) -> dict[str, Any]:
    return {"message_thread_id": thread_id, "is_topic_message": True}
