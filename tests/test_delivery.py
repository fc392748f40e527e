"""At-least-once delivery in pieces: the update ledger, and answering a redelivered update once.

The end-to-end proof (kill -9 mid-burst, restart) is in test_soak.py; these pin the parts down.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.channels.delivery import UpdateLedger
from bot.replies import Control, Incoming
from bot.runtime import open_runtime


def updates(*ids: int) -> list:
    return [SimpleNamespace(update_id=i) for i in ids]


def test_the_offset_is_held_back_to_the_oldest_unfinished_update():
    ledger = UpdateLedger()
    ledger.take_new(updates(1, 2, 3), None)
    ledger.finish(1)
    ledger.finish(3)
    assert ledger.confirmable(4) == 2  # 3 finished out of order, but 2 is still being handled
    ledger.finish(2)
    assert ledger.confirmable(4) == 4
    assert ledger.confirmable(None) is None


def test_updates_seen_before_are_not_handed_out_again():
    ledger = UpdateLedger()
    ledger.take_new(updates(1, 2, 3), None)
    ledger.finish(1)
    ledger.finish(3)
    fresh = ledger.take_new(updates(2, 3, 4), confirmed=2)  # Telegram resends 2 and 3 with the new 4
    assert [u.update_id for u in fresh] == [4]
    assert ledger.finished == {3} and ledger.unfinished == {2, 4}  # 1 was confirmed: forgotten


def test_an_update_released_before_its_handler_ends_is_confirmed_and_never_handed_out_again():
    """An answer waiting on the shop's system: its update is released once stored (delivery.py)."""
    ledger = UpdateLedger()
    ledger.take_new(updates(1, 2), None)
    ledger.finish(2)
    ledger.finish(1)  # released: the handler is still awaiting the call
    assert ledger.confirmable(3) == 3  # the next poll confirms it while the call is still out
    assert [u.update_id for u in ledger.take_new(updates(3), confirmed=3)] == [3]
    ledger.finish(1)  # the handler ends later: nothing changes
    assert ledger.unfinished == {3} and ledger.finished == set()


async def test_settle_returns_when_the_updates_finish_or_at_the_timeout():
    ledger = UpdateLedger()
    ledger.take_new(updates(1, 2), None)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, ledger.finish, 1)
    loop.call_later(0.1, ledger.finish, 2)
    started = loop.time()
    await ledger.settle(3, timeout=5)
    assert loop.time() - started < 2 and ledger.confirmable(3) == 3
    ledger.take_new(updates(3), None)
    started = loop.time()
    await ledger.settle(4, timeout=0.2)  # 3 never finishes: give up, confirm what is done
    assert 0.15 < loop.time() - started < 2 and ledger.confirmable(4) == 3


@pytest.fixture
def runtime(trained_config):
    runtime = open_runtime(trained_config)
    yield runtime
    runtime.close()


def incoming(text: str, key: str) -> Incoming:
    return Incoming("telegram", "7", "7", text, "en", key)


def test_a_redelivered_update_gets_its_stored_answer_until_it_is_delivered(runtime):
    first = runtime.engine.handle(incoming("where is my order", "telegram:1"))
    assert runtime.engine.handle(incoming("where is my order", "telegram:1")) is None  # stored once
    again = runtime.engine.unanswered("telegram:1")  # the process died before sending it
    assert (again.text, again.buttons, again.message_id) == (first.text, first.buttons, first.message_id)
    assert [b.choice for b in again.buttons][-2:] == [Control.UP, Control.DOWN]
    runtime.engine.messages.mark_answered(first.message_id)
    assert runtime.engine.unanswered("telegram:1") is None  # delivered: a redelivery is a duplicate
    assert runtime.db["messages"].count == 2


def test_a_message_stored_without_its_answer_is_answered_on_redelivery(runtime):
    stored = runtime.engine.record(incoming("how much is shipping", "telegram:2"))  # killed right here
    reply = runtime.engine.unanswered("telegram:2")
    assert reply.message_id == stored.id and reply.intent == "shipping_cost"
    assert runtime.db.execute("SELECT COUNT(*) FROM messages WHERE reply_to = ?", [stored.id]).fetchone()[0] == 1
    assert runtime.engine.unanswered("telegram:unknown") is None
