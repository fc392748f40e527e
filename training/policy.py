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
    a 👍 thanked, a button press refused).
    """

    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    EMPTY = "empty"
    FEEDBACK = "feedback"
    REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    action: Action
    intent: str
    confidence: float
    suggestions: tuple[str, ...] = ()


def suggestions_from(topk: list[tuple[str, float]], p: PolicySettings, exclude: str | None = None) -> tuple[str, ...]:
    """In-scope intents worth offering as buttons, most likely first."""
    return tuple(
        intent for intent, prob in topk if intent not in (OUT_OF_SCOPE, exclude) and prob >= p.min_suggestion
    )[: p.max_suggestions]


def decide(topk: list[tuple[str, float]], p: PolicySettings) -> Decision:
    intent, confidence = topk[0]
    if confidence >= p.confident:
        action = {OUT_OF_SCOPE: Action.FALLBACK, HANDOFF_INTENT: Action.HANDOFF}.get(intent, Action.ANSWER)
        return Decision(action, intent, confidence)
    suggestions = suggestions_from(topk, p)
    if confidence >= p.suggest and suggestions:
        return Decision(Action.SUGGEST, intent, confidence, suggestions)
    return Decision(Action.FALLBACK, intent, confidence)


def answered_intent(decision: Decision) -> str:
    """The intent whose answer the customer gets (a suggestion counts as its top intent)."""
    return OUT_OF_SCOPE if decision.action == Action.FALLBACK else decision.intent
