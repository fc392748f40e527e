"""A/B tests of candidate models on live traffic: the test, its nightly looks, and the outcomes it is decided on.

At most one test runs at a time (a partial unique index, whatever races); its design (share, margins,
alphas, days) is stored when it starts, so editing config.toml mid-test changes nothing. Which customer is
in which arm is never stored: it is a hash of the customer and the test (training/assignment.py), so
/forget has nothing here to erase. Looks and decisions hold counts and rates, never a customer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from storage.db import now, write_transaction
from storage.outcomes import Outcome


class Arm(StrEnum):
    """`predictions.arm` and `outcomes.arm`: which model a customer in a test is answered by (NULL: no test)."""

    LIVE = "live"
    CANDIDATE = "candidate"


class ExperimentStatus(StrEnum):
    """`experiments.status`: running until a look, an admin or a change of the live model ends it."""

    RUNNING = "running"
    PROMOTED = "promoted"  # the candidate became the live model
    ROLLED_BACK = "rolled_back"  # the candidate was worse: rejected, live kept
    EXPIRED = "expired"  # no decision within the test's days: live kept
    STOPPED = "stopped"  # ended by an admin or because the live model changed: live kept, no verdict


class ExperimentRunning(RuntimeError):
    """A test was asked to start while another runs."""

    def __init__(self, experiment_id: int) -> None:
        super().__init__(f"A/B test {experiment_id} is running")
        self.experiment_id = experiment_id


@dataclass(frozen=True)
class Experiment:
    id: int
    candidate_version: str
    live_version: str
    design: dict  # training.ab_decision.Design, as stored
    status: ExperimentStatus
    started_at: str
    run_id: int | None
    ended_at: str | None
    ended_by: str | None
    reason: str | None

    @property
    def share(self) -> float:
        return self.design["share"]


@dataclass(frozen=True)
class CustomerOutcomes:
    """One customer of a test: decided outcomes, and how many were resolved, handed off and 👎."""

    arm: Arm
    decided: int
    resolved: int
    handoff: int
    thumbs_down: int


class Experiments:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, candidate_version: str, live_version: str, design: dict, run_id: int | None) -> Experiment:
        """Record a running test; raises ExperimentRunning when one already runs."""
        with write_transaction(self.db):
            if (running := self.running()) is not None:
                raise ExperimentRunning(running.id)
            experiment_id = self.db.execute(
                "INSERT INTO experiments (candidate_version, live_version, design, status, started_at, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [candidate_version, live_version, json.dumps(design), ExperimentStatus.RUNNING, now(), run_id],
            ).lastrowid
        return self.get(experiment_id)

    def get(self, experiment_id: int) -> Experiment:
        row = self.db["experiments"].get(experiment_id)
        return Experiment(row["id"], row["candidate_version"], row["live_version"], json.loads(row["design"]),
                          ExperimentStatus(row["status"]), row["started_at"], row["run_id"], row["ended_at"],
                          row["ended_by"], row["reason"])

    def running(self) -> Experiment | None:
        row = self.db.execute("SELECT id FROM experiments WHERE status = ?", [ExperimentStatus.RUNNING]).fetchone()
        return self.get(row[0]) if row else None

    def latest(self) -> Experiment | None:
        row = self.db.execute("SELECT MAX(id) FROM experiments").fetchone()
        return self.get(row[0]) if row[0] is not None else None

    def end(self, experiment_id: int, status: ExperimentStatus, by: str, reason: str) -> bool:
        """End a running test; False when it had already ended (another process got there first)."""
        return self.db.execute(
            "UPDATE experiments SET status = ?, ended_at = ?, ended_by = ?, reason = ? WHERE id = ? AND status = ?",
            [status, now(), by, reason, experiment_id, ExperimentStatus.RUNNING],
        ).rowcount == 1

    def record_look(self, experiment_id: int, day: int, verdict: str, figures: dict) -> bool:
        """One night's look; False when that night was already looked at (one look per night, whatever restarts)."""
        return self.db.execute(
            "INSERT OR IGNORE INTO experiment_looks (experiment_id, day, verdict, figures, created_at) VALUES (?, ?, ?, ?, ?)",
            [experiment_id, day, verdict, json.dumps(figures), now()],
        ).rowcount == 1

    def looks(self, experiment_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT day, verdict, figures, created_at FROM experiment_looks WHERE experiment_id = ? ORDER BY day",
            [experiment_id]).fetchall()
        return [{"day": d, "verdict": v, "figures": json.loads(f), "created_at": c} for d, v, f, c in rows]

    def customer_outcomes(self, experiment: Experiment) -> list[CustomerOutcomes]:
        """Per customer and arm, the decided outcomes of messages answered during the test by that arm's model.

        An answer by the other arm's model (the candidate failed to load, so live answered a candidate
        customer) counts in neither arm: each arm holds only what its own model did.
        """
        rows = self.db.execute(
            "SELECT arm, COUNT(*), SUM(outcome = ?), SUM(outcome = ?), SUM(outcome = ?) FROM outcomes "
            "WHERE arm IS NOT NULL AND answered_at >= ? AND (? IS NULL OR answered_at < ?) AND outcome IS NOT NULL "
            "AND model_version = CASE arm WHEN ? THEN ? WHEN ? THEN ? END GROUP BY arm, user_id",
            [Outcome.RESOLVED, Outcome.HANDOFF, Outcome.THUMBS_DOWN, experiment.started_at, experiment.ended_at,
             experiment.ended_at, Arm.LIVE, experiment.live_version, Arm.CANDIDATE, experiment.candidate_version],
        )
        return [CustomerOutcomes(Arm(arm), *counts) for arm, *counts in rows]
