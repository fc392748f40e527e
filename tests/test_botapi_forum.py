"""Forums, topics, members and copyMessage on the local Bot API server, driven by the real PTB `telegram.Bot`.

PTB rewords Telegram's errors ("Bad Request: TOPIC_CLOSED" becomes "Topic_closed"), so the exact
wire text is read from the server's call log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    Message,
)
from telegram.error import BadRequest, Forbidden, TelegramError

from tests.botapi import BotAPIServer, Chat, User
from tests.botapi.forum import ICON_COLORS

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer() as srv:
        yield srv


@pytest.fixture
async def bot(server: BotAPIServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


async def refused(server: BotAPIServer, call: Awaitable[Any], error: type[TelegramError] = BadRequest) -> str:
    """Telegram's exact description of a call PTB raised `error` for."""
    with pytest.raises(error):
        await call
    response = server.calls[-1].response
    assert response is not None and response["ok"] is False
    return response["description"]


def staff_forum(server: BotAPIServer, **bot: Any) -> tuple[Chat, User, User]:
    """A forum with the bot as admin (Telegram's default rights unless changed), an admin and a member of staff."""
    group = server.create_group("Staff", forum=True, bot_is_admin=True, **bot)
    lead, helper = server.create_user("Lena"), server.create_user("Hugo")
    server.add_member(group, lead, "administrator")
    server.add_member(group, helper)
    return group, lead, helper


# --- refusals ----------------------------------------------------------------------------------


async def test_a_chat_without_topics_refuses_topic_calls_and_threads(server: BotAPIServer, bot: Bot) -> None:
    plain = server.create_group("Plain", supergroup=True, bot_is_admin=True)
    alice = server.create_user("Alice", started=True)
    for chat_id in (plain.id, alice.id):
        assert await refused(server, bot.create_forum_topic(chat_id, "Order")) == "Bad Request: the chat is not a forum"
    assert await refused(server, bot.close_forum_topic(plain.id, 5)) == "Bad Request: the chat is not a forum"
    sent = bot.send_message(plain.id, "hi", message_thread_id=5)
    assert await refused(server, sent) == "Bad Request: message thread not found"
    assert (await bot.get_chat(plain.id)).is_forum is None
    with pytest.raises(ValueError, match="has no topics"):
        server.send_text(alice, "hi", chat=plain, thread=5)
    assert server.sent_messages() == []


@pytest.mark.parametrize(
    ("status", "supergroup", "description"),
    [
        ("left", True, "Forbidden: bot is not a member of the supergroup chat"),
        ("kicked", True, "Forbidden: bot was kicked from the supergroup chat"),
        ("left", False, "Forbidden: bot is not a member of the group chat"),
    ],
)
async def test_a_group_the_bot_is_not_in_answers_403_to_every_call(server: BotAPIServer, bot: Bot, status: str,
                                                                   supergroup: bool, description: str) -> None:
    group = server.create_group("Gone", supergroup=supergroup, bot_status=status)
    ann = server.create_user("Ann")
    for call in (bot.send_message(group.id, "hi"), bot.get_chat(group.id), bot.get_chat_member(group.id, ann.id),
                 bot.create_forum_topic(group.id, "x")):
        assert await refused(server, call, Forbidden) == description
    assert server.send_text(ann, f"@{server.bot.username} hello", chat=group)["update_id"] is None


@pytest.mark.parametrize("bot_setup", [{"bot_is_admin": True, "bot_rights": {"can_manage_topics": False}}, {}])
async def test_creating_a_topic_needs_the_manage_topics_right(server: BotAPIServer, bot: Bot,
                                                              bot_setup: dict[str, Any]) -> None:
    group = server.create_group("Staff", forum=True, **bot_setup)
    created = bot.create_forum_topic(group.id, "#1 · Anna")
    assert await refused(server, created) == "Bad Request: not enough rights to create a topic"
    assert server.topics(group) == []


async def test_without_manage_topics_the_bot_changes_only_topics_it_created(server: BotAPIServer, bot: Bot) -> None:
    group, lead, _ = staff_forum(server)
    own = await bot.create_forum_topic(group.id, "Mine")
    theirs = server.create_topic(lead, group, "Theirs")["message"]["message_thread_id"]
    server.set_bot_member(group, "administrator", can_manage_topics=False)
    assert await bot.close_forum_topic(group.id, own.message_thread_id)
    assert await bot.edit_forum_topic(group.id, own.message_thread_id, name="Still mine")
    closing = bot.close_forum_topic(group.id, theirs)
    assert await refused(server, closing) == "Bad Request: not enough rights to close or open the topic"
    renaming = bot.edit_forum_topic(group.id, theirs, name="Taken")
    assert await refused(server, renaming) == "Bad Request: not enough rights to edit the topic"
    assert [(t["name"], t["closed"]) for t in server.topics(group)] == [("Still mine", True), ("Theirs", False)]


async def test_deleting_a_topic_needs_the_delete_messages_right(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server, bot_rights={"can_delete_messages": False})
    topic = await bot.create_forum_topic(group.id, "Mine")
    deleting = bot.delete_forum_topic(group.id, topic.message_thread_id)
    assert await refused(server, deleting) == "Bad Request: not enough rights to delete the topic"
    assert [t["message_thread_id"] for t in server.topics(group)] == [topic.message_thread_id]


async def test_topic_names_and_icon_colors(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server)
    assert await refused(server, bot.create_forum_topic(group.id, "  \n ")) == "Bad Request: title must be non-empty"
    wrong = bot.create_forum_topic(group.id, "Anna", icon_color=0x123456)
    assert await refused(server, wrong) == "Bad Request: invalid icon color specified"
    long = await bot.create_forum_topic(group.id, "x" * 200)
    assert long.name == "x" * 128 and long.icon_color in ICON_COLORS  # Telegram cuts, and picks a colour
    pink = await bot.create_forum_topic(group.id, "#2 ·  Anna\n· refund", icon_color=0xFF93B2)
    assert (pink.name, pink.icon_color) == ("#2 · Anna · refund", 0xFF93B2)
    assert long.message_thread_id > 1 and pink.message_thread_id > long.message_thread_id  # 1 is General


async def test_unknown_threads(server: BotAPIServer, bot: Bot) -> None:
    group, _, helper = staff_forum(server)
    customer = server.create_user("Cy", started=True)
    original = server.send_text(customer, "where is my parcel")["message"]
    for call in (bot.edit_forum_topic(group.id, 999, name="x"), bot.close_forum_topic(group.id, 999),
                 bot.reopen_forum_topic(group.id, 999), bot.delete_forum_topic(group.id, 999)):
        assert await refused(server, call) == "Bad Request: TOPIC_ID_INVALID"
    invalid = bot.close_forum_topic(group.id, 0)
    assert await refused(server, invalid) == "Bad Request: invalid message thread identifier specified"
    for thread in (999, 1):  # General (1) is no topic: its messages carry no thread
        for call in (bot.send_message(group.id, "x", message_thread_id=thread),
                     bot.copy_message(group.id, customer.id, original["message_id"], message_thread_id=thread)):
            assert await refused(server, call) == "Bad Request: message thread not found"
    assert await bot.send_chat_action(group.id, "typing", message_thread_id=1)
    assert await refused(server, bot.send_chat_action(group.id, "typing", message_thread_id=999)) == (
        "Bad Request: message thread not found")
    with pytest.raises(ValueError, match="message thread not found"):
        server.send_text(helper, "hello?", chat=group, thread=999)
    assert server.sent_messages() == []


async def test_a_closed_topic_takes_messages_only_from_those_who_manage_topics(server: BotAPIServer, bot: Bot) -> None:
    group, lead, helper = staff_forum(server)
    thread = (await bot.create_forum_topic(group.id, "#3 · Bo")).message_thread_id
    assert await bot.close_forum_topic(group.id, thread)
    assert await refused(server, bot.close_forum_topic(group.id, thread)) == "Bad Request: TOPIC_NOT_MODIFIED"
    assert server.topics(group)[0]["closed"] is True
    with pytest.raises(ValueError, match="TOPIC_CLOSED"):
        server.send_text(helper, "can I still write?", chat=group, thread=thread)
    assert server.send_text(lead, "admins can", chat=group, thread=thread)["update_id"] is not None
    assert (await bot.send_message(group.id, "so can the bot", message_thread_id=thread)).message_thread_id == thread
    server.set_bot_member(group, "administrator", can_manage_topics=False)
    blocked = bot.send_message(group.id, "not any more", message_thread_id=thread)
    assert await refused(server, blocked) == "Bad Request: TOPIC_CLOSED"
    server.set_bot_member(group, "administrator")
    assert await bot.reopen_forum_topic(group.id, thread)
    assert await refused(server, bot.reopen_forum_topic(group.id, thread)) == "Bad Request: TOPIC_NOT_MODIFIED"
    server.send_text(helper, "open again", chat=group, thread=thread)
    events = [next(k for k in m if k.startswith("forum_topic_")) for m in server.topic_messages(group, thread)
              if any(k.startswith("forum_topic_") for k in m)]
    assert events == ["forum_topic_created", "forum_topic_closed", "forum_topic_reopened"]


async def test_editing_a_topic_to_what_it_is_is_not_modified(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server)
    thread = (await bot.create_forum_topic(group.id, "#4 · Cy")).message_thread_id
    assert await refused(server, bot.edit_forum_topic(group.id, thread, name="#4 · Cy")) == (
        "Bad Request: TOPIC_NOT_MODIFIED")
    assert await bot.edit_forum_topic(group.id, thread)  # nothing asked, nothing done
    assert await bot.edit_forum_topic(group.id, thread, name="#4 · Cy · claimed by Lena")
    assert await bot.edit_forum_topic(group.id, thread, icon_custom_emoji_id="5312536423851630001")
    assert await bot.edit_forum_topic(group.id, thread, icon_custom_emoji_id="")
    edits = [m["forum_topic_edited"] for m in server.topic_messages(group, thread) if "forum_topic_edited" in m]
    assert edits == [{"name": "#4 · Cy · claimed by Lena"}, {"icon_custom_emoji_id": "5312536423851630001"},
                     {"icon_custom_emoji_id": ""}]
    assert server.topics(group) == [{"message_thread_id": thread, "name": "#4 · Cy · claimed by Lena",
                                     "icon_color": server.topics(group)[0]["icon_color"], "closed": False}]


async def test_copy_refuses_service_messages_missing_ones_and_blocked_users(server: BotAPIServer, bot: Bot) -> None:
    group, _, helper = staff_forum(server)
    customer = server.create_user("Dee", started=True)
    thread = (await bot.create_forum_topic(group.id, "#5 · Dee")).message_thread_id
    service = bot.copy_message(customer.id, group.id, thread)  # the topic's creation message
    assert await refused(server, service) == "Bad Request: message can't be copied"
    missing = bot.copy_message(customer.id, group.id, 4242)
    assert await refused(server, missing) == "Bad Request: message to copy not found"
    reply = server.send_text(helper, "Your refund is on its way", chat=group, thread=thread)["message"]
    server.block_bot(customer)
    blocked = bot.copy_message(customer.id, group.id, reply["message_id"])
    assert await refused(server, blocked, Forbidden) == "Forbidden: bot was blocked by the user"
    assert server.sent_messages(customer) == []


async def test_copying_media_into_a_topic_keeps_the_file_ids(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server)
    customer = server.create_user("Eve", started=True)
    thread = (await bot.create_forum_topic(group.id, "#6 · Eve")).message_thread_id
    sent = [server.send_photo(customer, caption="broken on arrival"), server.send_document(customer),
            server.send_voice(customer), server.send_sticker(customer)]
    originals = [update["message"] for update in sent]
    copies = [await bot.copy_message(group.id, customer.id, m["message_id"], message_thread_id=thread)
              for m in originals]
    recaptioned = await bot.copy_message(group.id, customer.id, originals[0]["message_id"], message_thread_id=thread,
                                         caption="<b>Eve</b>: broken on arrival", parse_mode="HTML")
    for original, copied in zip(originals, copies, strict=True):
        stored = server.message(group, copied.message_id)
        kind = next(k for k in ("photo", "document", "voice", "sticker") if k in original)
        assert stored[kind] == original[kind] and stored.get("caption") == original.get("caption")
        assert stored["from"]["id"] == bot.id and "forward_origin" not in stored
        assert (stored["message_thread_id"], stored["is_topic_message"]) == (thread, True)
        assert stored["reply_to_message"]["message_id"] == thread
    again = server.message(group, recaptioned.message_id)
    assert again["photo"] == originals[0]["photo"] and again["caption"] == "Eve: broken on arrival"
    assert again["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert [m["message_id"] for m in server.sent_messages(group)] == [c.message_id for c in [*copies, recaptioned]]


async def test_a_staff_reply_copied_to_the_customer_leaves_the_topic_behind(server: BotAPIServer, bot: Bot) -> None:
    group, _, helper = staff_forum(server)
    customer = server.create_user("Fay", started=True)
    thread = (await bot.create_forum_topic(group.id, "#7 · Fay")).message_thread_id
    photo = server.send_photo(helper, group, thread=thread, caption="like this?")["message"]
    copied = await bot.copy_message(customer.id, group.id, photo["message_id"])
    [seen] = server.sent_messages(customer)
    assert seen["message_id"] == copied.message_id and seen["photo"] == photo["photo"]
    assert seen["caption"] == "like this?" and seen["chat"]["id"] == customer.id
    assert not {"message_thread_id", "is_topic_message", "reply_to_message"} & set(seen)


async def test_delete_forum_topic_takes_its_messages_with_it(server: BotAPIServer, bot: Bot) -> None:
    group, lead, helper = staff_forum(server)
    gone = (await bot.create_forum_topic(group.id, "#8 · Gus")).message_thread_id
    kept = (await bot.create_forum_topic(group.id, "#9 · Hal")).message_thread_id
    await bot.send_message(group.id, "Transcript…", message_thread_id=gone)
    server.send_text(helper, "on it", chat=group, thread=gone)
    server.send_text(lead, "another customer", chat=group, thread=kept)
    general = server.send_text(lead, "morning all", chat=group)["message"]
    first = bot.delete_message(group.id, gone)
    assert await refused(server, first) == "Bad Request: message can't be deleted"  # only with the topic
    assert await bot.delete_forum_topic(group.id, gone)
    assert server.topic_messages(group, gone) == [] and [t["message_thread_id"] for t in server.topics(group)] == [kept]
    assert len(server.topic_messages(group, kept)) == 2 and server.message(group, general["message_id"]) is not None
    assert {m["message_id"] for m in server.deleted_messages(group)} >= {gone}
    assert len(server.deleted_messages(group)) == 3
    assert await refused(server, bot.delete_forum_topic(group.id, gone)) == "Bad Request: TOPIC_ID_INVALID"
    again = bot.send_message(group.id, "still there?", message_thread_id=gone)
    assert await refused(server, again) == "Bad Request: message thread not found"


# --- what messages in a forum look like --------------------------------------------------------


async def test_a_plain_message_in_a_topic_replies_to_the_topics_first_message(server: BotAPIServer, bot: Bot) -> None:
    group, lead, helper = staff_forum(server)
    topic = await bot.create_forum_topic(group.id, "#10 · Ivy")
    thread = topic.message_thread_id
    plain = server.send_text(helper, "Hello Ivy, I'm looking into it", chat=group, thread=thread)
    answered = server.send_text(lead, "thanks", chat=group, reply_to=plain)  # a reply lands in the topic
    general = server.send_text(lead, "anyone free?", chat=group)
    by_hand = server.create_topic(lead, group, "Team notes")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [u["update_id"] for u in (plain, answered, general, by_hand)]
    first, second, outside, opened = (u.message for u in updates)
    assert (first.message_thread_id, first.is_topic_message) == (thread, True)
    assert first.reply_to_message.message_id == thread and first.reply_to_message.from_user.id == bot.id
    assert first.reply_to_message.forum_topic_created.name == "#10 · Ivy"
    assert first.chat.is_forum is True and first.chat.type == "supergroup"
    assert second.message_thread_id == thread and second.reply_to_message.message_id == first.message_id
    assert outside.message_thread_id is None and outside.reply_to_message is None and not outside.is_topic_message
    assert opened.forum_topic_created.name == "Team notes" and opened.message_thread_id == opened.message_id
    sent: Message = await first.reply_text("Noted")  # PTB keeps the reply in the topic
    assert (sent.message_thread_id, sent.is_topic_message, sent.reply_to_message.message_id) == (
        thread, True, first.message_id)
    plain_bot = await bot.send_message(group.id, "Header", message_thread_id=thread)
    assert plain_bot.reply_to_message.message_id == thread
    await bot.send_chat_action(group.id, "typing", message_thread_id=thread)
    assert server.chat_actions[-1].message_thread_id == thread
    assert [m["text"] for m in server.sent_messages(group)] == ["Noted", "Header"]  # service messages aside


async def test_only_members_write_in_a_forum_and_strangers_join_a_plain_group(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server)
    outsider, fired = server.create_user("Olga"), server.create_user("Fred")
    server.add_member(group, fired, "kicked")
    for user in (outsider, fired):
        with pytest.raises(ValueError, match="not a member"):
            server.send_text(user, "let me in", chat=group)
    muted = server.create_user("Mo")
    server.add_member(group, muted, "restricted")
    with pytest.raises(ValueError, match="may not write"):
        server.send_text(muted, "hello", chat=group)
    plain = server.create_group("Shoppers")
    server.send_text(outsider, f"@{server.bot.username} hi", chat=plain)
    assert isinstance(await bot.get_chat_member(plain.id, outsider.id), ChatMemberMember)


async def test_get_chat_full_info(server: BotAPIServer, bot: Bot) -> None:
    group, _, _ = staff_forum(server)
    plain = server.create_group("Shoppers")
    alice = server.create_user("Alice", username="alice")
    forum = await bot.get_chat(group.id)
    assert (forum.id, forum.type, forum.title, forum.is_forum) == (group.id, "supergroup", "Staff", True)
    assert forum.max_reaction_count == 11 and forum.accepted_gift_types.unique_gifts is False
    shoppers = await bot.get_chat(plain.id)
    assert (shoppers.type, shoppers.is_forum) == ("group", None)
    person = await bot.get_chat(alice.id)
    assert (person.type, person.first_name, person.username) == ("private", "Alice", "alice")
    assert "is_forum" not in server.calls[-1].response["result"]


async def test_get_chat_member_statuses(server: BotAPIServer, bot: Bot) -> None:
    group, lead, helper = staff_forum(server)
    owner, muted, former, banned, stranger = (server.create_user(n) for n in ("Oona", "Mo", "Flo", "Ban", "Stan"))
    server.add_member(group, owner, "creator", custom_title="Boss")
    server.add_member(group, lead, "administrator", can_manage_topics=False)
    server.add_member(group, muted, "restricted", can_send_messages=True, until_date=2_000_000_000)
    server.add_member(group, former, "left")
    server.add_member(group, banned, "kicked")
    expected = {owner: ChatMemberOwner, lead: ChatMemberAdministrator, helper: ChatMemberMember,
                muted: ChatMemberRestricted, former: ChatMemberLeft, banned: ChatMemberBanned,
                stranger: ChatMemberLeft}
    members = {user: await bot.get_chat_member(group.id, user.id) for user in expected}
    assert {user: type(member) for user, member in members.items()} == expected
    assert members[owner].custom_title == "Boss" and members[lead].can_manage_topics is False
    assert members[lead].can_delete_messages is True and members[lead].can_promote_members is False
    assert members[muted].can_send_messages is True and members[muted].can_send_photos is False
    assert members[muted].until_date.year == 2033 and members[muted].is_member is True
    me = await bot.get_chat_member(group.id, bot.id)
    assert isinstance(me, ChatMemberAdministrator) and me.can_manage_topics and me.can_delete_messages
    unknown = bot.get_chat_member(group.id, 987654321)
    assert await refused(server, unknown) == "Bad Request: PARTICIPANT_ID_INVALID"
    with pytest.raises(ValueError, match="no rights"):
        server.add_member(group, helper, "member", can_manage_topics=True)
