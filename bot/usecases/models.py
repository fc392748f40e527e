"""The live model: what it says of a text, how it scores, what state the learning loop is in, rollback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.action_calls import EndpointFigures
from storage.audit import AuditAction
from training.classifier import Classifier, ModelLoadError
from training.policy import Action, decide
from training.serving import Canary
from training.tokenize import tokenize


class NoModel(LookupError):
    """A use case that needs a model, asked before any model is live."""


@dataclass(frozen=True)
class Classification:
    text: str
    intent: str | None
    confidence: float | None
    action: Action
    topk: list[tuple[str, float]]


@dataclass(frozen=True)
class Status:
    live: dict | None  # the registry's row of the live model, metrics included
    problem: str | None  # why the live version is not answering, and what is, if it is not
    untrained_labels: int
    review_queue: int
    recent_runs: list[dict]
    next_run: datetime | None
    scheduled_here: bool  # False at the terminal: only the running Telegram bot schedules runs
    handoffs: dict  # storage.handoffs.Handoffs.figures: today, 7 days, first reply, containment
    actions: list[EndpointFigures]  # calls to the shop's system in 7 days, per endpoint
    canary: Canary | None  # the running A/B test and its candidate, as this process serves it


def classify(runtime: Runtime, texts: list[str]) -> list[Classification]:
    """What the bot would do with each text, without storing anything."""
    model, policy = runtime.model.current, runtime.config.policy
    if model is None:
        raise NoModel(runtime.model.problem or "no model is live: run `supportbot train` first")
    results = []
    for text in texts:
        if not tokenize(text):
            results.append(Classification(text, None, None, Action.EMPTY, []))
            continue
        topk = model.predict(text, policy.top_k, policy.out_of_scope_weight)
        decision = decide(topk, policy)
        results.append(Classification(text, decision.intent, decision.confidence, decision.action, topk))
    return results


def serving_problem(runtime: Runtime) -> str | None:
    """Why the live model is not the one answering (admins are told at start); None when it is."""
    return runtime.model.problem


def evaluate_version(runtime: Runtime, version: str | None) -> dict:
    """Gold-set metrics of the live model (or `version`), served as the bot serves it (LiteRT, policy).
    Raises NoModel when there is none or it does not load, RegistryError for an unknown version."""
    model = runtime.registry.get(version) if version else runtime.registry.live()
    if model is None:
        raise NoModel("no model is live: run `supportbot train` first")
    try:
        classifier = Classifier(Path(model["path"]))
    except ModelLoadError as exc:
        raise NoModel(f"model {model['version']} does not load: {exc}") from None
    n_train = {lang: m["n_train"] for lang, m in model["metrics"].get("per_language", {}).items()}
    from training.evaluate import as_answered, evaluate  # scikit-learn: loaded when asked, never by a serving bot

    metrics = evaluate(as_answered(classifier, runtime.config.policy), runtime.domain.gold, n_train)
    return {**metrics, "version": model["version"]}


@audited(AuditAction.STATUS, detail=lambda s, *_: f"live {s.live['version'] if s.live else None}")
def status(runtime: Runtime, actor: Actor, next_run: datetime | None, scheduled_here: bool) -> Status:
    """Live model, collected-but-untrained labels, review queue and recent runs; `next_run` is the
    channel's to know (the bot's scheduler, or the schedule itself at the terminal)."""
    pending = runtime.engine.labels.count_since(runtime.runs.last_trained_at())
    return Status(runtime.registry.live(), runtime.model.problem, pending, runtime.review.size(),
                  runtime.runs.recent(5), next_run, scheduled_here, runtime.engine.handoffs.figures(datetime.now(UTC)),
                  runtime.engine.fulfilment.calls.figures(), runtime.model.canary)


@audited(AuditAction.ROLLBACK)
def rollback(runtime: Runtime, actor: Actor, version: str | None) -> str:
    """Make the previous (or given) version live and answer with it at once; RegistryError if refused."""
    restored = runtime.registry.rollback(version)
    runtime.model.refresh()
    return restored
