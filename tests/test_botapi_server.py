"""The local Bot API server, checked over real HTTP with aiohttp and the real PTB `telegram.Bot`."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests.botapi import BotAPIServer
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer(webhook_retry_delays=(0.02, 0.05, 0.1), webhook_timeout=1.0) as srv:
        yield srv


@pytest.fixture
async def bot(server: BotAPIServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, server: BotAPIServer, method: str, **params: Any) -> tuple[int, dict]:
    async with http.post(server.api_url(method), json=params) as response:
        return response.status, await response.json()


def keyboard(*datas: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d)] for d in datas])


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Receiver:
    """A webhook endpoint that fails its first `failures` requests with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict, dict]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        if len(self.received) <= self.failures:
            return web.Response(status=500)
        return web.Response(text="ok")


# --- envelope, auth, routing -------------------------------------------------------------------


async def test_get_me_envelope_and_ptb_parse(server: BotAPIServer, bot: Bot, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, server, "getMe")
    assert status == 200 and set(body) == {"ok", "result"} and body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert {"can_join_groups", "can_read_all_group_messages", "supports_inline_queries"} <= set(body["result"])
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456789 and me.username == "supportbot_test_bot"
    assert me.can_read_all_group_messages is False  # privacy mode


async def test_wrong_token_is_401_and_ptb_raises_invalid_token(server: BotAPIServer, http: aiohttp.ClientSession) -> None:
    async with http.get(server.api_url("getMe", token="123456789:wrong")) as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        async with Bot("123456789:wrong", base_url=server.base_url):
            pass
    assert server.calls == []  # rejected before anything is recorded


async def test_unknown_method_and_path_are_404(server: BotAPIServer, http: aiohttp.ClientSession) -> None:
    not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
    status, body = await call(http, server, "sendTelepathy", chat_id=1)
    assert (status, body) == (404, not_found)
    async with http.get(f"{server.url}/nothing/here") as response:
        assert response.status == 404 and await response.json() == not_found
    status, body = await call(http, server, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["is_bot"]


async def test_error_envelope_carries_parameters_only_when_relevant(server: BotAPIServer,
                                                                    http: aiohttp.ClientSession) -> None:
    status, body = await call(http, server, "sendMessage", chat_id=42, text="hi")
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    server.inject("sendMessage", 429, retry_after=7)
    status, body = await call(http, server, "sendMessage", chat_id=42, text="hi")
    assert status == 429
    assert body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                    "parameters": {"retry_after": 7}}


async def test_params_as_json_form_and_multipart(server: BotAPIServer, http: aiohttp.ClientSession) -> None:
    alice = server.create_user("Alice", started=True)
    markup = '{"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}'
    url = server.api_url("sendMessage")
    async with http.post(url, json={"chat_id": alice.id, "text": "json", "reply_markup": {"inline_keyboard": [
            [{"text": "Yes", "callback_data": "yes"}]]}}) as r1:
        assert r1.status == 200
    async with http.post(url, data={"chat_id": str(alice.id), "text": "form", "reply_markup": markup}) as r2:
        assert r2.status == 200
    form = aiohttp.FormData()
    for name, value in {"chat_id": str(alice.id), "text": "multipart", "reply_markup": markup}.items():
        form.add_field(name, value)
    async with http.post(url, data=form) as r3:
        assert r3.status == 200
    async with http.get(url, params={"chat_id": str(alice.id), "text": "query"}) as r4:
        assert r4.status == 200
    sent = server.sent_messages(alice)
    assert [m["text"] for m in sent] == ["json", "form", "multipart", "query"]
    assert all(m["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes" for m in sent[:3])
    assert server.calls[1].params["chat_id"] == alice.id  # typed in the call log, whatever the encoding


# --- getUpdates --------------------------------------------------------------------------------


async def test_updates_are_redelivered_until_an_offset_confirms_them(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    first = server.send_text(alice, "one")
    second = server.send_text(alice, "two")
    assert second["update_id"] == first["update_id"] + 1
    again = await bot.get_updates()
    assert [u.message.text for u in await bot.get_updates()] == [u.message.text for u in again] == ["one", "two"]
    assert [u.message.text for u in await bot.get_updates(offset=second["update_id"])] == ["two"]
    assert [u.message.text for u in await bot.get_updates()] == ["two"]  # "one" is gone for good
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()
    assert server.pending_updates == []


async def test_limit_and_negative_offset(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    for text in "abcde":
        server.send_text(alice, text)
    assert [u.message.text for u in await bot.get_updates(limit=2)] == ["a", "b"]
    assert [u.message.text for u in await bot.get_updates(offset=-2)] == ["d", "e"]
    assert [u["message"]["text"] for u in server.pending_updates] == ["d", "e"]  # the rest is forgotten


async def test_long_poll_returns_early_when_an_update_arrives(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    server.send_text(alice, "are you there?")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates] == ["are you there?"]
    assert time.monotonic() - started < 1.5


async def test_long_poll_times_out_with_empty_list(server: BotAPIServer, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    status, body = await call(http, server, "getUpdates", timeout=0.3)
    elapsed = time.monotonic() - started
    assert (status, body) == (200, {"ok": True, "result": []})
    assert 0.3 <= elapsed < 1.5


async def test_allowed_updates_filters_new_updates_only(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    sent = await bot.send_message(alice.id, "pick", reply_markup=keyboard("a"))
    before = server.send_text(alice, "created before the choice")
    assert [u.message.text for u in await bot.get_updates(allowed_updates=["callback_query"])] == [
        "created before the choice"]
    hidden = server.send_text(alice, "not wanted")
    press = server.press_button(alice, sent.to_dict(), "a")
    assert hidden["update_id"] is None and hidden in server.filtered_updates
    updates = await bot.get_updates(offset=before["update_id"] + 1)
    assert [u.update_id for u in updates] == [press["update_id"]] and updates[0].callback_query.data == "a"
    await bot.get_updates(offset=press["update_id"] + 1, allowed_updates=[])  # [] restores the default
    assert server.send_text(alice, "wanted again")["update_id"] is not None


async def test_a_second_get_updates_terminates_the_first_with_409(server: BotAPIServer,
                                                                   http: aiohttp.ClientSession) -> None:
    first = asyncio.create_task(call(http, server, "getUpdates", timeout=5))
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    status, body = await call(http, server, "getUpdates", timeout=0)
    assert (status, body) == (200, {"ok": True, "result": []})
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates request")


# --- webhooks ----------------------------------------------------------------------------------


async def test_webhook_delivers_with_secret_and_retries_a_failing_receiver(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    async with Receiver(failures=2) as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret_token-1")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update = server.send_text(alice, "hello webhook")
        await server.wait_until_confirmed(update, timeout=3)
        assert len(receiver.received) == 3
        headers, body = receiver.received[-1]
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_token-1"
        assert body == update
        info = await bot.get_webhook_info()
        assert info.url == receiver.url and info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        assert abs(info.last_error_date.timestamp() - time.time()) < 5
        assert [(d.attempt, d.status) for d in server.webhook_deliveries] == [(1, 500), (2, 500), (3, 200)]


async def test_webhook_gives_up_after_bounded_retries_without_crashing(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    await bot.set_webhook(f"http://127.0.0.1:{free_port()}/nobody-listens")
    update = server.send_text(alice, "into the void")
    await server.wait_for(lambda: server.dropped_webhook_updates, timeout=3)
    assert server.dropped_webhook_updates == [update]
    assert len(server.webhook_deliveries) == 4 and not any(d.ok for d in server.webhook_deliveries)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused" and info.pending_update_count == 0
    assert (await bot.get_me()).is_bot  # still serving


async def test_delete_webhook_keeps_or_drops_pending_updates(server: BotAPIServer, bot: Bot,
                                                             http: aiohttp.ClientSession) -> None:
    alice = server.create_user("Alice")
    await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook")
    await bot.delete_webhook()  # before any delivery attempt can happen
    server.send_text(alice, "kept")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert [u.message.text for u in await bot.get_updates()] == ["kept"]
    status, body = await call(http, server, "deleteWebhook", drop_pending_updates=True)
    assert body == {"ok": True, "result": True, "description": "Webhook is already deleted"}
    assert await bot.get_updates() == ()
    with pytest.raises(BadRequest, match="(?i)secret token"):
        await bot.set_webhook("https://example.com/hook", secret_token="not allowed!")


# --- sendMessage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": " \n "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "<b>bold", "parse_mode": "HTML"}, "Bad Request: can't parse entities: "),
        ({"text": "v1.0", "parse_mode": "MarkdownV2"}, "Bad Request: can't parse entities: Character '.' is reserved"),
        ({"text": "hi", "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}},
         "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "hi", "chat_id": 999}, "Bad Request: chat not found"),
        ({"text": "hi", "reply_parameters": {"message_id": 999}}, "Bad Request: message to be replied not found"),
    ],
)
async def test_send_message_validation(server: BotAPIServer, http: aiohttp.ClientSession, params: dict,
                                       description: str) -> None:
    alice = server.create_user("Alice", started=True)
    status, body = await call(http, server, "sendMessage", **{"chat_id": alice.id, **params})
    assert status == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith(description) and "parameters" not in body
    assert server.sent_messages() == []


async def test_send_message_limits_are_exact(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    assert len((await bot.send_message(alice.id, "x" * 4096)).text) == 4096
    data = "d" * 64
    message = await bot.send_message(alice.id, "ok", reply_markup=keyboard(data))
    assert message.reply_markup.inline_keyboard[0][0].callback_data == data


async def test_bot_cannot_start_conversations_or_write_to_a_blocker(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(alice.id, "hello?")
    server.send_text(alice, "/start")
    await bot.send_message(alice.id, "welcome")
    server.block_bot(alice)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(alice.id, "still there?")


async def test_sent_message_is_what_the_customer_sees(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    question = server.send_text(alice, "refund?")["message"]
    before = int(time.time())
    reply = await bot.send_message(alice.id, "  <b>Refunds</b> &amp; returns 🙂 <i>see</i> /help  ", parse_mode="HTML",
                                   reply_to_message_id=question["message_id"])
    [stored] = server.sent_messages(alice)
    assert stored["text"] == "Refunds & returns 🙂 see /help"
    assert stored["entities"] == [{"type": "bold", "offset": 0, "length": 7},
                                  {"type": "italic", "offset": 21, "length": 3},  # 🙂 is two UTF-16 units
                                  {"type": "bot_command", "offset": 25, "length": 5}]
    assert stored["reply_to_message"]["message_id"] == question["message_id"]
    assert isinstance(stored["date"], int) and before <= stored["date"] <= time.time() + 1
    assert reply.message_id == question["message_id"] + 1 and reply.from_user.id == bot.id


@pytest.mark.parametrize(
    ("text", "parse_mode", "plain", "entities"),
    [
        ("*Order* \\#A10293 is _on its way_\\!", "MarkdownV2", "Order #A10293 is on its way!",
         [("bold", 0, 5), ("hashtag", 6, 7), ("italic", 17, 10)]),  # Telegram finds hashtags itself
        ("[Track it](https://example.com/t?id=1) ||now||", "MarkdownV2", "Track it now",
         [("text_link", 0, 8), ("spoiler", 9, 3)]),
        ("*Refund* _status_ `#42`", "Markdown", "Refund status #42", [("bold", 0, 6), ("italic", 7, 6), ("code", 14, 3)]),
        ("<pre><code class=\"language-sh\">make test</code></pre>", "HTML", "make test", [("pre", 0, 9)]),
        ("<b>plain</b> on purpose", None, "<b>plain</b> on purpose", []),
    ],
)
async def test_parse_modes_give_plain_text_and_entities(server: BotAPIServer, http: aiohttp.ClientSession, text: str,
                                                        parse_mode: str | None, plain: str, entities: list) -> None:
    alice = server.create_user("Alice", started=True)
    params = {"chat_id": alice.id, "text": text, **({"parse_mode": parse_mode} if parse_mode else {})}
    status, body = await call(http, server, "sendMessage", **params)
    assert status == 200 and body["result"]["text"] == plain
    found = [(e["type"], e["offset"], e["length"]) for e in body["result"].get("entities", [])]
    assert found == entities


async def test_message_ids_increase_per_chat(server: BotAPIServer, bot: Bot) -> None:
    alice, bob = server.create_user("Alice", started=True), server.create_user("Bob", started=True)
    ids = [(await bot.send_message(user.id, "hi")).message_id for user in (alice, bob, alice, bob)]
    assert ids == [1, 1, 2, 2]


# --- editing -----------------------------------------------------------------------------------


async def test_edit_text_returns_message_and_drops_keyboard_unless_repeated(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    sent = await bot.send_message(alice.id, "Working…", reply_markup=keyboard("stop"))
    edited = await bot.edit_message_text("Done", chat_id=alice.id, message_id=sent.message_id,
                                         reply_markup=keyboard("again"))
    assert edited.text == "Done" and edited.edit_date is not None and edited.message_id == sent.message_id
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Done", chat_id=alice.id, message_id=sent.message_id, reply_markup=keyboard("again"))
    without_markup = await bot.edit_message_text("Done", chat_id=alice.id, message_id=sent.message_id)
    assert without_markup.reply_markup is None  # Telegram drops the keyboard when none is sent
    [stored] = server.sent_messages(alice)
    assert stored["text"] == "Done" and "reply_markup" not in stored and "edit_date" in stored


async def test_edit_reply_markup_and_not_modified(server: BotAPIServer, bot: Bot,
                                                  http: aiohttp.ClientSession) -> None:
    alice = server.create_user("Alice", started=True)
    sent = await bot.send_message(alice.id, "Pick one", reply_markup=keyboard("a", "b"))
    edited = await bot.edit_message_reply_markup(alice.id, sent.message_id)
    assert isinstance(edited.text, str) and edited.reply_markup is None
    status, body = await call(http, server, "editMessageReplyMarkup", chat_id=alice.id, message_id=sent.message_id)
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    assert "reply_markup" not in server.sent_messages(alice)[0]


async def test_edit_errors(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    mine = server.send_text(alice, "customer text")["message"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=99)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=mine["message_id"])


async def test_customer_edit_creates_edited_message(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    original = server.send_text(alice, "wehre is my order")
    update = server.edit_text(original, "where is my order")
    assert update["edited_message"]["message_id"] == original["message"]["message_id"]
    [_, edited] = await bot.get_updates()
    assert edited.edited_message.text == "where is my order" and edited.edited_message.edit_date is not None
    assert server.messages(alice)[0]["text"] == "where is my order"


# --- callback queries --------------------------------------------------------------------------


async def test_callback_query_answer_once(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    sent = await bot.send_message(alice.id, "Helpful?", reply_markup=keyboard("up", "down"))
    update = server.press_button(alice, server.sent_messages(alice)[0], "down")
    query = update["callback_query"]
    assert set(query) == {"id", "from", "message", "chat_instance", "data"} and query["data"] == "down"
    [parsed] = await bot.get_updates()
    assert parsed.callback_query.message.message_id == sent.message_id
    assert await parsed.callback_query.answer("Thanks!", show_alert=True)
    [answer] = server.callback_answers
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (query["id"], "Thanks!", True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await parsed.callback_query.answer()
    with pytest.raises(BadRequest, match="query id is invalid"):
        await bot.answer_callback_query("12345")


async def test_press_button_only_for_buttons_on_the_message(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    sent = (await bot.send_message(alice.id, "Pick", reply_markup=keyboard("a"))).to_dict()
    with pytest.raises(ValueError, match="no button"):
        server.press_button(alice, sent, "admin:delete_everything")
    forged = server.press_button(alice, sent, "admin:delete_everything", forge=True)
    assert forged["callback_query"]["data"] == "admin:delete_everything"
    await bot.edit_message_reply_markup(alice.id, sent["message_id"])
    with pytest.raises(ValueError, match="no button"):
        server.press_button(alice, sent, "a")  # the keyboard is gone now


# --- customers ---------------------------------------------------------------------------------


async def test_group_privacy_mode_mentions_replies_and_commands(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice")
    group = server.create_group("Shop fans")
    chatter = server.send_text(alice, "nice weather", chat=group)
    mention = server.send_text(alice, "@supportbot_test_bot where is my order?", chat=group)
    command = server.send_text(alice, "/help@supportbot_test_bot", chat=group)
    other_bot = server.send_text(alice, "/help@some_other_bot", chat=group)
    assert chatter["update_id"] is None and other_bot["update_id"] is None
    assert mention["message"]["entities"] == [{"type": "mention", "offset": 0, "length": 20}]
    assert command["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    answer = await bot.send_message(group.id, "Let me check")
    reply = server.send_text(alice, "thanks", chat=group, reply_to=answer.to_dict())
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [mention["update_id"], command["update_id"], reply["update_id"]]
    assert updates[0].effective_chat.type == "group" and updates[0].effective_chat.title == "Shop fans"
    assert updates[2].message.reply_to_message.from_user.id == bot.id


async def test_every_kind_of_customer_message_parses_in_ptb(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", language_code="zh-hans")
    channel = server.create_channel("Shop news", username="shopnews")
    made = [
        server.send_photo(alice, caption="broken #damaged"),
        server.send_sticker(alice),
        server.send_voice(alice, duration=4),
        server.send_document(alice, file_name="receipt.pdf"),
        server.send_location(alice, 52.52, 13.405),
        server.send_contact(alice, "+10000000000"),
        server.post_to_channel(channel, "Sale starts today"),
    ]
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [m["update_id"] for m in made]
    photo, sticker, voice, document, location, contact, post = updates
    assert photo.message.photo[-1].width == 1280 and photo.message.caption_entities[0].type == "hashtag"
    assert sticker.message.sticker.emoji == "👍" and voice.message.voice.file_id == made[2]["message"]["voice"]["file_id"]
    assert made[2]["message"]["voice"]["duration"] == 4
    assert document.message.document.file_name == "receipt.pdf" and location.message.location.latitude == 52.52
    assert contact.message.contact.user_id == alice.id and photo.effective_user.language_code == "zh-hans"
    assert post.channel_post.sender_chat.id == channel.id and post.channel_post.from_user is None
    data = await (await bot.get_file(document.message.document.file_id)).download_as_bytearray()
    assert bytes(data).startswith(b"%PDF")


async def test_send_photo_upload_and_file_id(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    png = tiny_png(400, 300)
    sent = await bot.send_photo(alice.id, png, caption="<b>Confusion</b> matrix", parse_mode="HTML")
    assert [(p.width, p.height) for p in sent.photo] == [(90, 68), (320, 240), (400, 300)]
    assert sent.caption == "Confusion matrix" and sent.caption_entities[0].type == "bold"
    again = await bot.send_photo(alice.id, sent.photo[-1].file_id)
    assert [p.file_id for p in again.photo] == [p.file_id for p in sent.photo]
    assert bytes(await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()) == png
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(alice.id, b"not an image")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(alice.id, "no-such-file-id")
    assert len(server.sent_messages(alice)) == 2


# --- commands and chat actions -----------------------------------------------------------------


async def test_commands_per_scope(server: BotAPIServer, bot: Bot) -> None:
    admin = server.create_user("Admin")
    assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    assert await bot.set_my_commands([BotCommand("retrain", "Retrain")], scope=BotCommandScopeChat(admin.id))
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(admin.id))] == ["retrain"]
    assert server.commands() == [{"command": "start", "description": "Start"}, {"command": "help", "description": "Help"}]
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(admin.id))
    assert await bot.get_my_commands(scope=BotCommandScopeChat(admin.id)) == ()
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([BotCommand("x", "y")], scope=BotCommandScopeChat(424242))
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "y")])


async def test_chat_action(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    assert await bot.send_chat_action(alice.id, "typing")
    assert [(a.chat_id, a.action) for a in server.chat_actions] == [(alice.id, "typing")]
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(alice.id, "dancing")


# --- fault injection -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter text
@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("429", RetryAfter, r"Retry in (3 seconds|0:00:03)"),
        ("500", NetworkError, "Internal Server Error"),
        ("502", NetworkError, "Bad Gateway"),
        ("drop", NetworkError, "Server disconnected"),
    ],
)
async def test_faults_as_seen_by_ptb_and_nothing_is_sent(server: BotAPIServer, bot: Bot, kind: str,
                                                         error: type[Exception], match: str) -> None:
    alice = server.create_user("Alice", started=True)
    server.inject("sendMessage", kind, count=2, retry_after=3)
    for _ in range(2):
        with pytest.raises(error, match=match):
            await bot.send_message(alice.id, "lost")
    assert server.sent_messages(alice) == []
    assert server.faults_served == [("sendMessage", kind)] * 2
    assert (await bot.send_message(alice.id, "delivered")).text == "delivered"  # only the next N calls
    assert [m["text"] for m in server.sent_messages(alice)] == ["delivered"]
    assert [c.fault for c in server.calls_to("sendMessage")] == [kind, kind, None]


async def test_delay_fault_times_out_the_client_but_telegram_still_sends(server: BotAPIServer, bot: Bot) -> None:
    alice = server.create_user("Alice", started=True)
    server.inject("sendMessage", "delay", delay=0.4, apply_first=True)
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "slow", read_timeout=0.1)
    assert [m["text"] for m in server.sent_messages(alice)] == ["slow"]  # the duplicate-on-retry trap
    server.inject("getMe", "delay", delay=0.2)
    started = time.monotonic()
    assert (await bot.get_me()).is_bot
    assert time.monotonic() - started >= 0.2
    assert server.faults_served == [("sendMessage", "delay"), ("getMe", "delay")]


# --- a real PTB application ----------------------------------------------------------------------


async def test_ptb_application_polls_and_answers(server: BotAPIServer) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app: Application = (ApplicationBuilder().token(server.token).base_url(server.base_url)
                        .base_file_url(server.base_file_url).build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    alice = server.create_user("Alice")
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1, allowed_updates=Update.ALL_TYPES)
        server.send_text(alice, "hello")
        [reply] = await server.wait_for_messages(alice, 1, timeout=5)
        await app.updater.stop()
        await app.stop()
    assert reply["text"] == "echo: hello"
    assert server.pending_updates == []
