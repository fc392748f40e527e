"""A multi-worker run as files in the shared directory: the job, each task's heartbeat, the result.

The chief's train stage writes one run directory per run and removes it when the run ends:

    SHARED/run-<key>/set/            the exported training set (training.training_set)
    SHARED/run-<key>/job.json        written last: the cluster, the settings, the timeouts
    SHARED/run-<key>/task-<N>.json   task N's heartbeat: state, steps done, progress text
    SHARED/run-<key>/result/         the chief task's model.keras and history.json

Workers (`supportbot worker`, training/cluster_worker.py) find jobs by polling for job.json and
talk to the chief only through TensorFlow's collectives and these files; they never open the
database. This module imports no TensorFlow, so a waiting worker holds none.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

JOB = "job.json"
RESULT = "result"


class TaskState(StrEnum):
    STARTED = "started"  # the process is up and about to join the strategy
    TRAINING = "training"  # it has taken at least one step
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    key: str
    cluster: tuple[str, ...]  # TF_CONFIG's worker list: task 0 is the chief
    settings: dict  # the [model] settings to train with (training.config.ModelSettings)
    step_timeout_seconds: float

    def tf_config(self, index: int) -> dict:
        return {"cluster": {"worker": list(self.cluster)}, "task": {"type": "worker", "index": index}}


def write_atomic(path: Path, body: dict) -> None:
    """Readers on other machines never see half a file: written aside, then renamed."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(body, ensure_ascii=False))
    scratch.replace(path)


def new_run_dir(shared: Path) -> Path:
    directory = shared / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
    directory.mkdir(parents=True)
    return directory


def remove_leftovers(shared: Path) -> list[Path]:
    """Run directories an interrupted train stage left behind; only safe under the run lock."""
    leftovers = sorted(shared.glob("run-*")) if shared.is_dir() else []
    for directory in leftovers:
        shutil.rmtree(directory, ignore_errors=True)
    return leftovers


def post(run_dir: Path, job: Job) -> None:
    write_atomic(run_dir / JOB, asdict(job))


def read(run_dir: Path) -> Job | None:
    """The run's job, or None once the chief has removed it (the run is over)."""
    try:
        body = json.loads((run_dir / JOB).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Job(body["key"], tuple(body["cluster"]), body["settings"], body["step_timeout_seconds"])


def open_jobs(shared: Path) -> list[Path]:
    """Run directories whose job is posted, oldest first."""
    return sorted(p.parent for p in shared.glob(f"run-*/{JOB}"))


class Heartbeat:
    """Task N's state in the run directory, at most once a second while steps go by."""

    def __init__(self, run_dir: Path, index: int) -> None:
        self.path, self.index = run_dir / f"task-{index}.json", index
        self.steps, self.progress, self._written = 0, "", 0.0

    def write(self, state: TaskState, error: str | None = None) -> None:
        write_atomic(self.path, {"index": self.index, "state": state, "steps": self.steps, "progress": self.progress,
                                 "pid": os.getpid(), "error": error})
        self._written = time.monotonic()

    def step(self) -> None:
        self.steps += 1
        if time.monotonic() - self._written >= 1.0:
            self.write(TaskState.TRAINING)

    def epoch(self, text: str) -> None:
        self.progress = text
        self.write(TaskState.TRAINING)


def task_status(run_dir: Path, index: int) -> dict | None:
    try:
        return json.loads((run_dir / f"task-{index}.json").read_text())
    except FileNotFoundError:
        return None
