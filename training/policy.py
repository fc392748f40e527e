"""Turn a prediction into what the bot does: answer, ask "did you mean", fall back, or hand over.

It lives in `training` because the gold metrics judge what the bot does with a message (see
`training.evaluate.as_answered`), not the model's bare top intent: one rule for both.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.config import PolicySettings
from training.domain import OUT_OF_SCOPE

HANDOFF_INTENT = "contact_human"


@dataclass(frozen=True)
class Decision:
    action: str  # answer | suggest | fallback | handoff
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
        action = {OUT_OF_SCOPE: "fallback", HANDOFF_INTENT: "handoff"}.get(intent, "answer")
        return Decision(action, intent, confidence)
    suggestions = suggestions_from(topk, p)
    if confidence >= p.suggest and suggestions:
        return Decision("suggest", intent, confidence, suggestions)
    return Decision("fallback", intent, confidence)


def answered_intent(decision: Decision) -> str:
    """The intent whose answer the customer gets (a suggestion counts as its top intent)."""
    return OUT_OF_SCOPE if decision.action == "fallback" else decision.intent
