"""The actions client against real HTTP endpoints on 127.0.0.1 (aiohttp), unhappy paths first.

Every endpoint here is a real server on a real port; the client's httpx pool talks to it as it
would to a shop. Timing assertions leave wide margins for a loaded two-core machine.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import time

import pytest
from aiohttp import web

from bot.actions import NO_SECRET, ActionCall, ActionResult, ActionsClient, Circuit, Outcome, render
from tests.actions_server import answering, serving, signature_of
from tests.conftest import free_port
from training.config import ActionsSettings

SECRET = "test-secret-5f1b2c9e0d7a"
EMAIL = "alice.buyer@example.com"


def settings(url: str, **override: float) -> ActionsSettings:
    values = {"connect_timeout": 0.5, "deadline": 2.0, "retries": 2, "backoff": 0.01, "breaker_failures": 3,
              "breaker_seconds": 60.0, "max_response_bytes": 16384} | override
    return ActionsSettings(endpoints={"shop": url}, **values)


def order_call(idempotent: bool = True, endpoint: str = "shop") -> ActionCall:
    return ActionCall(intent="order_status", endpoint=endpoint, slots={"order_id": "10023", "verifier": EMAIL},
                      language="en", customer="c-7f3a", idempotent=idempotent)


async def call_once(url: str, secret: str | None = SECRET, call: ActionCall | None = None, **override: float) -> ActionResult:
    client = ActionsClient(settings(url, **override), secret)
    try:
        return await client.call(call or order_call())
    finally:
        await client.aclose()


class Counting:
    """A handler that answers from a script, one entry per request, and counts the requests."""

    def __init__(self, *script: tuple[int, object]) -> None:
        self.script, self.hits = list(script), 0

    async def __call__(self, _request: web.Request) -> web.Response:
        status, payload = self.script[min(self.hits, len(self.script) - 1)]
        self.hits += 1
        return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


# --- refused before any request ------------------------------------------------------------------

async def test_action_without_a_secret_fails_and_sends_nothing_said_once_at_start(caplog):
    shop = Counting((200, {"outcome": "ok", "text": "hi"}))
    async with serving(shop) as url:
        client = ActionsClient(settings(url), None)
        results = [await client.call(order_call()) for _ in range(3)]
        await client.aclose()
    assert results == [ActionResult(Outcome.FAILED, reason=NO_SECRET)] * 3 and shop.hits == 0
    assert [r.getMessage() for r in caplog.records if NO_SECRET in r.getMessage()] == \
        [f"actions: {NO_SECRET}: every action answers with its intent's static text"]


async def test_action_with_an_unknown_endpoint_fails():
    async with serving(answering({"outcome": "ok", "text": "hi"})) as url:
        result = await call_once(url, call=order_call(endpoint="warehouse"))
    assert result.outcome is Outcome.FAILED and "unknown endpoint 'warehouse'" in result.reason


# --- the endpoint fails ----------------------------------------------------------------------------

async def test_a_slow_action_endpoint_fails_at_the_deadline_not_when_it_answers():
    release = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await release.wait()  # until the test is done: answering late would change nothing
        return web.json_response({"outcome": "ok", "text": "late"})

    async with serving(slow) as url:
        started = time.monotonic()
        result = await call_once(url, deadline=0.5)
        elapsed = time.monotonic() - started
        release.set()
    assert result.outcome is Outcome.FAILED and "deadline" in result.reason
    assert 0.45 < elapsed < 2.0


async def test_an_action_500_is_not_retried_when_the_action_is_not_idempotent():
    shop = Counting((500, {}), (200, {"outcome": "ok", "text": "done"}))
    async with serving(shop) as url:
        result = await call_once(url, call=order_call(idempotent=False))
    assert result.outcome is Outcome.FAILED and result.reason == "endpoint shop: HTTP 500" and shop.hits == 1


async def test_an_idempotent_action_gives_up_after_its_retries():
    shop = Counting((503, {}))
    async with serving(shop) as url:
        result = await call_once(url, retries=2)
    assert result.reason == "endpoint shop: HTTP 503 after 3 attempts" and shop.hits == 3


@pytest.mark.parametrize("status", [401, 404, 302])
async def test_an_action_answered_with_a_client_error_fails_at_once(status):
    shop = Counting((status, {"outcome": "ok", "text": "x"}))
    async with serving(shop) as url:
        result = await call_once(url)
    assert result.outcome is Outcome.FAILED and result.reason.startswith(f"endpoint shop: HTTP {status}") and shop.hits == 1


@pytest.mark.parametrize("body, broken", [
    (b"<html>oops</html>", "not UTF-8 JSON"),
    (b"\xff\xfe{}", "not UTF-8 JSON"),
    (b'["ok"]', "not a JSON object"),
    (b'{"outcome": "okay", "text": "x"}', "outcome must be ok, not_found or handoff (got a string)"),
    (b'{"outcome": "failed"}', "outcome must be ok, not_found or handoff (got 'failed')"),
    (b'{"outcome": "ok"}', "ok needs either fields, text or choices"),
    (b'{"outcome": "ok", "fields": {"a": "1"}, "text": "x"}', "ok needs either fields, text or choices"),
    (b'{"outcome": "ok", "choices": [], "text": "x"}', "choices come alone"),
    (b'{"outcome": "ok", "choices": {"value": "1"}}', "choices must be an array (got an object)"),
    (b'{"outcome": "ok", "choices": [{"value": "1"}]}', "a choice is an object with exactly value and label"),
    (b'{"outcome": "ok", "choices": [{"value": "1 2", "label": "x"}]}', "a choice's value is 1 to 32 letters"),
    (b'{"outcome": "ok", "choices": [{"value": "1", "label": " "}]}', "a choice's label is a non-empty string"),
    (b'{"outcome": "ok", "choices": [' + b", ".join([b'{"value": "1", "label": "x"}'] * 6) + b"]}",
     "6 choices, at most 5"),
    (b'{"outcome": "not_found", "choices": []}', "not_found carries no fields or choices"),
    (b'{"outcome": "ok", "fields": ["a"]}', "fields must be an object (got an array)"),
    (b'{"outcome": "ok", "fields": {"paid": true}}', "field paid must be a string or a number (got a boolean)"),
    (b'{"outcome": "ok", "fields": {"when": null}}', "field when must be a string or a number (got null)"),
    (b'{"outcome": "ok", "fields": {"amount": NaN}}', "NaN is not JSON"),
    (b'{"outcome": "ok", "fields": {"order id": "1"}}', "a field name is no identifier"),
    (b'{"outcome": "ok", "text": 42}', "text must be a non-empty string (got a number)"),
    (b'{"outcome": "ok", "text": "  "}', "text must be a non-empty string (got a string)"),
    (b'{"outcome": "not_found", "fields": {"a": "1"}}', "not_found carries no fields or choices"),
    (b'{"outcome": "ok", "text": "x", "debug": "y"}', "unknown key(s) 'debug'"),
])
async def test_a_malformed_action_response_fails_naming_the_broken_rule(body, broken):
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async with serving(handler) as url:
        result = await call_once(url)
    assert result.outcome is Outcome.FAILED and result.reason.startswith(f"endpoint shop: invalid response: {broken}")


@pytest.mark.parametrize("fields, broken", [
    ({"note": "x" * 501}, "field note is over 500 characters"),
    ({f"f{i}": "1" for i in range(51)}, "51 fields, at most 50"),
])
async def test_an_action_response_over_the_field_limits_fails(fields, broken):
    async with serving(answering({"outcome": "ok", "fields": fields})) as url:
        result = await call_once(url)
    assert result.reason == f"endpoint shop: invalid response: {broken}"


async def test_an_oversized_action_response_is_refused_while_streaming_without_waiting_for_the_rest():
    release = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})  # chunked: no length to trust
        await response.prepare(request)
        await response.write(b'{"outcome": "ok", "text": "' + b"x" * 2000)
        await release.wait()  # the rest would come much later
        return response

    async with serving(endless) as url:
        started = time.monotonic()
        result = await call_once(url, max_response_bytes=1024, deadline=5.0)
        elapsed = time.monotonic() - started
        release.set()
    assert result == ActionResult(Outcome.FAILED, reason="endpoint shop: response over 1024 bytes") and elapsed < 2.0


async def test_an_action_response_one_byte_over_the_limit_fails_whatever_its_content_length():
    async def lying(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 10
        await response.prepare(request)
        await response.write(b"x" * 10)
        return response

    async with serving(lying) as url:
        result = await call_once(url, max_response_bytes=9)
    assert result.outcome is Outcome.FAILED and result.reason == "endpoint shop: response over 9 bytes"


async def test_an_action_endpoint_that_is_down_opens_its_circuit_then_half_opens_and_closes(caplog):
    port = free_port()
    url = f"http://127.0.0.1:{port}/action"
    client = ActionsClient(settings(url, retries=0, breaker_failures=3, breaker_seconds=0.5), SECRET)
    try:
        for _ in range(3):
            assert (await client.call(order_call())).reason == "endpoint shop: ConnectError"
        state = client.breakers()["shop"]
        assert state.circuit is Circuit.OPEN and state.failures == 3 and state.open_until is not None
        async with serving(answering({"outcome": "ok", "text": "back"}), port=port):
            skipped = await client.call(order_call())
            assert skipped.reason == "endpoint shop: circuit open"
            await asyncio.sleep(0.6)
            trial = await client.call(order_call())
        assert trial == ActionResult(Outcome.OK, text="back")
        assert client.breakers()["shop"].circuit is Circuit.CLOSED and client.breakers()["shop"].failures == 0
    finally:
        await client.aclose()
    opened = [r for r in caplog.records if "calls are skipped" in r.getMessage()]
    assert len(opened) == 1 and "endpoint shop failed 3 times in a row" in opened[0].getMessage()


async def test_a_failed_half_open_action_trial_reopens_the_circuit():
    url = f"http://127.0.0.1:{free_port()}/action"
    client = ActionsClient(settings(url, retries=0, breaker_failures=1, breaker_seconds=0.2), SECRET)
    try:
        await client.call(order_call())
        await asyncio.sleep(0.25)
        assert (await client.call(order_call())).reason == "endpoint shop: ConnectError"  # the trial
        assert client.breakers()["shop"].circuit is Circuit.OPEN
        assert (await client.call(order_call())).reason == "endpoint shop: circuit open"
    finally:
        await client.aclose()


# --- the endpoint answers --------------------------------------------------------------------------

async def test_an_idempotent_action_is_retried_after_a_500_and_succeeds():
    shop = Counting((500, {}), (200, {"outcome": "ok", "fields": {"status": "shipped", "parcels": 2}}))
    async with serving(shop) as url:
        result = await call_once(url)
    assert result == ActionResult(Outcome.OK, fields={"status": "shipped", "parcels": "2"}) and shop.hits == 2


async def test_an_action_request_is_signed_and_the_signature_verifies_at_the_receiver():
    seen: dict[str, object] = {}

    async def verifying(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers["X-Supportbot-Timestamp"]
        seen.update(body=json.loads(body), skew=abs(time.time() - int(stamp)),
                    valid=request.headers["X-Supportbot-Signature"] == signature_of(SECRET.encode(), stamp, body),
                    wrong_secret=request.headers["X-Supportbot-Signature"] == signature_of(b"other", stamp, body))
        return web.json_response({"outcome": "ok", "fields": {"order_id": "10023", "status": "shipped"}})

    async with serving(verifying) as url:
        result = await call_once(url, call=ActionCall("order_status", "shop", {"order_id": "10023", "verifier": "王@例子.中国"},
                                                       "zh", "c-7f3a", idempotent=True))
    assert seen["valid"] is True and seen["wrong_secret"] is False and seen["skew"] <= 2
    assert seen["body"] == {"intent": "order_status", "slots": {"order_id": "10023", "verifier": "王@例子.中国"},
                            "language": "zh", "customer": "c-7f3a"}
    assert result == ActionResult(Outcome.OK, fields={"order_id": "10023", "status": "shipped"})


@pytest.mark.parametrize("payload, expected", [
    ({"outcome": "ok", "text": "Order 10023 left on 3 Dec."}, ActionResult(Outcome.OK, text="Order 10023 left on 3 Dec.")),
    ({"outcome": "not_found", "text": "No such order."}, ActionResult(Outcome.NOT_FOUND, text="No such order.")),
    ({"outcome": "not_found"}, ActionResult(Outcome.NOT_FOUND)),
    ({"outcome": "handoff", "text": "Your parcel is lost."}, ActionResult(Outcome.HANDOFF, text="Your parcel is lost.")),
    ({"outcome": "handoff"}, ActionResult(Outcome.HANDOFF)),
])
async def test_action_outcomes_ready_text_not_found_and_handoff_keep_the_shops_wording(payload, expected):
    async with serving(answering(payload)) as url:
        assert await call_once(url) == expected


async def test_action_fields_with_html_characters_are_rendered_literally_and_escaped_once_for_telegram():
    payload = {"outcome": "ok", "fields": {"carrier": "<b>R&amp;R</b>", "note": "{shop}"}}
    async with serving(answering(payload)) as url:
        result = await call_once(url)
    text = render("{shop}: order {order_id} goes with {carrier} ({note})", result, {"order_id": "10023"}, {"shop": "Acme & Co"})
    assert text == "Acme & Co: order 10023 goes with <b>R&amp;R</b> ({shop})"
    # the Telegram channel sends with parse_mode HTML after html.escape(text, quote=False) of the whole text
    assert html.escape(text, quote=False) == "Acme &amp; Co: order 10023 goes with &lt;b&gt;R&amp;amp;R&lt;/b&gt; ({shop})"


@pytest.mark.parametrize("template", ["Shipped on {shipped_on}.", "{order_id.__class__}", "{order_id[0]}", "{order_id!r}",
                                      "{order_id:>40}", "{}", "a { b"])
def test_an_action_template_naming_a_missing_or_computed_field_renders_none(template):
    assert render(template, ActionResult(Outcome.OK, fields={"status": "x"}), {"order_id": "1"}, {}) is None


def test_an_action_template_prefers_the_shops_fields_to_the_slots_and_to_shop_settings():
    result = ActionResult(Outcome.OK, fields={"order_id": "10023", "status": "shipped"})
    assert render("{shop} {order_id} {status} {{x}}", result, {"order_id": " 10023 "}, {"shop": "Acme", "status": "?"}) == \
        "Acme 10023 shipped {x}"


async def test_the_action_secret_and_slot_values_never_reach_logs_or_reasons(caplog):
    caplog.set_level(logging.DEBUG)
    shops = [answering({}, status=401), answering({"outcome": "ok", "fields": {"x": True}}), Counting((500, {})),
             answering({"outcome": "ok", "text": "fine"})]
    reasons = []
    for handler in shops:
        async with serving(handler) as url:
            reasons.append((await call_once(url)).reason)
    reasons.append((await call_once(f"http://127.0.0.1:{free_port()}/action")).reason)
    assert any(reasons) and all(SECRET not in r and EMAIL not in r for r in reasons)
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("failed" in line for line in logged)
    assert not [line for line in logged if SECRET in line or EMAIL in line]


def test_one_action_client_serves_every_call_of_an_asyncio_runner_over_one_pooled_connection():
    peers = []

    async def peer(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"outcome": "ok", "text": "hi"})

    with asyncio.Runner() as runner:
        app = web.Application()
        app.router.add_post("/action", peer)
        server = web.AppRunner(app, access_log=None)
        runner.run(server.setup())
        runner.run(web.TCPSite(server, "127.0.0.1", 0).start())
        client = ActionsClient(settings(f"http://127.0.0.1:{server.addresses[0][1]}/action"), SECRET)
        results = [runner.run(client.call(order_call())) for _ in range(3)]
        runner.run(client.aclose())
        runner.run(server.cleanup())
    assert [r.outcome for r in results] == [Outcome.OK] * 3
    assert len(set(peers)) == 1  # the same connection: the client was made once, inside the runner's loop
