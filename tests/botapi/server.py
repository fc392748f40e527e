"""A small, faithful local Telegram Bot API server for end-to-end tests.

    async with BotAPIServer() as server:
        app = ApplicationBuilder().token(server.token).base_url(server.base_url)
              .base_file_url(server.base_file_url).build()
        alice = server.create_user("Alice")
        server.send_text(alice, "/start")
        [reply] = await server.wait_for_messages(alice, 1)

The HTTP side speaks the Bot API wire format (envelopes, status codes, Unix-second dates,
long polling, webhooks, Telegram's error texts); the Python side plays customers (see
Customers), reads what the bot did, and injects faults. Everything runs in the test's loop.

Groups have members with Telegram's statuses and rights (getChatMember); a group the bot left
or was kicked from answers 403 to every call about it. Forums (create_group(..., forum=True))
have topics: the forum topic methods, message_thread_id on sending and copying, and messages in
a topic that reply to its first message unless they reply to another (see forum.py).

Deliberate differences from Telegram, for local tests: webhooks may be plain http on any port;
webhook delivery is sequential and gives up after the configured retries; getUpdates accepts a
fractional timeout; there are no flood limits unless injected; inline messages and photo URLs
are not supported (MESSAGE_ID_INVALID, "failed to get HTTP URL content"); a group's default
permissions are not modelled (only admins with can_manage_topics create topics through the API,
any member by hand), nor the General topic's own methods; a stranger's first message in a plain
group makes them a member, while a forum needs add_member first.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from . import forum_methods  # noqa: F401 - registers the forum topic methods beside methods.py's
from .customers import ChatRef, Customers, chat_id_of
from .errors import ApiError, not_found, ok, server_error, unauthorized
from .faults import Fault, FaultPlan, fault_kind
from .forum import in_topic
from .methods import ApiMethod, Described, commands_key, lookup
from .model import Call, CallbackAnswer, ChatAction, ServedFault, User, WebhookDelivery
from .params import Params, read_params
from .store import State
from .webhook import WebhookDeliverer

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TOKEN = "123456789:AAHtestTOKENforTHElocalBOTapiSERVER00"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class BotAPIServer(Customers):
    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = "supportbot_test_bot",
                 first_name: str = "Support Bot", privacy_mode: bool = True, host: str = "127.0.0.1",
                 webhook_retry_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
                 webhook_timeout: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        """The bot's id is the number before the token's colon, as on Telegram."""
        if not _TOKEN_SHAPE.match(token):
            raise ValueError("a bot token looks like 123456:ABC-def")
        self.token = token
        self.host = host
        bot = User(int(token.split(":")[0]), first_name, username=username, is_bot=True)
        self.state = State(bot, privacy_mode, clock)
        self.calls: list[Call] = []
        self.faults_served: list[ServedFault] = []
        self._faults = FaultPlan()
        self._webhook = WebhookDeliverer(self.state, webhook_retry_delays, webhook_timeout)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> BotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on an ephemeral port of `host`."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self._port = sock.getsockname()[1]
        self.state.closing = False
        await self._webhook.start()

    async def stop(self) -> None:
        """Pending long polls return [] at once; webhook delivery stops."""
        self.state.closing = True
        self.state.notify()
        await self._webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(): PTB requests {base_url}{token}/{method}."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def api_url(self, method: str, token: str | None = None) -> str:
        return f"{self.base_url}{token or self.token}/{method}"

    @property
    def bot(self) -> User:
        return self.state.bot

    # --- HTTP ----------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token_error = self._check_token(request.match_info["token"])
        if token_error is not None:
            return _respond(token_error.envelope())
        method = lookup(request.match_info["method"])
        if method is None:
            return _respond(not_found().envelope())
        call = Call(method.name, {}, self.state.clock())
        self.calls.append(call)
        try:
            params = await read_params(request)
        except ApiError as exc:
            return self._finish(call, exc.envelope())
        call.params = dict(params)
        self.state.notify()
        return await self._serve(request, method, params, call)

    async def _serve(self, request: web.Request, method: ApiMethod, params: Params, call: Call) -> web.StreamResponse:
        """Run the method unless a fault says otherwise; a faulted call changes nothing."""
        fault = self._faults.take(method.name)
        if fault is not None:
            call.fault = fault.kind
            self.faults_served.append(ServedFault(method.name, fault.kind))
            if fault.kind == "drop":
                return _drop(request)
            if (error := fault.error()) is not None:
                return self._finish(call, error.envelope())
            if not fault.apply_first:
                await asyncio.sleep(fault.delay)
        envelope = await self._invoke(method, params)
        if fault is not None and fault.apply_first:
            await asyncio.sleep(fault.delay)
        return self._finish(call, envelope)

    async def _invoke(self, method: ApiMethod, params: Params) -> dict[str, Any]:
        try:
            result = method.handler(self.state, params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            return exc.envelope()
        except Exception:  # noqa: BLE001 - a server bug answers 500 instead of killing the test
            log.exception("%s failed", method.name)
            return server_error(500).envelope()
        if isinstance(result, Described):
            return {**ok(result.result), "description": result.description}
        return ok(result)

    def _finish(self, call: Call, envelope: dict[str, Any]) -> web.Response:
        call.response = envelope
        self.state.notify()
        return _respond(envelope)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token_error = self._check_token(request.match_info["token"])
        if token_error is not None:
            return _respond(token_error.envelope())
        path = request.match_info["path"]
        stored = next((f for f in self.state.files.values() if f.file_path == path), None)
        if stored is None:
            return _respond(not_found().envelope())
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return _respond(not_found().envelope())

    def _check_token(self, token: str) -> ApiError | None:
        """Telegram: 401 for a well-formed but wrong token, 404 for a malformed one."""
        if token == self.token:
            return None
        return unauthorized() if _TOKEN_SHAPE.match(token) else not_found()

    # --- fault injection -----------------------------------------------------------------------

    def inject(self, method: str, kind: str | int, count: int = 1, *, retry_after: int = 1, delay: float = 0.5,
               apply_first: bool = False) -> None:
        """The next `count` calls of `method` get the fault. kind: "429" (retry_after seconds),
        "500", "502", "drop" (connection closed, no response) or "delay" (`delay` seconds before
        answering; with apply_first the call takes effect first, as when Telegram sent the message
        but the answer was lost). Failed calls change nothing: a message is not recorded as sent."""
        if retry_after < 1:
            raise ValueError("retry_after must be at least 1 second (PTB ignores 0)")
        self._faults.add(method, Fault(fault_kind(kind), count, retry_after, delay, apply_first))

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- reading what the bot did --------------------------------------------------------------

    def sent_messages(self, chat: ChatRef | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (in sending order) as they are now: edits applied, deleted ones gone.
        The service messages its topic calls posted are in messages() and topic_messages()."""
        wanted = None if chat is None else chat_id_of(chat)
        found = []
        for chat_id, message_id in self.state.bot_messages:
            message = self.state.chats[chat_id].messages.get(message_id)
            if message is not None and wanted in (None, chat_id):
                found.append(json.loads(json.dumps(message)))
        return found

    def messages(self, chat: ChatRef) -> list[dict[str, Any]]:
        """Every message in a chat, both sides, by message_id."""
        log_ = self.state.chats[chat_id_of(chat)]
        return [json.loads(json.dumps(log_.messages[i])) for i in sorted(log_.messages)]

    def message(self, chat: ChatRef, message_id: int) -> dict[str, Any] | None:
        found = self.state.chats[chat_id_of(chat)].messages.get(message_id)
        return json.loads(json.dumps(found)) if found is not None else None

    def topics(self, chat: ChatRef) -> list[dict[str, Any]]:
        """The forum's topics now (deleted ones gone), oldest first: ForumTopic plus `closed`."""
        log_ = self.state.chats[chat_id_of(chat)]
        return [{**topic.as_json(), "closed": topic.closed} for _, topic in sorted(log_.topics.items())]

    def topic_messages(self, chat: ChatRef, thread_id: int) -> list[dict[str, Any]]:
        """Every message in one topic, its creation service message first."""
        return [m for m in self.messages(chat) if in_topic(m, thread_id)]

    def deleted_messages(self, chat: ChatRef) -> list[dict[str, Any]]:
        return json.loads(json.dumps(self.state.chats[chat_id_of(chat)].deleted))

    def reply_keyboard(self, chat: ChatRef) -> dict[str, Any] | None:
        """The reply keyboard the customer sees now (never part of a Message, as on Telegram)."""
        return self.state.chats[chat_id_of(chat)].reply_keyboard

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        return list(self.state.commands.get(commands_key(self.state, scope, language_code), []))

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return list(self.state.callback_answers)

    @property
    def chat_actions(self) -> list[ChatAction]:
        return list(self.state.chat_actions)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates created but not yet confirmed by the bot (or delivered to its webhook)."""
        return self.state.updates.pending()

    @property
    def filtered_updates(self) -> list[dict[str, Any]]:
        """Updates the bot never gets: privacy mode in groups, or not in allowed_updates."""
        return list(self.state.filtered_updates)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return list(self._webhook.deliveries)

    @property
    def dropped_webhook_updates(self) -> list[dict[str, Any]]:
        """Updates given up on after the last webhook retry."""
        return list(self._webhook.dropped)

    # --- waiting (never sleep blindly) ---------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """The first truthy value of `predicate`, re-checked on every server change."""
        value = await self.state.changed.until(predicate, timeout)
        if not value:
            raise TimeoutError(f"condition not met within {timeout}s; last calls: {self._recent_calls()}")
        return value

    async def wait_for_messages(self, chat: ChatRef, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """All the bot's messages in `chat` once there are at least `n`."""
        def enough() -> list[dict[str, Any]] | None:
            found = self.sent_messages(chat)
            return found if len(found) >= n else None
        return await self.wait_for(enough, timeout)

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        """The calls of `method` once `n` of them have been answered (or dropped)."""
        def answered() -> list[Call] | None:
            done = [c for c in self.calls_to(method) if c.response is not None or c.fault == "drop"]
            return done if len(done) >= n else None
        return await self.wait_for(answered, timeout)

    async def wait_for_callback_answers(self, n: int = 1, timeout: float = 5.0) -> list[CallbackAnswer]:
        return await self.wait_for(lambda: len(self.state.callback_answers) >= n and self.callback_answers, timeout)

    async def wait_until_confirmed(self, update: dict[str, Any], timeout: float = 5.0) -> None:
        """Until the bot has confirmed (or its webhook has taken) `update`."""
        update_id = update["update_id"]
        if update_id is None:
            raise ValueError("this update was never delivered to the bot (see filtered_updates)")
        await self.wait_for(lambda: all(u["update_id"] != update_id for u in self.state.updates.pending()), timeout)

    def _recent_calls(self) -> str:
        recent = self.calls[-5:]
        return ", ".join(f"{c.method}->{'dropped' if c.response is None else c.response.get('description', 'ok')}"
                         for c in recent) or "none"


def _respond(envelope: dict[str, Any]) -> web.Response:
    """Telegram's HTTP status is the envelope's error_code."""
    status = 200 if envelope.get("ok") else envelope["error_code"]
    return web.json_response(envelope, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _drop(request: web.Request) -> web.Response:
    """Close the connection without answering: the client sees a dropped connection."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()
