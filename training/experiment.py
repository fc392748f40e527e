"""The running A/B test as the bot handles it: which night it is, its figures now, the nightly look, its end.

The verdict itself is training/ab_decision.py's (the same function the simulation runs); this module reads
the outcomes it needs (storage/experiments.py), counts the nights and carries a verdict out in the model
registry, each end in one transaction with the test's row, so a test never ends without its model's fate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import write_transaction
from storage.experiments import Arm, Experiment, Experiments, ExperimentStatus
from storage.registry import ModelRegistry, ModelStatus
from training.ab_decision import Design, Look, Tallies, Verdict, look

ENDINGS = {Verdict.PROMOTE: ExperimentStatus.PROMOTED, Verdict.ROLLBACK: ExperimentStatus.ROLLED_BACK,
           Verdict.EXPIRE: ExperimentStatus.EXPIRED}
DAY = timedelta(days=1)


class NoTest(LookupError):
    """No A/B test is running (or it ended meanwhile: another process or look got there first)."""


@dataclass(frozen=True)
class Ending:
    """How a test ended, for the audit row and the admins."""

    experiment: Experiment
    status: ExperimentStatus
    reason: str


def night(test: Experiment, now: datetime) -> int:
    """Which night of the test `now` is: whole days since it started, rounded (a nightly run that started the
    test at 03:10 looks on night 1 at 03:00 the next day); 0 before the first night."""
    return int((now - datetime.fromisoformat(test.started_at)) / DAY + 0.5)


def figures_now(experiments: Experiments, test: Experiment, now: datetime) -> Look:
    """The outcomes so far, judged against the boundaries of the night `now` falls in (night 1 at the earliest)."""
    rows = experiments.customer_outcomes(test)
    arm = {a: Tallies.from_rows([(r.decided, r.resolved, r.handoff, r.thumbs_down) for r in rows if r.arm == a])
           for a in Arm}
    return look(Design(**test.design), max(night(test, now), 1), arm[Arm.LIVE], arm[Arm.CANDIDATE])


def nightly_look(db: Database, registry: ModelRegistry, now: datetime, by: str) -> Look | Ending | None:
    """Tonight's look at the running test, once a night: its verdict carried out (an Ending) or the figures it
    went on with (a Look); None with no test, before its first night, or when tonight was looked at already.
    A test whose live model was replaced meanwhile (an admin's rollback) is stopped: it no longer compares
    what it set out to."""
    experiments = Experiments(db)
    test = experiments.running()
    if test is None:
        return None
    live = registry.live()
    if live is None or live["version"] != test.live_version:
        return end(db, registry, test, ExperimentStatus.STOPPED, by,
                   f"the live model changed from {test.live_version} to {live['version'] if live else 'none'}")
    today = night(test, now)
    if today < 1:
        return None
    seen = figures_now(experiments, test, now)
    if not experiments.record_look(test.id, today, seen.verdict, summary(seen)):
        return None
    if seen.verdict in ENDINGS:
        return end(db, registry, test, ENDINGS[seen.verdict], by, seen.reason)
    return seen


def end(db: Database, registry: ModelRegistry, test: Experiment, status: ExperimentStatus, by: str,
        reason: str) -> Ending:
    """End `test` and settle its candidate, together: live when promoted, rejected otherwise (the live model
    stays). Raises NoTest when it was not running any more."""
    with write_transaction(db):
        if not Experiments(db).end(test.id, status, by, reason):
            raise NoTest(f"A/B test {test.id} has already ended")
        if status == ExperimentStatus.PROMOTED:
            registry.promote(test.candidate_version)
        else:
            registry.set_status(test.candidate_version, ModelStatus.REJECTED)
    return Ending(test, status, reason)


def summary(seen: Look) -> dict:
    """What a look is recorded with: counts, rates and z values, no customer."""
    return {
        "customers": list(seen.customers),
        "rates": {m.value: {"live": e.live.mean, "candidate": e.candidate.mean, "se": e.se}
                  for m, e in seen.estimates.items()},
        "bounds": seen.bounds,
        "reason": seen.reason,
    }
