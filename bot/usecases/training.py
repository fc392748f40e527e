"""Training runs: the starter model, the whole chain now, and the bot's own supervised runs.

Every kind goes through `training.pipeline` under the run lock (one path, one gate, one report);
what differs is only where it runs: in this process (the CLI) or in a child (the bot, whose event
loop must keep answering and which must never import TensorFlow).
"""

from __future__ import annotations

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.runs import RunTrigger
from training.pipeline import Progress, run_now


def _outcome(run: dict, *_arguments: object) -> str:
    return f"run {run['id']} {run['status']} {run['candidate_version'] or ''}".strip()


def live_version(runtime: Runtime) -> str | None:
    """The version answering now, if any model loads (`supportbot train --if-missing` asks)."""
    return runtime.model.current.version if runtime.model.current else None


@audited(AuditAction.TRAIN, detail=_outcome)
def train_starter(runtime: Runtime, actor: Actor, progress: Progress | None = None, bar: bool = False) -> dict:
    """Train on the starter domain alone, in this process; promoted only if the gate says so."""
    run = run_now(runtime.config, runtime.db, RunTrigger.STARTER, actor.name, progress, bar)
    runtime.model.refresh()
    return run


@audited(AuditAction.RETRAIN, detail=_outcome)
def retrain_now(runtime: Runtime, actor: Actor, progress: Progress | None = None, bar: bool = False) -> dict:
    """The whole chain (collect -> clean -> train -> evaluate -> promote), in this process."""
    run = run_now(runtime.config, runtime.db, RunTrigger.CLI, actor.name, progress, bar)
    runtime.model.refresh()
    return run


@audited(AuditAction.RETRAIN, detail=lambda run_id, _: f"run {run_id}")
def begin_run(runtime: Runtime, actor: Actor, trigger: RunTrigger) -> int:
    """Record a run and take the lock for a child process to adopt; raises RunInProgress."""
    return runtime.runs.start(trigger, actor.name)


def end_run(runtime: Runtime, run_id: int) -> dict:
    """After the child ended: release the lock (a run it left unfinished is marked failed), swap in
    whatever model is live now, and read how the run ended."""
    runtime.runs.release(run_id)
    runtime.model.refresh()
    return runtime.runs.get(run_id)


def run_row(runtime: Runtime, run_id: int) -> dict:
    return runtime.runs.get(run_id)


def recent_runs(runtime: Runtime, limit: int) -> list[dict]:
    return runtime.runs.recent(limit)


def last_nightly_start(runtime: Runtime) -> str | None:
    """When the last nightly run started, for the catch-up after downtime."""
    return runtime.runs.last_started(RunTrigger.NIGHTLY)


def refresh_model(runtime: Runtime) -> bool:
    """Pick up a promotion or rollback made by another process (CLI, a training run)."""
    return runtime.model.refresh()
