"""Answers from the shop's own system: signed HTTP calls to its endpoints (docs/actions.md is the contract).

The engine decides when an intent's action runs and stores what came back; this package only
talks to the endpoint, and never raises for the endpoint's trouble: a failure is an `ActionResult`
with outcome FAILED and a reason for the logs and /status, so the customer always gets an answer.
"""

from bot.actions.breaker import BreakerState, Circuit
from bot.actions.client import NO_SECRET, ActionsClient
from bot.actions.contract import ActionCall, ActionResult, Choice, Outcome, failed, sign
from bot.actions.render import render

__all__ = ["NO_SECRET", "ActionCall", "ActionResult", "ActionsClient", "BreakerState", "Choice", "Circuit", "Outcome", "failed", "render",
           "sign"]
