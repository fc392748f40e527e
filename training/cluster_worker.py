"""`supportbot worker --index N`: wait for multi-worker training runs and take part in each as task N.

A long-running process on each worker machine (run it under systemd or in a container). It polls
the shared directory for a posted job (training/cluster_job.py), starts a fresh
`python -m training.cluster_task RUN_DIR N` for it (TensorFlow's strategy needs a new process per
run) and waits for it; when the chief removes the run's directory (the run ended, or failed
elsewhere) a task still running is stopped. It imports no TensorFlow and never opens the database.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from training import cluster_job
from training.child_env import child_env
from training.cluster_job import TaskState


def serve(shared: Path, index: int, poll_seconds: float = 1.0, say: Callable[[str], None] = print) -> None:
    """Join every run posted under `shared` from now on, one at a time, until stopped (SIGTERM, ^C)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so a running task is stopped on the way out
    seen: set[str] = set()
    while True:
        for run_dir in cluster_job.open_jobs(shared) if shared.is_dir() else []:
            if run_dir.name not in seen:
                seen.add(run_dir.name)
                say(_take_part(run_dir, index, poll_seconds))
        time.sleep(poll_seconds)


def _take_part(run_dir: Path, index: int, poll_seconds: float) -> str:
    """One run, as task `index`; what became of it, in a line."""
    job = cluster_job.read(run_dir)
    if job is None:
        return f"{run_dir.name}: over before it could start"
    if index >= len(job.cluster):
        return f"{run_dir.name}: has {len(job.cluster) - 1} worker(s); --index {index} is not one of them"
    if cluster_job.task_status(run_dir, index) is not None:
        return f"{run_dir.name}: task {index} was already taken (another worker with --index {index}?)"
    process = subprocess.Popen([sys.executable, "-m", "training.cluster_task", str(run_dir), str(index)], env=child_env())
    state = None
    try:
        while process.poll() is None:
            if cluster_job.read(run_dir) is None:  # the chief removed the run: it is over
                return f"{run_dir.name}: task {index} " + ("done" if state == TaskState.DONE else "ended by the chief")
            state = (cluster_job.task_status(run_dir, index) or {}).get("state")
            time.sleep(poll_seconds)
    finally:
        if process.poll() is None:  # still running, or slow to exit after its last step
            process.kill()
            process.wait()
    return f"{run_dir.name}: task {index} " + ("done" if process.returncode == 0 else f"failed (exit {process.returncode})")
