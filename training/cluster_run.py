"""The train stage: export the cleaned examples as a training set, then train on this machine or
on several under TensorFlow's `MultiWorkerMirroredStrategy` ([training] workers).

On one machine the stage trains in this process from the exported files. With workers, this
machine is the chief: it posts the run as a job in the shared directory (training/cluster_job.py),
starts task 0 as a child process (training/cluster_task.py; the strategy needs a fresh process and
a hung collective can only be ended from outside), and watches every task's heartbeat. A worker
that has not started within the join timeout, a step that takes longer than the step timeout, or a
task that fails ends the run with a ClusterError that says which machine and why; the pipeline
records it, the live model is untouched and the lock released. Either way the run directory is
removed when the stage ends, and the trained model comes back as one TrainedModel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import keras

from training import cluster_job, training_set
from training.child_env import child_env
from training.cluster_job import Job, TaskState
from training.config import ModelSettings, TrainingSettings
from training.domain import Example
from training.fit_loop import Watch
from training.train import TrainedModel, train_from

POLL_SECONDS = 0.5


class ClusterError(Exception):
    """A multi-worker run that could not finish, in words an admin can act on."""


def train_stage(examples: list[Example], s: ModelSettings, t: TrainingSettings, shared: Path,
                watch: Watch) -> TrainedModel:
    """The examples, exported under `shared`, trained on this machine or across [training] workers."""
    run_dir = cluster_job.new_run_dir(shared)
    try:
        if not t.distributed:
            return train_from(training_set.export(examples, s, run_dir / "set", t.shards), s, watch)
        manifest = training_set.export(examples, s, run_dir / "set", max(t.shards, len(t.cluster())))
        cluster_job.post(run_dir, Job(run_dir.name, t.cluster(), asdict(s), t.step_timeout_seconds))
        _run_chief(run_dir, t, watch, -(-manifest.n_train // s.batch_size) * s.max_epochs)
        return _result(run_dir, manifest)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)  # workers still on it see their job gone and stop


def _run_chief(run_dir: Path, t: TrainingSettings, watch: Watch, total_steps: int) -> None:
    with (run_dir / "task-0.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "training.cluster_task", str(run_dir), "0"], env=child_env(),
                                   stdout=log, stderr=subprocess.STDOUT)
    watch.begin(total_steps)
    try:
        _supervise(process, run_dir, t, watch)
    finally:
        watch.end()
        if process.poll() is None:
            process.kill()
        process.wait()


def _supervise(process: subprocess.Popen, run_dir: Path, t: TrainingSettings, watch: Watch) -> None:
    """Until task 0 is done: raises ClusterError on a failed task, a worker that has not started or
    connected within the join timeout, or a later step that takes longer than the step timeout."""
    cluster = t.cluster()
    started = time.monotonic()
    steps, progress, moved_at = 0, "", started
    while True:
        states = [cluster_job.task_status(run_dir, i) for i in range(len(cluster))]
        _raise_failed(states, cluster)
        code = process.poll()
        if code is not None:
            if code == 0 and states[0] and states[0]["state"] == TaskState.DONE:
                return
            last = (run_dir / "task-0.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise ClusterError(f"the chief's training process ended with exit code {code}: {' '.join(last)}")
        now = time.monotonic()
        if steps == 0 and now - started > t.join_timeout_seconds:
            raise ClusterError(_not_joined(states, cluster, run_dir, t.join_timeout_seconds))
        if states[0]:
            steps, moved_at, progress = _follow(states[0], steps, moved_at, progress, watch, now)
        if steps and now - moved_at > t.step_timeout_seconds:
            raise ClusterError(f"no training step for {t.step_timeout_seconds:g} s: a worker stopped or cannot be "
                               f"reached ({', '.join(cluster[1:])})")
        time.sleep(POLL_SECONDS)


def _raise_failed(states: list[dict | None], cluster: tuple[str, ...]) -> None:
    for i, state in enumerate(states):
        if state and state["state"] == TaskState.FAILED:
            raise ClusterError(f"{_task(i, cluster)} failed: {state['error']}")


def _not_joined(states: list[dict | None], cluster: tuple[str, ...], run_dir: Path, timeout: float) -> str:
    """Why no first step was taken in time: a worker that never started, or one that cannot be reached."""
    missing = [i for i, state in enumerate(states) if state is None]
    if missing:
        return (f"{_task(missing[0], cluster)} did not start the run within {timeout:g} s: is `supportbot worker "
                f"--index {missing[0]}` running there, with {run_dir.parent} mounted at the same path?")
    return (f"the workers started but took no training step together within {timeout:g} s: can each reach the "
            f"others' host:port ({', '.join(cluster)})?")


def _follow(chief: dict, steps: int, moved_at: float, progress: str, watch: Watch,
            now: float) -> tuple[int, float, str]:
    """The chief task's heartbeat passed on to `watch`: (steps seen, when they last moved, progress text)."""
    if chief["progress"] != progress and watch.progress:
        watch.progress(chief["progress"])
    for _ in range(chief["steps"] - steps):
        watch.stepped()
    return chief["steps"], now if chief["steps"] != steps else moved_at, chief["progress"]


def _task(index: int, cluster: tuple[str, ...]) -> str:
    return f"the chief ({cluster[0]})" if index == 0 else f"worker {index} ({cluster[index]})"


def _result(run_dir: Path, manifest: training_set.Manifest) -> TrainedModel:
    result = run_dir / cluster_job.RESULT
    model = keras.models.load_model(result / "model.keras")
    history = json.loads((result / "history.json").read_text())
    return TrainedModel(model, manifest.encoder(), manifest.labels, history, manifest.data_hash, manifest.n_examples)
