"""Handing a customer to a person, end to end: real python-telegram-bot, engine, SQLite and model
against the local Bot API server, with a staff supergroup whose topics hold one customer each; at the
end, a topic staff deleted by hand in the middle of a handoff and staff editing what the customer got."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.channels.telegram_handover import TOPIC_LOST
from bot.channels.telegram_staff import BLOCKED, CORRECTED
from bot.usecases import data as data_usecases
from bot.usecases.access import Actor
from tests.botapi import BotAPIServer
from tests.botapi.forum import remove_topic
from tests.harness import configure, running_bot

pytestmark = pytest.mark.e2e

UNSURE = "\n[policy]\nconfident = 1.0\nsuggest = 0.0\n"
# Nothing reaches `confident` (a softmax below 1.0) nor `suggest`: every message is a fallback.
ALWAYS_FALLBACK = "\n[policy]\nconfident = 1.0\nsuggest = 1.0\n"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
async def server():
    async with BotAPIServer(webhook_retry_delays=(0.05, 0.1, 0.2)) as srv:
        yield srv


@pytest.fixture
def staff(server):
    """The shop's staff group (a forum, the bot an admin) with two members of staff."""
    group = server.create_group("Shop staff", forum=True, bot_is_admin=True)
    sam, kim = server.create_user("Sam"), server.create_user("Kim")
    server.add_member(group, sam, "administrator")
    server.add_member(group, kim, "member")
    return SimpleNamespace(group=group, sam=sam, kim=kim)


def staffed(config, server, group, handoff: str = "", extra: str = ""):
    return configure(config, server, f"\n[handoff]\nstaff_chat_id = {group.id}\n{handoff}\n{extra}")


def say(bot, key: str, lang: str = "en", **fields) -> str:
    return bot.runtime.engine.say(key, lang, **fields)


def user_id(bot, customer) -> int:
    return bot.runtime.engine.messages.user_id_of("telegram", str(customer.id))


def handoffs_of(bot, customer) -> list[dict]:
    return list(bot.runtime.db["handoffs"].rows_where("user_id = ?", [user_id(bot, customer)], order_by="id"))


def texts(messages) -> list[str]:
    return [m.get("text") for m in messages]


def buttons(message) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}


def bot_topic_messages(server, group, thread: int) -> list[dict]:
    return [m for m in server.sent_messages(group) if m.get("message_thread_id") == thread]


def staff_rows(bot) -> list[dict]:
    return list(bot.runtime.db["messages"].rows_where("author IS NOT NULL", order_by="id"))


async def handled(server, update, timeout: float = 8.0) -> None:
    """The bot has finished with `update` (it confirms an update only once handled)."""
    await server.wait_until_confirmed(update, timeout)


async def ask(server, customer, text: str) -> dict:
    """The customer writes; the bot's next message to them."""
    n = len(server.sent_messages(customer))
    server.send_text(customer, text)
    return (await server.wait_for_messages(customer, n + 1))[n]


async def open_handoff(bot, server, staff, customer, question: str = "where is my order?") -> tuple[int, dict]:
    """A question answered, then /human: the topic's thread id and its header."""
    await ask(server, customer, question)
    told = await ask(server, customer, "/human")
    assert told["text"] == say(bot, "handoff_passed", eta="")
    [handoff] = handoffs_of(bot, customer)
    thread = handoff["thread_id"]
    header = bot_topic_messages(server, staff.group, thread)[0]
    return thread, header


async def topic_text(server, group, thread: int, text: str) -> dict:
    def found():
        return next((m for m in bot_topic_messages(server, group, thread) if m.get("text") == text), None)
    return await server.wait_for(found)


def delete_by_hand(server, group, thread: int) -> None:
    """A member of staff deletes the topic in their Telegram client: the bot calls nothing, hears nothing."""
    log = server.state.chats[group.id]
    remove_topic(server.state, log, log.topics[thread])


async def test_human_opens_a_handoff_topic_with_the_transcript_and_only_then_tells_the_customer(
        trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, header = await open_handoff(bot, server, staff, ann)
        [topic] = server.topics(staff.group)
        [handoff] = handoffs_of(bot, ann)
        assert topic["message_thread_id"] == thread and not topic["closed"]
        assert topic["name"].startswith(f"#{user_id(bot, ann)} · Ann · en · ")
        assert (handoff["status"], handoff["reason"], handoff["staff_chat_id"]) == ("open", "command", str(staff.group.id))
        assert header["text"].startswith(f"🙋 Handoff {handoff['id']}: Ann")
        assert "customer: where is my order?" in header["text"] and "customer: /human" in header["text"]
        proposed = handoff["proposed_intent"]
        assert proposed == "order_status"
        assert set(buttons(header)) == {"🙋 I'm on it", f"✅ Resolve: it was {proposed}", "✅ Resolve",
                                        "🤖 Back to the bot", "🏷 Label…"}
        order = [(c.method, c.params.get("chat_id"), c.params.get("text")) for c in server.calls]
        created = next(i for i, c in enumerate(order) if c[0] == "createForumTopic")
        posted = next(i for i, c in enumerate(order) if c[0] == "sendMessage" and c[1] == staff.group.id)
        told = next(i for i, c in enumerate(order) if c[0] == "sendMessage" and c[2] == say(bot, "handoff_passed", eta=""))
        assert created < posted < told


async def test_handoff_relays_text_both_ways_and_staff_are_never_answered_by_the_model(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        predictions = bot.runtime.db["predictions"].count
        update = server.send_text(ann, "my parcel arrived broken")
        copy = await topic_text(server, staff.group, thread, "my parcel arrived broken")
        await handled(server, update)
        assert copy["is_topic_message"]
        [stored] = bot.runtime.db["messages"].rows_where("text = ?", ["my parcel arrived broken"])
        assert stored["answered_at"] is not None  # delivered to staff
        assert len(server.sent_messages(ann)) == 2  # no model answer while a person holds it

        reply = server.send_text(staff.sam, "Sorry to hear that, Ann\n// she ordered twice", staff.group, thread=thread)
        replied = reply["message"]["reply_to_message"]  # Telegram: a reply to the topic's first message, the bot's
        assert replied["message_id"] == thread and replied["from"]["id"] == server.bot.id
        [*_, relayed] = await server.wait_for_messages(ann, 3)
        assert relayed["text"] == "Sam: Sorry to hear that, Ann"
        await handled(server, reply)
        [row] = staff_rows(bot)
        assert (row["direction"], row["author"], row["text"]) == ("out", f"telegram:{staff.sam.id}", "Sorry to hear that, Ann")
        assert row["user_id"] == user_id(bot, ann) and row["answered_at"] is not None

        note = server.send_text(staff.kim, "// check the warehouse first", staff.group, thread=thread)
        await handled(server, note)
        assert len(server.sent_messages(ann)) == 3 and len(staff_rows(bot)) == 1
        assert bot.runtime.db["predictions"].count == predictions  # neither side was classified
        assert [m for m in bot_topic_messages(server, staff.group, thread) if m.get("text") and not m.get("reply_markup")
                and m["text"] != "my parcel arrived broken"] == []  # the bot said nothing of its own in the topic


async def test_handoff_relays_a_photo_both_ways_with_its_file_ids(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        update = server.send_photo(ann, caption="the box")
        original = update["message"]

        def photo_in_topic():
            return next((m for m in bot_topic_messages(server, staff.group, thread) if "photo" in m), None)
        copy = await server.wait_for(photo_in_topic)
        await handled(server, update)
        assert [p["file_id"] for p in copy["photo"]] == [p["file_id"] for p in original["photo"]]
        assert copy["caption"] == "the box"
        [call] = server.calls_to("copyMessage")
        assert call.params["message_thread_id"] == thread
        [stored] = bot.runtime.db["messages"].rows_where("text = ?", ["[photo] the box"])
        assert stored["direction"] == "in" and stored["answered_at"] is not None

        staff_photo = server.send_photo(staff.sam, staff.group, thread=thread, caption="like this one?")
        [*_, got] = await server.wait_for_messages(ann, 3)
        await handled(server, staff_photo)
        assert [p["file_id"] for p in got["photo"]] == [p["file_id"] for p in staff_photo["message"]["photo"]]
        assert got["caption"] == "like this one?"
        [row] = staff_rows(bot)
        assert (row["text"], row["author"]) == ("[photo] like this one?", f"telegram:{staff.sam.id}")
        assert row["answered_at"] is not None


async def test_handoff_claim_then_resolve_with_the_proposed_intent_labels_and_hands_back(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, header = await open_handoff(bot, server, staff, ann)
        server.press_button(staff.sam, header, buttons(header)["🙋 I'm on it"])
        [*_, claimed] = await server.wait_for_messages(ann, 3)
        assert claimed["text"] == say(bot, "handoff_claimed", name="Sam")
        await server.wait_for(lambda: "🙋 Sam" in server.topics(staff.group)[0]["name"])
        [answer] = await server.wait_for_callback_answers(1)
        assert answer.text == "Claimed by Sam."
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["claimed_by"], handoff["claimed_name"]) == (
            "claimed", f"telegram:{staff.sam.id}", "Sam")

        proposed = handoff["proposed_intent"]
        server.press_button(staff.kim, header, buttons(header)[f"✅ Resolve: it was {proposed}"])
        [*_, resolved] = await server.wait_for_messages(ann, 4)
        assert resolved["text"] == say(bot, "handoff_resolved")
        await server.wait_for(lambda: server.topics(staff.group)[0]["closed"])
        await server.wait_for(lambda: "reply_markup" not in server.message(staff.group, header["message_id"]))
        [label] = bot.runtime.db["labels"].rows_where("source = 'staff'")
        assert (label["text"], label["intent"], label["labelled_by"]) == (
            "where is my order?", proposed, f"telegram:{staff.kim.id}")
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["closed_by"]) == ("resolved", f"telegram:{staff.kim.id}")

        again = await ask(server, ann, "how much is shipping")
        [(intent, action)] = bot.runtime.db.execute(
            "SELECT p.intent, p.action FROM predictions p JOIN messages m ON m.id = p.message_id "
            "WHERE m.text = 'how much is shipping'").fetchall()
        assert action == "answer" and again["text"] == bot.runtime.engine.response(intent, "en")


async def test_handoff_bot_command_hands_back_to_the_model(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        server.send_text(staff.kim, "/bot", staff.group, thread=thread)
        [*_, released] = await server.wait_for_messages(ann, 3)
        assert released["text"] == say(bot, "handoff_released")
        await topic_text(server, staff.group, thread, "Handed back to the bot.")
        await server.wait_for(lambda: server.topics(staff.group)[0]["closed"])
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["closed_by"]) == ("released", f"telegram:{staff.kim.id}")
        again = await ask(server, ann, "how much is shipping")
        assert again["text"] != "" and "👍" in buttons(again)  # the model answers again


async def test_handoff_label_command_reaches_the_export(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann, "the parcel came with a cracked screen")
        server.send_text(staff.sam, "/label damaged_item", staff.group, thread=thread)
        await topic_text(server, staff.group, thread, "Labelled damaged_item: it goes into tonight's training.")
        update = server.send_text(ann, "and the charger is missing")
        copy = await topic_text(server, staff.group, thread, "and the charger is missing")
        await handled(server, update)
        server.send_text(staff.kim, "/label wrong_item", staff.group, thread=thread, reply_to=copy)  # that message
        await topic_text(server, staff.group, thread, "Labelled wrong_item: it goes into tonight's training.")
        wrong = server.send_text(staff.sam, "/label no_such_intent", staff.group, thread=thread)
        await topic_text(server, staff.group, thread, "Unknown intent 'no_such_intent'. /label without an intent shows the list.")
        await handled(server, wrong)
        out = io.StringIO()
        await bot.app.bot_data.worker.run(data_usecases.export, Actor("cli:test", admin=True), out)
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        assert ["the parcel came with a cracked screen", "damaged_item"] in rows
        assert ["and the charger is missing", "wrong_item"] in rows
        labels = {(l["intent"], l["labelled_by"]) for l in bot.runtime.db["labels"].rows_where("source = 'staff'")}
        assert labels == {("damaged_item", f"telegram:{staff.sam.id}"), ("wrong_item", f"telegram:{staff.kim.id}")}


async def test_handoff_by_the_talk_to_a_person_button(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group, extra=UNSURE), server) as bot:
        ann = server.create_user("Ann")
        unsure = await ask(server, ann, "I want my money back")
        assert unsure["text"] == say(bot, "did_you_mean")
        server.press_button(ann, unsure, buttons(unsure)[say(bot, "talk_to_person")])
        [*_, told] = await server.wait_for_messages(ann, 2)
        assert told["text"] == say(bot, "handoff_passed", eta="")
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["reason"], handoff["status"]) == ("button", "open")
        [topic] = server.topics(staff.group)
        assert topic["message_thread_id"] == handoff["thread_id"]


async def test_handoff_after_two_fallbacks_in_a_row(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group, extra=ALWAYS_FALLBACK), server) as bot:
        ann = server.create_user("Ann")
        first = await ask(server, ann, "blorp zzkx vrrm")
        assert first["text"] != say(bot, "handoff_passed", eta="")
        assert handoffs_of(bot, ann) == []
        second = await ask(server, ann, "qwvx plimf dorb")
        assert second["text"] == say(bot, "handoff_passed", eta="")
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["reason"], handoff["status"]) == ("fallbacks", "open")
        header = bot_topic_messages(server, staff.group, handoff["thread_id"])[0]
        assert "2 messages in a row the bot could not answer" in header["text"]


async def test_handoff_after_two_thumbs_down_in_a_row(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        first = await ask(server, ann, "where is my order?")
        second = await ask(server, ann, "how much is shipping")
        server.press_button(ann, first, buttons(first)["👎"])
        [*_, sorry] = await server.wait_for_messages(ann, 3)
        assert sorry["text"] == say(bot, "feedback_sorry") and handoffs_of(bot, ann) == []
        server.press_button(ann, second, buttons(second)["👎"])
        [*_, told] = await server.wait_for_messages(ann, 4)
        assert told["text"] == say(bot, "handoff_passed", eta="")
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["reason"], handoff["status"]) == ("thumbs_down", "open")


async def test_handoff_out_of_hours_says_when_staff_are_back(trained_config, server, staff):
    later = datetime.now(UTC) + timedelta(days=2)
    hours = f'hours = ["{DAYS[later.weekday()]} 00:00-00:01"]'
    async with running_bot(staffed(trained_config, server, staff.group, hours), server) as bot:
        ann = server.create_user("Ann")
        await ask(server, ann, "where is my order?")
        told = await ask(server, ann, "/human")
        assert told["text"] == say(bot, "handoff_after_hours", back=later.strftime("%A") + " 00:00")
        [handoff] = handoffs_of(bot, ann)
        assert handoff["status"] == "open" and len(server.topics(staff.group)) == 1  # staff still get it


async def test_handoff_without_a_staff_group_gives_the_contact_and_records_the_request(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        await ask(server, ann, "where is my order?")
        told = await ask(server, ann, "/human")
        assert told["text"] == say(bot, "handoff")
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["reason"], handoff["claimed_by"], handoff["thread_id"]) == (
            "requested", "command", None, None)
        assert server.calls_to("createForumTopic") == []
        again = await ask(server, ann, "how much is shipping")
        assert "👍" in buttons(again)  # nobody holds the conversation: the model still answers


async def test_handoff_with_a_staff_group_without_topics_warns_admins_and_keeps_answering(trained_config, server):
    group = server.create_group("Shop staff", supergroup=True, bot_is_admin=True)
    async with running_bot(staffed(trained_config, server, group), server) as bot:
        notices = await server.wait_for_messages(bot.admin, 1)
        assert any(m["text"].startswith("Handoff to a person is off: ") and "has no topics" in m["text"]
                   for m in notices)
        ann = server.create_user("Ann")
        answer = await ask(server, ann, "where is my order?")
        assert answer["text"] == bot.runtime.engine.response("order_status", "en")
        told = await ask(server, ann, "/human")
        assert told["text"] == say(bot, "handoff")
        [handoff] = handoffs_of(bot, ann)
        assert handoff["status"] == "requested"
        assert server.calls_to("createForumTopic") == []


async def test_handoff_staff_check_ignores_non_staff_bots_and_messages_outside_topics(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        eve = server.create_user("Eve")
        server.add_member(staff.group, eve, "restricted", can_send_messages=True)  # in the group, not staff
        helper = dataclasses.replace(server.create_user("Helper"), is_bot=True)
        server.add_member(staff.group, helper, "member")
        ignored = [
            server.send_text(eve, "hi Ann, send me your card number", staff.group, thread=thread),
            server.send_text(helper, "automated: ticket created", staff.group, thread=thread),
            server.send_text(staff.sam, "anyone seen the Ann case?", staff.group),  # General, no topic
        ]
        for update in ignored:
            await handled(server, update)
        assert len(server.sent_messages(ann)) == 2 and staff_rows(bot) == []
        assert bot.runtime.db["messages"].count_where("text LIKE '%card number%' OR text LIKE '%anyone seen%'") == 0
        server.send_text(staff.kim, "Hello Ann", staff.group, thread=thread)
        [*_, relayed] = await server.wait_for_messages(ann, 3)
        assert relayed["text"] == "Kim: Hello Ann"


async def test_handoff_to_a_customer_who_blocked_the_bot_warns_staff_in_the_topic(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        server.block_bot(ann)
        server.send_text(staff.sam, "Are you still there?", staff.group, thread=thread)
        await topic_text(server, staff.group, thread, BLOCKED)
        assert len(server.sent_messages(ann)) == 2
        [row] = staff_rows(bot)
        assert row["answered_at"] is None  # stored, never delivered


async def test_handoff_forget_deletes_the_staff_topic(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann, bob = server.create_user("Ann"), server.create_user("Bob")
        thread, _ = await open_handoff(bot, server, staff, ann)
        await open_handoff(bot, server, staff, bob, "how much is shipping")
        confirm = await ask(server, ann, "/forget")
        server.press_button(ann, confirm, buttons(confirm)[say(bot, "forget_yes")])
        [*_, done] = await server.wait_for_messages(ann, 4)
        assert done["text"].startswith(bot.runtime.domain.message("forget_done", "en").split("{")[0])
        [call] = await server.wait_for_calls("deleteForumTopic")
        assert call.params["message_thread_id"] == thread and call.ok
        assert [t["message_thread_id"] for t in server.topics(staff.group)] != [thread]
        assert len(server.topics(staff.group)) == 1  # Bob's stays
        assert bot.runtime.db["handoffs"].count == 1 and bot.runtime.db["staff_topics"].count == 1


async def test_handoff_forget_when_the_topic_cannot_be_deleted_ignores_later_staff_messages(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        server.set_bot_member(staff.group, "administrator", can_delete_messages=False)
        confirm = await ask(server, ann, "/forget")
        server.press_button(ann, confirm, buttons(confirm)[say(bot, "forget_yes")])
        await server.wait_for_messages(ann, 4)
        [call] = await server.wait_for_calls("deleteForumTopic")
        assert not call.ok and len(server.topics(staff.group)) == 1
        late = server.send_text(staff.sam, "Ann, your refund is on its way", staff.group, thread=thread)
        await handled(server, late)
        assert len(server.sent_messages(ann)) == 4
        assert bot.runtime.db["messages"].count == 0 and bot.runtime.db["handoffs"].count == 0


async def test_handoff_timeouts_ping_the_topic_once_then_release_an_idle_one(trained_config, server, staff):
    clocks = "reply_within_minutes = 1\nrelease_after_hours = 1\ncheck_seconds = 0.2"
    async with running_bot(staffed(trained_config, server, staff.group, clocks), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        ping = "⏰ Nobody has answered this customer for 1 minutes."
        worker = bot.app.bot_data.worker
        past = (datetime.now(UTC) - timedelta(minutes=2)).isoformat(timespec="milliseconds")
        await worker.run(lambda rt: rt.db.execute("UPDATE handoffs SET opened_at = ?", [past]))
        await topic_text(server, staff.group, thread, ping)
        [*_, slow] = await server.wait_for_messages(ann, 3)
        assert slow["text"] == say(bot, "handoff_slow")
        [handoff] = handoffs_of(bot, ann)
        assert handoff["pinged_at"] is not None and handoff["status"] == "open"

        idle = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="milliseconds")
        await worker.run(lambda rt: rt.db.execute("UPDATE handoffs SET last_activity_at = ?", [idle]))
        await topic_text(server, staff.group, thread, "🤖 Back to the bot: no message for 1 hours.")
        [*_, released] = await server.wait_for_messages(ann, 4)
        assert released["text"] == say(bot, "handoff_released")
        await server.wait_for(lambda: server.topics(staff.group)[0]["closed"])
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["closed_by"]) == ("released", "timeout")
        assert texts(bot_topic_messages(server, staff.group, thread)).count(ping) == 1  # pinged once, many checks later
        again = await ask(server, ann, "how much is shipping")
        assert "👍" in buttons(again)


async def test_handoff_keeps_two_customers_apart_each_in_their_topic_and_language(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann, li = server.create_user("Ann"), server.create_user("李", language_code="zh-hans")
        ann_thread, _ = await open_handoff(bot, server, staff, ann)
        await ask(server, li, "我想退货")
        told = await ask(server, li, "我要找人工客服")  # asked for a person (contact_human), in Chinese
        assert told["text"] == say(bot, "handoff_passed", "zh", eta="")
        [li_handoff] = handoffs_of(bot, li)
        li_thread = li_handoff["thread_id"]
        assert li_thread != ann_thread and li_handoff["reason"] == "asked"
        names = {t["message_thread_id"]: t["name"] for t in server.topics(staff.group)}
        assert names[li_thread].startswith(f"#{user_id(bot, li)} · 李 · zh · ")
        server.send_text(li, "转人工")  # held: it goes to staff, in 李's topic
        await topic_text(server, staff.group, li_thread, "转人工")
        already = await ask(server, ann, "/human")
        assert already["text"] == say(bot, "handoff_already")
        assert len(handoffs_of(bot, ann)) == 1 and len(server.topics(staff.group)) == 2
        server.send_text(staff.sam, "您好", staff.group, thread=li_thread)
        server.send_text(staff.kim, "Hi Ann", staff.group, thread=ann_thread)
        [*_, to_li] = await server.wait_for_messages(li, 3)
        [*_, to_ann] = await server.wait_for_messages(ann, 4)
        assert (to_li["text"], to_ann["text"]) == ("Sam: 您好", "Kim: Hi Ann")
        server.send_text(staff.sam, "/resolve", staff.group, thread=li_thread)
        [*_, resolved] = await server.wait_for_messages(li, 4)
        assert resolved["text"] == say(bot, "handoff_resolved", "zh")
        assert [h["status"] for h in handoffs_of(bot, ann)] == ["open"]


async def test_handoff_by_human_command_speaks_the_chinese_customers_language(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        li = server.create_user("李", language_code="zh-hans")
        await ask(server, li, "我想退货")
        told = await ask(server, li, "/human")
        assert told["text"] == say(bot, "handoff_passed", "zh", eta="")
        [topic] = server.topics(staff.group)
        assert " · zh · " in topic["name"]


async def test_handoff_a_second_time_reopens_the_customers_own_topic(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        server.send_text(staff.sam, "/resolve", staff.group, thread=thread)
        await server.wait_for(lambda: server.topics(staff.group)[0]["closed"])
        await server.wait_for_messages(ann, 3)
        await ask(server, ann, "do you ship express")
        told = await ask(server, ann, "/human")
        assert told["text"] == say(bot, "handoff_passed", eta="")
        [topic] = server.topics(staff.group)
        assert topic["message_thread_id"] == thread and not topic["closed"]
        first, second = handoffs_of(bot, ann)
        assert (first["status"], second["status"], second["thread_id"]) == ("resolved", "open", thread)
        headers = [m for m in bot_topic_messages(server, staff.group, thread) if m.get("reply_markup")]
        assert len(headers) == 2 and "customer: do you ship express" in headers[-1]["text"]
        server.send_text(ann, "still waiting")
        await topic_text(server, staff.group, thread, "still waiting")


async def test_handoff_after_staff_deleted_the_customers_topic_opens_a_new_one(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        server.send_text(staff.sam, "/resolve", staff.group, thread=thread)
        await server.wait_for_messages(ann, 3)
        await server.wait_for(lambda: server.topics(staff.group)[0]["closed"])
        delete_by_hand(server, staff.group, thread)
        told = await ask(server, ann, "/human")
        assert told["text"] == say(bot, "handoff_passed", eta="")
        [topic] = server.topics(staff.group)
        assert topic["message_thread_id"] != thread
        assert handoffs_of(bot, ann)[-1]["thread_id"] == topic["message_thread_id"]


async def test_handoff_topic_deleted_by_hand_and_none_can_be_made_tells_the_customer_and_admins(
        trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, _ = await open_handoff(bot, server, staff, ann)
        delete_by_hand(server, staff.group, thread)
        server.set_bot_member(staff.group, "administrator", can_manage_topics=False)
        update = server.send_text(ann, "hello? anyone?")
        [*_, told] = await server.wait_for_messages(ann, 3)
        await handled(server, update)
        assert told["text"] == say(bot, "handoff")  # the shop's contact, not a promise
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["note"]) == ("failed", "Not enough rights to create a topic")
        [alert] = [m for m in server.sent_messages(bot.admin) if m["text"].startswith("Handoff ")]
        assert alert["text"] == TOPIC_LOST.format(handoff_id=handoff["id"], reason="Not enough rights to create a topic")
        [stored] = bot.runtime.db["messages"].rows_where("text = ?", ["hello? anyone?"])
        assert stored["answered_at"] is not None
        [reply] = bot.runtime.db["messages"].rows_where("reply_to = ?", [stored["id"]])
        assert reply["text"] == told["text"]  # the log holds what the customer was really told
        server.send_text(ann, "how much is shipping")
        [*_, answer] = await server.wait_for_messages(ann, 4)
        assert answer["text"] != "" and "reply_markup" in answer  # the model answers again


async def test_handoff_topic_deleted_by_hand_is_opened_again_and_the_message_reaches_it(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, header = await open_handoff(bot, server, staff, ann)
        server.press_button(staff.sam, header, buttons(header)["🙋 I'm on it"])
        await server.wait_for_messages(ann, 3)
        first = server.send_text(ann, "my parcel arrived broken")
        await topic_text(server, staff.group, thread, "my parcel arrived broken")
        await handled(server, first)
        delete_by_hand(server, staff.group, thread)
        update = server.send_text(ann, "are you still there?")
        await handled(server, update)
        [topic] = server.topics(staff.group)
        new = topic["message_thread_id"]
        assert new != thread and " · Ann · en · " in topic["name"] and topic["name"].endswith(" · 🙋 Sam")
        header, copy = bot_topic_messages(server, staff.group, new)
        assert header["text"].startswith("🙋 Handoff ") and "customer: my parcel arrived broken" in header["text"]
        assert "are you still there?" not in header["text"] and copy["text"] == "are you still there?"
        [handoff] = handoffs_of(bot, ann)
        assert (handoff["status"], handoff["thread_id"]) == ("claimed", new)
        assert bot.runtime.db["staff_topics"].get(handoff["user_id"])["thread_id"] == new
        assert len(server.sent_messages(ann)) == 3  # the customer noticed nothing

        server.send_text(staff.sam, "Yes, sorry: the old chat was closed", staff.group, thread=new)
        [*_, relayed] = await server.wait_for_messages(ann, 4)
        assert relayed["text"] == "Sam: Yes, sorry: the old chat was closed"


async def refund_told(bot, server, staff, customer) -> tuple[int, dict, dict]:
    """In a handoff, Sam told the customer their refund: the topic, his update and the customer's copy."""
    thread, _ = await open_handoff(bot, server, staff, customer)
    reply = server.send_text(staff.sam, "Your refund is 10 EUR", staff.group, thread=thread)
    [*_, got] = await server.wait_for_messages(customer, 3)
    await handled(server, reply)
    return thread, reply, got


async def test_handoff_staff_edit_of_a_copy_the_customer_deleted_sends_the_correction(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        _, reply, got = await refund_told(bot, server, staff, ann)
        server.delete_in_private_chat(ann, got)
        edit = server.edit_text(reply, "Your refund is 12 EUR")
        await handled(server, edit)
        [*_, correction] = server.sent_messages(ann)
        assert correction["text"] == CORRECTED.format(name="Sam", text="Your refund is 12 EUR")
        [edit_call] = server.calls_to("editMessageText")
        assert not edit_call.ok
        [row] = staff_rows(bot)
        assert row["text"] == "Your refund is 12 EUR"


async def test_handoff_staff_edit_edits_the_customers_copy_and_notes_stay_unsent(trained_config, server, staff):
    async with running_bot(staffed(trained_config, server, staff.group), server) as bot:
        ann = server.create_user("Ann")
        thread, reply, got = await refund_told(bot, server, staff, ann)
        edit = server.edit_text(reply, "Your refund is 12 EUR\n// it was 12, my mistake")
        await handled(server, edit)
        assert len(server.sent_messages(ann)) == 3  # no second message
        assert server.message(ann, got["message_id"])["text"] == "Sam: Your refund is 12 EUR"
        [row] = staff_rows(bot)
        assert row["text"] == "Your refund is 12 EUR"

        note = server.send_text(staff.kim, "// ask the warehouse", staff.group, thread=thread)
        await handled(server, note)
        edited_note = server.edit_text(note, "ask the warehouse, Ann")  # never sent: an edit does not send it
        await handled(server, edited_note)
        assert len(server.sent_messages(ann)) == 3 and len(staff_rows(bot)) == 1
