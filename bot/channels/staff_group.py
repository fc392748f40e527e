"""The shop's staff group on Telegram: checked at start, and who may speak in it for the shop.

A supergroup with topics where the bot is an admin that may manage topics (one per customer) and
delete messages (deleteForumTopic, for /forget). Anything less is said at start, to the log and to
the admins, and the bot then hands nobody over: customers get the shop's contact instead.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import TelegramError

log = logging.getLogger(__name__)
MEMBER_SECONDS = 300.0  # how long "is a member of staff" is trusted before Telegram is asked again
STAFF_STATUSES = (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)


class StaffGroup:
    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id  # 0: none configured
        self.problem: str | None = "not checked yet" if chat_id else "no staff group configured"
        self._members: dict[int, tuple[bool, float]] = {}

    @property
    def ready(self) -> bool:
        return self.problem is None

    def is_staff_chat(self, chat_id: int | None) -> bool:
        return bool(self.chat_id) and chat_id == self.chat_id

    async def check(self, bot: Bot) -> str | None:
        """What keeps the group from working (None when it works): a forum, the bot an admin with the rights."""
        try:
            chat = await bot.get_chat(self.chat_id)
            me = await bot.get_chat_member(self.chat_id, bot.id)
        except TelegramError as exc:
            self.problem = f"the staff group {self.chat_id} cannot be reached ({exc.message})"
            return self.problem
        self.problem = _problem(self.chat_id, chat.is_forum, me)
        return self.problem

    async def is_member(self, bot: Bot, user_id: int) -> bool:
        """Whether this user is in the staff group now (cached for MEMBER_SECONDS)."""
        known = self._members.get(user_id)
        if known is not None and time.monotonic() - known[1] < MEMBER_SECONDS:
            return known[0]
        try:
            member = await bot.get_chat_member(self.chat_id, user_id)
        except TelegramError as exc:
            log.warning("could not check whether %s is staff: %s", user_id, exc)
            return False
        verdict = member.status in STAFF_STATUSES
        self._members[user_id] = (verdict, time.monotonic())
        return verdict


def _problem(chat_id: int, is_forum: bool | None, me: ChatMember) -> str | None:
    if not is_forum:
        return (f"the staff group {chat_id} has no topics: enable Topics in the group's settings "
                "(it becomes a forum), then restart the bot")
    if not isinstance(me, ChatMemberAdministrator):
        return f"the bot is not an admin of the staff group {chat_id}: make it one, allowed to manage topics and delete messages"
    missing = [name for name, allowed in (("manage topics", me.can_manage_topics),
                                          ("delete messages", me.can_delete_messages)) if not allowed]
    if missing:
        return f"the bot may not {' or '.join(missing)} in the staff group {chat_id}: allow it in the admin rights"
    return None
