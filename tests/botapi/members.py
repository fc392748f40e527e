"""Who is in a group and with which rights: ChatMember statuses, the rights Telegram ticks by
default, and the ChatMember JSON getChatMember answers (PTB 22.8 requires every field it names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import User

STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members", "can_promote_members",
    "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
)
_ADMIN_RIGHTS_BY_TYPE = {
    "group": ("can_pin_messages",),
    "supergroup": ("can_pin_messages", "can_manage_topics"),
    "channel": ("can_post_messages", "can_edit_messages"),
}
_RESTRICTIONS = (
    "is_member", "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
    "can_add_web_page_previews", "can_react_to_messages", "can_change_info", "can_invite_users", "can_pin_messages",
    "can_manage_topics", "can_edit_tag",
)


@dataclass(frozen=True)
class Member:
    status: str
    rights: Mapping[str, bool] = field(default_factory=dict)
    until_date: int = 0  # restricted/kicked: 0 is "forever", as on Telegram
    custom_title: str | None = None

    @property
    def is_member(self) -> bool:
        """In the chat now: may read and (unless restricted) write there."""
        if self.status == "restricted":
            return self.rights["is_member"]
        return self.status in ("creator", "administrator", "member")

    @property
    def is_admin(self) -> bool:
        return self.status in ("creator", "administrator")

    def can(self, right: str) -> bool:
        """The creator can do everything; others only what their rights say."""
        return self.status == "creator" or bool(self.rights.get(right))

    def as_json(self, user: User) -> dict[str, Any]:
        body: dict[str, Any] = {"user": user.as_json(), "status": self.status}
        if self.status in ("creator", "administrator"):
            body["is_anonymous"] = False
        if self.status == "administrator":
            body["can_be_edited"] = False  # only admins the bot promoted; it promotes nobody here
        body.update(self.rights)
        if self.status in ("restricted", "kicked"):
            body["until_date"] = self.until_date
        if self.custom_title and self.is_admin:
            body["custom_title"] = self.custom_title
        return body


def make_member(chat_type: str, status: str, rights: Mapping[str, bool], *, until_date: int = 0,
                custom_title: str | None = None) -> Member:
    """An administrator starts from the rights Telegram ticks when promoting (all but adding
    admins), a restricted member from none; `rights` changes them. Other statuses carry none."""
    if status not in STATUSES:
        raise ValueError(f"unknown member status {status!r}; one of {STATUSES}")
    if status == "administrator":
        names = _ADMIN_RIGHTS + _ADMIN_RIGHTS_BY_TYPE.get(chat_type, ())
        defaults = {name: name != "can_promote_members" for name in names}
    elif status == "restricted":
        if chat_type != "supergroup":
            raise ValueError("only supergroup members can be restricted")
        defaults = {name: name == "is_member" for name in _RESTRICTIONS}
    else:
        defaults = {}
    unknown = set(rights) - set(defaults)
    if unknown:
        raise ValueError(f"a {status} in a {chat_type} has no rights {sorted(unknown)}")
    return Member(status, {**defaults, **rights}, until_date, custom_title)


def may_manage_topics(member: Member) -> bool:
    """Create, rename, close and reopen topics, and post in closed ones."""
    return member.is_admin and member.can("can_manage_topics")
