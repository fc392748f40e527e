"""Admins label what customers marked 👎: the review queue, a label, a skip."""

from __future__ import annotations

from dataclasses import dataclass

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.labels import LabelSource
from storage.messages import StoredMessage
from training.domain import OUT_OF_SCOPE


@dataclass(frozen=True)
class ReviewItem:
    message: StoredMessage
    guess: str | None  # the intent the model answered with
    choices: tuple[str, ...]  # every intent, out-of-scope last
    waiting: int  # messages in the queue, this one included


def _item_id(item: ReviewItem | None, *_arguments: object) -> str:
    return "queue empty" if item is None else f"message {item.message.id}"


@audited(AuditAction.REVIEW, detail=_item_id)
def next_for_review(runtime: Runtime, actor: Actor) -> ReviewItem | None:
    """The oldest message waiting for review, with what the model said of it; None when empty."""
    queue = runtime.review.oldest(limit=1)
    if not queue:
        return None
    prediction = runtime.engine.messages.prediction(queue[0].id)
    names = [n for n in runtime.domain.names if n != OUT_OF_SCOPE] + [OUT_OF_SCOPE]
    return ReviewItem(queue[0], prediction["intent"] if prediction else None, tuple(names), runtime.review.size())


@audited(AuditAction.REVIEW_LABEL)
def label(runtime: Runtime, actor: Actor, message_id: int, intent: str) -> str:
    """Store the admin's intent for a message; KeyError for a message that no longer exists,
    ValueError for an intent the domain does not have."""
    if intent not in runtime.domain.intents:
        raise ValueError(f"unknown intent {intent!r}")
    runtime.engine.labels.add(message_id, intent, LabelSource.ADMIN, actor.name)
    return f"{message_id}:{intent}"


@audited(AuditAction.REVIEW_SKIP)
def skip(runtime: Runtime, actor: Actor, message_id: int) -> str:
    """Take a message off the queue without labelling it."""
    runtime.review.skip(message_id, actor.name)
    return str(message_id)
