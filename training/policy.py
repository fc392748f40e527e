"""Turn a prediction into what the bot does: answer, ask "did you mean", fall back, or hand over.

It lives in `training` because the gold metrics judge what the bot does with a message (see
`training.evaluate.as_answered`), not the model's bare top intent: one rule for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from training.config import PolicySettings
from training.domain import OUT_OF_SCOPE

HANDOFF_INTENT = "contact_human"


class Action(StrEnum):
    """What the bot did with a message; stored in `predictions.action`.

    `decide` yields the first four; the engine adds the rest (a message with nothing to classify,
    a 👍 thanked, a button press refused, a language the bot does not speak, no model to answer, a message
    relayed to a person, a question asked for an action, or one the customer cancelled).
    """

    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    EMPTY = "empty"
    FEEDBACK = "feedback"
    REFUSED = "refused"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"
    RELAY = "relay"  # a person holds the conversation: copied to them, not answered by the model
    ASK = "ask"  # the intent's action needs something the message did not say: the bot asked for it
    CANCELLED = "cancelled"  # the customer ended the bot's question ("never mind", /cancel)


@dataclass(frozen=True)
class Decision:
    action: Action
    intent: str
    confidence: float
    suggestions: tuple[str, ...] = ()


def suggestions_from(topk: list[tuple[str, float]], p: PolicySettings, exclude: str | None = None) -> tuple[str, ...]:
    """In-scope intents worth offering as buttons, most likely first.

    Never the handoff intent: every suggestion list comes with its own "talk to a person" button
    (the engine adds it), so offering contact_human too showed that choice twice.
    """
    return tuple(
        intent for intent, prob in topk
        if intent not in (OUT_OF_SCOPE, HANDOFF_INTENT, exclude) and prob >= p.min_suggestion
    )[: p.max_suggestions]


def decide(topk: list[tuple[str, float]], p: PolicySettings) -> Decision:
    """Answer when confident; between [policy] suggest and confident offer the likely intents;
    otherwise fall back.

    Out of scope on top is never a reason to suggest: the model's best guess is that the message
    is about none of our topics, so the lower-ranked intents are unrelated and the bot falls back.
    A handoff intent on top (worth a button) still suggests, even with no other intent worth one:
    the person button that comes with every suggestion list is its choice.
    """
    intent, confidence = topk[0]
    if confidence >= p.confident:
        action = {OUT_OF_SCOPE: Action.FALLBACK, HANDOFF_INTENT: Action.HANDOFF}.get(intent, Action.ANSWER)
        return Decision(action, intent, confidence)
    suggestions = suggestions_from(topk, p)
    worth_buttons = bool(suggestions) or (intent == HANDOFF_INTENT and confidence >= p.min_suggestion)
    if confidence >= p.suggest and intent != OUT_OF_SCOPE and worth_buttons:
        return Decision(Action.SUGGEST, intent, confidence, suggestions)
    return Decision(Action.FALLBACK, intent, confidence)


def answered_intent(decision: Decision) -> str:
    """The intent whose answer the customer gets (a suggestion counts as its top intent)."""
    return OUT_OF_SCOPE if decision.action == Action.FALLBACK else decision.intent
