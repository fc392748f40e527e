"""The demo shop over real HTTP on 127.0.0.1, called by the bot's real actions client; the starter
beside `supportbot run` as a real child process on a free port. Refusals first."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.actions import ActionCall, ActionResult, ActionsClient, Outcome, sign
from bot.demo_shop_process import SECRET_VARIABLE, beside
from demo_shop.app import make_app
from demo_shop.catalogue import open_catalogue
from demo_shop.wording import WORDS
from tests.conftest import ROOT, free_port, write_config
from training.config import ActionsSettings, load_config

SECRET = "demo-shop-test-secret"
ACTIONS = ("order_status", "delivery_delayed", "refund_status", "product_availability", "recent_orders")
TODAY = date(2026, 12, 7)


@pytest.fixture
async def shop_url(tmp_path: Path) -> AsyncIterator[str]:
    """The demo shop's app on a free port, its database seeded as of TODAY."""
    db = open_catalogue(tmp_path / "shop.db", TODAY)
    runner = web.AppRunner(make_app(db, SECRET.encode()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()
    db.close()


async def ask(url: str, action: str, slots: dict[str, str], language: str = "en", secret: str = SECRET,
              account: str | None = None) -> ActionResult:
    endpoints = {name: f"{url}/actions/{name}" for name in ACTIONS}
    client = ActionsClient(ActionsSettings(endpoints=endpoints, retries=0), secret)
    try:
        return await client.call(ActionCall(action, action, slots, language, "c-1", idempotent=True, account=account))
    finally:
        await client.aclose()


async def post_signed(url: str, timestamp: int, secret: bytes = SECRET.encode()) -> httpx.Response:
    body = json.dumps({"intent": "order_status", "slots": {"order_id": "10023", "verifier": "94218"},
                       "language": "en", "customer": "c-1"}).encode()
    headers = {"X-Supportbot-Timestamp": str(timestamp), "X-Supportbot-Signature": sign(secret, timestamp, body)}
    async with httpx.AsyncClient() as http:
        return await http.post(f"{url}/actions/order_status", content=body, headers=headers)


# --- refused ---------------------------------------------------------------------------------------

async def test_the_demo_shop_refuses_an_action_signed_with_another_secret(shop_url):
    result = await ask(shop_url, "order_status", {"order_id": "10023", "verifier": "94218"}, secret="not-the-shops")
    assert result.outcome is Outcome.FAILED and result.reason.startswith("endpoint order_status: HTTP 401")
    response = await post_signed(shop_url, int(time.time()), b"not-the-shops")
    assert (response.status_code, response.json()) == (401, {"error": "bad signature"})


@pytest.mark.parametrize("age", [302, -302, 86400])  # past the 300 s window, by more than the request takes
async def test_the_demo_shop_refuses_a_correctly_signed_action_with_a_stale_timestamp(shop_url, age):
    response = await post_signed(shop_url, int(time.time()) - age)
    assert (response.status_code, response.json()) == (401, {"error": "stale timestamp"})


@pytest.mark.parametrize("headers", [{}, {"X-Supportbot-Timestamp": "soon", "X-Supportbot-Signature": "sha256=00"}])
async def test_the_demo_shop_refuses_an_unsigned_action(shop_url, headers):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{shop_url}/actions/order_status", content=b"{}", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("slots", [
    {"order_id": "10023", "verifier": "vera@example.com"},  # another buyer's e-mail
    {"order_id": "10023", "verifier": "94219"},  # a postcode one off
    {"order_id": "10023"},  # no verifier at all
    {"order_id": "99999", "verifier": "wei.zhang@example.org"},  # no such order
])
async def test_the_demo_shop_tells_an_unverified_action_nothing_about_the_order(shop_url, slots):
    for action in ("order_status", "delivery_delayed", "refund_status"):
        result = await ask(shop_url, action, slots)
        assert result == ActionResult(Outcome.NOT_FOUND, text=WORDS["en"]["no_order"]), action


async def test_the_demo_shop_tells_a_linked_account_nothing_about_someone_elses_order(shop_url):
    for action in ("order_status", "delivery_delayed", "refund_status"):
        result = await ask(shop_url, action, {"order_id": "10023"}, account="vera")
        assert result == ActionResult(Outcome.NOT_FOUND, text=WORDS["en"]["no_order"]), action
    assert (await ask(shop_url, "recent_orders", {})).outcome is Outcome.NOT_FOUND  # no account: no list
    assert (await ask(shop_url, "recent_orders", {}, account="nobody")).outcome is Outcome.NOT_FOUND


# --- answered ------------------------------------------------------------------------------------

async def test_the_demo_shop_answers_a_linked_account_about_its_own_order_without_proof(shop_url):
    result = await ask(shop_url, "order_status", {"order_id": "10023"}, account="weizhang")
    assert result.outcome is Outcome.OK and result.fields["order_id"] == "10023"


async def test_the_demo_shop_lists_a_linked_accounts_recent_orders_as_choices(shop_url):
    result = await ask(shop_url, "recent_orders", {}, account="weizhang", language="zh")
    assert result.outcome is Outcome.OK and [c.value for c in result.choices] == ["10023"]
    assert result.choices[0].label.startswith("10023 · 运输中 · €")


async def test_the_demo_shop_answers_order_status_to_the_buyers_email_in_any_case(shop_url):
    result = await ask(shop_url, "order_status", {"order_id": "10023", "verifier": " Wei.Zhang@Example.ORG "})
    assert result == ActionResult(Outcome.OK, fields={
        "order_id": "10023", "status": "on its way", "shipped_on": (TODAY - timedelta(days=2)).isoformat(),
        "carrier": "SF Express", "tracking_url": "https://track.example.com/RR123457514CN",
        "expected_on": (TODAY + timedelta(days=2)).isoformat(),
    })


async def test_the_demo_shop_answers_an_action_verified_by_postcode_in_chinese(shop_url):
    result = await ask(shop_url, "order_status", {"order_id": "10002", "verifier": "17919"}, language="zh")
    assert result.outcome is Outcome.OK
    assert (result.fields["status"], result.fields["shipped_on"], result.fields["carrier"], result.fields["tracking_url"]) == \
        ("备货中", "", "", "")
    unverified = await ask(shop_url, "order_status", {"order_id": "10002", "verifier": "17918"}, language="zh")
    assert unverified == ActionResult(Outcome.NOT_FOUND, text=WORDS["zh"]["no_order"])


async def test_the_demo_shop_hands_a_lost_parcel_to_a_person_and_explains_a_delay(shop_url):
    lost = await ask(shop_url, "delivery_delayed", {"order_id": "10008", "verifier": "hiro@example.org"})
    assert lost.outcome is Outcome.HANDOFF and "10008" in (lost.text or "") and "lost" in (lost.text or "")
    delayed = await ask(shop_url, "delivery_delayed", {"order_id": "10004", "verifier": "33757"}, language="zh")
    assert delayed == ActionResult(Outcome.OK, fields={"order_id": "10004", "status": "已延误",
                                                        "expected_on": (TODAY + timedelta(days=3)).isoformat(), "reason": "海关查验中"})


async def test_the_demo_shop_action_refund_status(shop_url):
    refunded = await ask(shop_url, "refund_status", {"order_id": "10007", "verifier": "grace@example.com"})
    assert refunded == ActionResult(Outcome.OK, fields={"order_id": "10007", "refund_status": "refunded", "amount": "€64.00",
                                                         "refunded_on": (TODAY - timedelta(days=2)).isoformat()})
    none = await ask(shop_url, "refund_status", {"order_id": "10023", "verifier": "94218"})
    assert none == ActionResult(Outcome.NOT_FOUND, text="There is no refund request for order 10023.")


@pytest.mark.parametrize("product, language, text", [
    ("blue ceramic mug", "en", "Yes, the Blue ceramic mug is in stock (12 left)."),
    ("MUG-BLUE", "zh", "蓝色陶瓷杯有货（剩余 12 件）。"),
    ("有没有绿茶", "zh", f"绿茶（100克）暂时缺货，预计 {(TODAY + timedelta(days=7)).isoformat()} 到货。"),
    ("do you have green tea?", "en", f"The Green tea (100 g) is sold out at the moment; we expect it back on {TODAY + timedelta(days=7)}."),
])
async def test_the_demo_shop_action_product_availability_in_both_languages(shop_url, product, language, text):
    assert await ask(shop_url, "product_availability", {"product": product}, language) == ActionResult(Outcome.OK, text=text)


async def test_the_demo_shop_action_product_availability_of_something_it_does_not_sell(shop_url):
    result = await ask(shop_url, "product_availability", {"product": "a pony"}, "zh")
    assert result == ActionResult(Outcome.NOT_FOUND, text=WORDS["zh"]["no_product"])


# --- beside `supportbot run` -----------------------------------------------------------------------

def demo_config(tmp_path: Path, port: int):
    return load_config(write_config(tmp_path, f'[demo_shop]\nstart = true\nport = {port}\n'))


def health(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1, trust_env=False).status_code
    except httpx.TransportError:
        return None


@pytest.mark.slow
def test_the_demo_shop_starts_beside_the_bot_with_a_one_run_secret_and_stops_with_it(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    caplog.set_level(logging.INFO)
    port = free_port()
    config = demo_config(tmp_path, port)
    with beside(config):
        assert health(port) == 200
        secret = os.environ[SECRET_VARIABLE]
        endpoints = {"order_status": f"http://127.0.0.1:{port}/actions/order_status"}
        client = ActionsClient(ActionsSettings(endpoints=endpoints), secret)
        result = asyncio.run(client.call(ActionCall("order_status", "order_status", {"order_id": "10001", "verifier": "10000"},
                                                    "en", "c-1", idempotent=True)))
        assert result.outcome is Outcome.OK and result.fields["order_id"] == "10001"
    assert SECRET_VARIABLE not in os.environ and health(port) is None
    assert config.demo_shop_db.exists()
    messages = [r.getMessage() for r in caplog.records]
    assert "demo shop: generated a one-run actions secret" in messages
    assert not [m for m in messages if secret in m]


@pytest.mark.slow
def test_the_demo_shop_stops_when_the_bot_fails_and_a_busy_port_does_not_stop_the_bot(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    port = free_port()
    with pytest.raises(RuntimeError), beside(demo_config(tmp_path, port)):
        assert health(port) == 200
        raise RuntimeError("the bot failed")
    assert health(port) is None and os.environ[SECRET_VARIABLE] == SECRET
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with beside(demo_config(tmp_path, port)):
            pass
    assert any("demo shop: exited at start" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_the_demo_shop_stops_by_itself_when_the_bot_is_killed(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    port = free_port()
    path = write_config(tmp_path, f"[demo_shop]\nstart = true\nport = {port}\n")
    script = ("import os, signal\nfrom bot.demo_shop_process import beside\nfrom training.config import load_config\n"
              "from tests.test_demo_shop import health\n"
              f"with beside(load_config({str(path)!r})):\n"
              f"    print(health({port}), flush=True)\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    bot = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60, capture_output=True, text=True)
    assert (bot.returncode, bot.stdout) == (-9, "200\n")  # the demo shop was up when the bot died
    deadline = time.monotonic() + 10
    while health(port) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert health(port) is None  # no orphan keeps the port with a secret nobody has any more


def test_without_demo_shop_start_nothing_is_started_and_no_secret_made(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    port = free_port()
    config = load_config(write_config(tmp_path, f"[demo_shop]\nport = {port}\n"))
    with beside(config):
        assert health(port) is None and SECRET_VARIABLE not in os.environ
