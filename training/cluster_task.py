"""One task of a multi-worker training run: `python -m training.cluster_task RUN_DIR INDEX`.

A fresh process per run and task, because TensorFlow sets up `MultiWorkerMirroredStrategy` once per
process, from TF_CONFIG, which must be in the environment before TensorFlow is imported: the chief's
train stage starts task 0 (training/cluster_run.py), `supportbot worker --index N` starts task N
(training/cluster_worker.py). Each task reads its own shards of the run's training set, the
strategy sums the gradients, and task 0 alone writes the trained model into RUN_DIR/result.
Collectives time out after the job's step timeout, so a task whose peer died ends rather than hangs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path

from training import cluster_job
from training.cluster_job import Heartbeat, TaskState
from training.config import ModelSettings, settings_from


def main(run_dir: Path, index: int) -> int:
    job = cluster_job.read(run_dir)
    if job is None:
        print(f"{run_dir}: no job (the run is over)", file=sys.stderr)
        return 1
    heartbeat = Heartbeat(run_dir, index)
    heartbeat.write(TaskState.STARTED)
    os.environ["TF_CONFIG"] = json.dumps(job.tf_config(index))
    try:
        trained = _train(run_dir, job, heartbeat)
        if index == 0:
            _write_result(run_dir, trained)
    except Exception as exc:  # noqa: BLE001 - the chief reads why from the heartbeat
        heartbeat.write(TaskState.FAILED, f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    heartbeat.write(TaskState.DONE)
    return 0


def _train(run_dir: Path, job: cluster_job.Job, heartbeat: Heartbeat):  # -> training.train.TrainedModel
    from training.quiet import quiet

    with quiet():  # TensorFlow's first words come as it loads
        import tensorflow as tf

        from training import training_set
        from training.fit_loop import Watch
        from training.train import train_from

    s = settings_from(ModelSettings, job.settings, run_dir / cluster_job.JOB, "model")
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=job.step_timeout_seconds)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    manifest = training_set.load(run_dir / "set", s)
    return train_from(manifest, s, Watch(progress=heartbeat.epoch, step=heartbeat.step), strategy)


def _write_result(run_dir: Path, trained) -> None:
    """model.keras and history.json, renamed into place whole."""
    scratch = run_dir / f".{cluster_job.RESULT}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    trained.model.save(scratch / "model.keras")
    (scratch / "history.json").write_text(json.dumps(trained.history))
    scratch.replace(run_dir / cluster_job.RESULT)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
