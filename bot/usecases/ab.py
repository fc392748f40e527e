"""The A/B test of a candidate model: what it says so far, the nightly look, and an admin's stop, promote or
rollback. Each is audited once; the running bot's models are swapped at once (no restart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.experiments import Experiment, Experiments, ExperimentStatus
from training.ab_decision import Look
from training.experiment import Ending, NoTest, end, figures_now, nightly_look


class AbAction(StrEnum):
    """What an admin can do to a running test (`supportbot ab ACTION`, `/ab ACTION`)."""

    STOP = "stop"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class AbView:
    """What /ab and `supportbot ab` show: the running test (or the last one), its figures now and its looks."""

    experiment: Experiment | None  # the running test, else the latest one; None if there never was one
    figures: Look | None  # the outcomes so far against tonight's boundaries, while it runs
    looks: list[dict]  # each night's recorded look
    problem: str | None  # why the candidate is not answering (it does not load), in this process


def _view_detail(view: AbView, *_arguments: object) -> str:
    test = view.experiment
    return "no test" if test is None else f"test {test.id} {test.status}"


def _ending_detail(ending: Ending, *_arguments: object) -> str:
    return f"test {ending.experiment.id} {ending.status}: {ending.experiment.candidate_version}"


def _look_detail(result: Look | Ending | None, *_arguments: object) -> str:
    if isinstance(result, Ending):
        return _ending_detail(result)
    return "no look due" if result is None else f"night {result.day}: {result.verdict}"


@audited(AuditAction.AB, detail=_view_detail)
def show(runtime: Runtime, actor: Actor) -> AbView:
    """The running test with its figures now, else the last test and how it ended."""
    experiments = Experiments(runtime.db)
    test = experiments.running() or experiments.latest()
    if test is None:
        return AbView(None, None, [], None)
    running = test.status == ExperimentStatus.RUNNING
    figures = figures_now(experiments, test, datetime.now(UTC)) if running else None
    canary = runtime.model.canary
    problem = canary.problem if running and canary is not None and canary.experiment.id == test.id else None
    return AbView(test, figures, experiments.looks(test.id), problem)


def running(runtime: Runtime) -> bool:
    """Whether a test runs (the nightly job asks before it looks, so nights without a test leave no audit row)."""
    return Experiments(runtime.db).running() is not None


@audited(AuditAction.AB_LOOK, detail=_look_detail)
def look_tonight(runtime: Runtime, actor: Actor) -> Look | Ending | None:
    """The nightly look (training/experiment.py), its verdict carried out and the models swapped; audited each
    night a test runs, so the trail shows every look."""
    result = nightly_look(runtime.db, runtime.registry, datetime.now(UTC), actor.name)
    if isinstance(result, Ending):
        runtime.model.refresh()
    return result


def _end_now(runtime: Runtime, actor: Actor, status: ExperimentStatus, reason: str) -> Ending:
    test = Experiments(runtime.db).running()
    if test is None:
        raise NoTest("no A/B test is running")
    ending = end(runtime.db, runtime.registry, test, status, actor.name, reason)
    runtime.model.refresh()
    return ending


@audited(AuditAction.AB_STOP, detail=_ending_detail)
def stop(runtime: Runtime, actor: Actor) -> Ending:
    """End the test without a verdict: the live model stays, the candidate is set aside. NoTest if none runs."""
    return _end_now(runtime, actor, ExperimentStatus.STOPPED, "stopped by an admin")


@audited(AuditAction.AB_PROMOTE, detail=_ending_detail)
def promote(runtime: Runtime, actor: Actor) -> Ending:
    """Make the candidate live for everyone now, whatever the test says. NoTest if none runs."""
    return _end_now(runtime, actor, ExperimentStatus.PROMOTED, "promoted by an admin")


@audited(AuditAction.AB_ROLLBACK, detail=_ending_detail)
def rollback(runtime: Runtime, actor: Actor) -> Ending:
    """Take the candidate off its customers now: the live model answers everyone. NoTest if none runs."""
    return _end_now(runtime, actor, ExperimentStatus.ROLLED_BACK, "rolled back by an admin")


ACTIONS: dict[AbAction, Callable[[Runtime, Actor], Ending]] = {
    AbAction.STOP: stop, AbAction.PROMOTE: promote, AbAction.ROLLBACK: rollback}
