"""A customer's side: answer a message, press a button, be forgotten."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.account_link import LinkRefused
from bot.actions import ActionResult
from bot.replies import Incoming, Reply
from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.privacy import forget as erase
from training.policy import Action

RESEND_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Answered:
    reply: Reply | None  # None: a redelivered update that was already answered
    alert: str | None  # a storage failure admins must hear about, raised by this message


def answer(runtime: Runtime, incoming: Incoming) -> Answered:
    """A new update's answer, or a redelivered one's if it never reached the customer."""
    return _answered(runtime, incoming, runtime.engine.handle(incoming))


def ask_for_person(runtime: Runtime, incoming: Incoming) -> Answered:
    """/human: a person now (or the shop's contact where none can be reached)."""
    return _answered(runtime, incoming, runtime.engine.ask_for_person(incoming))


def cancel(runtime: Runtime, incoming: Incoming) -> Answered:
    """/cancel: the bot's open question dropped (or told there was none)."""
    return _answered(runtime, incoming, runtime.engine.cancel(incoming))


def acted(runtime: Runtime, reply: Reply, result: ActionResult, latency_ms: float) -> Reply:
    """The shop's system answered a reply's call (or failed): the reply to send, stored as sent."""
    return runtime.engine.fulfilment.complete(reply, result, latency_ms)


def interrupted(runtime: Runtime, channel: str) -> list[tuple[str, Reply]]:
    """At start: answers a crash left unsent although their updates were confirmed (an action's call).
    Only the last day's: Telegram keeps an unconfirmed update no longer, and neither do we."""
    since = (datetime.now(UTC) - RESEND_WITHIN).isoformat(timespec="milliseconds")
    return runtime.engine.interrupted(channel, since)


@audited(AuditAction.LINK_ACCOUNT, admin=False, detail=lambda linked, *_: f"refused: {linked[1]}" if linked[1] else "")
def link_account(runtime: Runtime, actor: Actor, channel: str, user: str, language: str, payload: str
                 ) -> tuple[str, LinkRefused | None]:
    """/start with a link from the shop: the customer's chat linked to their account there, or told why not.
    The audit row names the channel only (`actor`) and never the token."""
    user_id = runtime.engine.messages.user_id(channel, user, language)
    return runtime.engine.fulfilment.link(user_id, payload, language)


def _answered(runtime: Runtime, incoming: Incoming, reply: Reply | None) -> Answered:
    """None from the engine means a redelivered update: its stored answer, if that never went out."""
    if reply is None and incoming.external_key:
        reply = runtime.engine.unanswered(incoming.external_key)
    return Answered(reply, runtime.engine.pending.take_alert())


def relay_media(runtime: Runtime, incoming: Incoming) -> Reply | None:
    """A photo, file or voice message: relayed to the person holding the conversation; None otherwise."""
    return runtime.engine.relay_if_held(incoming)


def record_only(runtime: Runtime, incoming: Incoming) -> None:
    """Store a message without answering it (a flood beyond the per-user limit)."""
    runtime.engine.record(incoming)


def delivered(runtime: Runtime, message_id: int) -> None:
    """The channel delivered the answer to this message: a redelivery of its update is now a duplicate."""
    runtime.engine.messages.mark_answered(message_id)


def press(runtime: Runtime, message_id: int, channel: str, user: str, choice: str) -> Reply:
    """A button under one of the bot's replies (suggestion, 👍/👎, a person); refused unless it was
    offered to this customer for this message, and a refusal is audited (forged or replayed data)."""
    reply = runtime.engine.choose(message_id, channel, user, choice)
    if reply.action == Action.REFUSED:
        runtime.audit.record(f"{channel}:{user}", AuditAction.PRESS, f"message {message_id}: {choice}", allowed=False)
    return reply


@audited(AuditAction.FORGET, admin=False, detail=lambda counts, *_: json.dumps(counts))
def forget(runtime: Runtime, actor: Actor, channel: str, user: str) -> dict[str, int]:
    """Erase everything stored about one customer; the audit row names only the channel (`actor`)."""
    user_id = runtime.engine.messages.user_id_of(channel, user)
    if user_id is not None:
        runtime.engine.slots.drop(user_id)
    return erase(runtime.db, channel, user)
