"""Training runs and the single-flight lock that keeps them one at a time across processes.

The lock is a row in SQLite holding its owner's process id: taken in one write transaction,
so two processes cannot both win, and a lock whose owner has died is stale and taken over,
so a crashed run never blocks the next one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from storage.db import now, write_transaction

LOCK = "retrain"


class RunStatus(StrEnum):
    """`training_runs.status`: running until the run ends one of the other ways."""

    RUNNING = "running"
    PROMOTED = "promoted"  # the candidate passed the gate and is live
    TESTING = "testing"  # the candidate passed the gate and is tested on some customers first (storage/experiments.py)
    REJECTED = "rejected"  # the candidate failed the gate
    SKIPPED = "skipped"  # nothing new to learn
    FAILED = "failed"  # an error, or the process running it died


FINISHED = frozenset(RunStatus) - {RunStatus.RUNNING}


class RunTrigger(StrEnum):
    """`training_runs.trigger`: what started a run."""

    STARTER = "starter"  # the first training on the starter domain (`supportbot train`, `make run`)
    CLI = "cli"  # `supportbot retrain`
    ADMIN = "admin"  # /retrain in Telegram
    NIGHTLY = "nightly"  # the schedule, or its catch-up after downtime


class RunStage(StrEnum):
    """`training_runs.stage`: where a run is (or ended), in the order the pipeline goes."""

    COLLECT = "collect"
    CLEAN = "clean"
    TRAIN = "train"
    EVALUATE = "evaluate"
    PROMOTE = "promote"
    DONE = "done"


class RunInProgress(RuntimeError):
    def __init__(self, run_id: int | None) -> None:
        super().__init__(f"training run {run_id} is in progress")
        self.run_id = run_id


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Runs:
    db: Database

    def start(self, trigger: RunTrigger, requested_by: str | None = None) -> int:
        """Create a run and take the lock for this process, or raise RunInProgress."""
        with write_transaction(self.db):
            self._clear_stale()
            held = self.db.execute("SELECT run_id FROM locks WHERE name = ?", [LOCK]).fetchone()
            if held:
                raise RunInProgress(held[0])
            run_id = self.db["training_runs"].insert(
                {"trigger": trigger, "requested_by": requested_by, "status": RunStatus.RUNNING, "stage": RunStage.COLLECT,
                 "started_at": now()}
            ).last_pk
            self.db["locks"].insert({"name": LOCK, "owner_pid": os.getpid(), "run_id": run_id, "acquired_at": now()})
        return run_id

    def _clear_stale(self) -> None:
        row = self.db.execute("SELECT owner_pid, run_id FROM locks WHERE name = ?", [LOCK]).fetchone()
        if row and not pid_alive(row[0]):
            self.db.execute("DELETE FROM locks WHERE name = ?", [LOCK])
            self._fail_if_running(row[1], f"the process running it (pid {row[0]}) died")

    def _fail_if_running(self, run_id: int | None, error: str) -> None:
        self.db.execute(
            "UPDATE training_runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ?",
            [RunStatus.FAILED, error, now(), run_id, RunStatus.RUNNING],
        )

    def adopt(self, run_id: int) -> None:
        """The child process that does the work becomes the lock's owner."""
        self.db.execute("UPDATE locks SET owner_pid = ? WHERE name = ? AND run_id = ?", [os.getpid(), LOCK, run_id])

    def release(self, run_id: int) -> None:
        """Drop the lock; a run still marked running at this point did not finish, so it failed."""
        with self.db.atomic():
            self.db.execute("DELETE FROM locks WHERE name = ? AND run_id = ?", [LOCK, run_id])
            self._fail_if_running(run_id, "the training process ended without finishing the run")

    def update(self, run_id: int, **fields) -> None:
        for key in ("counts", "metrics"):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key], ensure_ascii=False)
        if fields.get("status") in FINISHED:
            fields.setdefault("finished_at", now())
        self.db["training_runs"].update(run_id, fields)

    def get(self, run_id: int) -> dict:
        row = self.db["training_runs"].get(run_id)
        return {**row, "counts": json.loads(row["counts"] or "{}"), "metrics": json.loads(row["metrics"] or "{}")}

    def recent(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute("SELECT id FROM training_runs ORDER BY id DESC LIMIT ?", [limit]).fetchall()
        return [self.get(r[0]) for r in rows]

    def last_trained_at(self) -> str | None:
        """Start of the last run that trained a model: labels after it are new."""
        row = self.db.execute(
            "SELECT MAX(started_at) FROM training_runs WHERE status IN (?, ?, ?)",
            [RunStatus.PROMOTED, RunStatus.TESTING, RunStatus.REJECTED],
        ).fetchone()
        return row[0]

    def last_started(self, trigger: RunTrigger) -> str | None:
        """Start of the last run with this trigger, whatever its end: the nightly catch-up asks it."""
        return self.db.execute("SELECT MAX(started_at) FROM training_runs WHERE trigger = ?", [trigger]).fetchone()[0]
