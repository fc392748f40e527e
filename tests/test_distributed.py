"""Training from an exported training set, on one machine and across workers (MultiWorkerMirroredStrategy).

Real TFRecord files, real `supportbot worker` processes on 127.0.0.1, real `supportbot retrain`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from storage.db import open_db
from storage.registry import ModelRegistry
from storage.runs import Runs, RunStatus, RunTrigger
from tests.conftest import DATA, free_port, write_config
from training.config import ConfigError, ModelSettings, load_config
from training.domain import Example, load_domain

pytestmark = pytest.mark.slow
TINY = "[model]\nmax_epochs = 2\npatience = 2\nembedding_dim = 16\nlstm_units = 8\nngram_dim = 16\nmembers = 1\n"


def _training(chief: int, workers: list[int], join: float = 60, step: float = 60) -> str:
    return (f'[training]\nchief = "127.0.0.1:{chief}"\nworkers = {json.dumps([f"127.0.0.1:{p}" for p in workers])}\n'
            f"join_timeout_seconds = {join}\nstep_timeout_seconds = {step}\n")


def _cli(config_path: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", str(config_path)],
                          capture_output=True, text=True, timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SUPPORTBOT_VAR"}


def _worker(config_path: Path, index: int, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--index", str(index), "--config",
                                 str(config_path)], stdout=out, stderr=subprocess.STDOUT, env=_env())


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_domain(DATA).training_examples()


# -- the exported training set -----------------------------------------------------------------------------------

def test_a_training_set_without_its_manifest_altered_or_made_with_other_settings_is_refused(examples, tmp_path):
    from training import training_set
    from training.training_set import TrainingSetError

    s = ModelSettings()
    with pytest.raises(TrainingSetError, match="no manifest.json"):
        training_set.load(tmp_path / "nothing", s)
    manifest = training_set.export(examples, s, tmp_path / "set", shards=3)
    with pytest.raises(TrainingSetError, match="not empty"):
        training_set.export(examples, s, tmp_path / "set")
    with pytest.raises(TrainingSetError, match="other \\[model\\] settings"):
        training_set.load(manifest.directory, replace(s, max_len=16))
    shard = manifest.directory / manifest.train[1].file
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")
    with pytest.raises(TrainingSetError, match="differ from the manifest"):
        training_set.load(manifest.directory, s)
    shard.unlink()
    with pytest.raises(TrainingSetError, match="missing"):
        training_set.load(manifest.directory, s)


def test_the_exported_set_holds_every_example_encoded_as_in_memory_with_the_same_hash(examples, tmp_path):
    from training import training_set
    from training.benchmark.data import validation_indices
    from training.train import encode_all

    s = ModelSettings()
    manifest = training_set.export(examples, s, tmp_path / "set", shards=4)
    loaded = training_set.load(manifest.directory, s)
    assert loaded == manifest
    assert manifest.data_hash == training_set.data_hash(list(reversed(examples)))  # order-free, as before
    assert [sh.examples for sh in manifest.train] == [len(range(i, manifest.n_train, 4)) for i in range(4)]
    assert manifest.n_train + manifest.n_validation == len(examples)

    encoder, index = manifest.encoder(), {label: i for i, label in enumerate(manifest.labels)}
    fit_rows, val_rows = validation_indices(examples, s)

    def in_memory(rows) -> Counter:
        ids, grams = encode_all(encoder, [examples[r].text for r in rows])
        return Counter((tuple(i), tuple(g), index[examples[r].intent]) for i, g, r in zip(ids.tolist(), grams.tolist(), rows))

    def exported(part: str) -> Counter:
        return Counter((tuple(i), tuple(g), y) for i, g, y in training_set.rows(manifest, part))

    assert exported("train") == in_memory(fit_rows)
    assert exported("validation") == in_memory(val_rows)
    again = training_set.export(examples, s, tmp_path / "again", shards=4)
    assert (again.data_hash, again.encoded_hash) == (manifest.data_hash, manifest.encoded_hash)


# -- configuration -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table, key", [
    ('workers = ["127.0.0.1:2223"]\n', "chief"),
    ('chief = "127.0.0.1:2222"\nworkers = ["127.0.0.1"]\n', "workers"),
    ('chief = "127.0.0.1:2222"\nworkers = ["127.0.0.1:70000"]\n', "workers"),
    ('chief = "host/path:2222"\n', "chief"),
    ("shards = 0\n", "shards"),
    ("step_timeout_seconds = 0\n", "step_timeout_seconds"),
])
def test_a_cluster_misconfigured_stops_the_start_naming_the_key(tmp_path, table, key):
    with pytest.raises(ConfigError, match=f"\\[training\\] {key} must be"):
        load_config(write_config(tmp_path, f"[training]\n{table}"))


def test_worker_and_workers_refuse_what_they_cannot_use_in_words(tmp_path):
    path = write_config(tmp_path, _training(free_port(), [free_port()]))
    done = _cli(path, "worker", "--index", "2", timeout=60)
    assert done.returncode != 0 and "[training] workers lists 1 machine(s); --index 2 is none of them" in done.stderr
    done = _cli(path, "train", "--quiet", "--workers", "127.0.0.1", timeout=60)
    assert done.returncode != 0 and "[training] workers must be" in done.stderr
    assert not (tmp_path / "var" / "models").exists() or not any((tmp_path / "var" / "models").iterdir())


# -- across workers: supportbot retrain with `supportbot worker` processes ----------------------------------------

def test_two_workers_train_through_retrain_into_one_version_with_a_one_machine_runs_files(tmp_path, trained_var):
    path = write_config(tmp_path, _training(free_port(), [free_port()]), model=TINY)
    worker = _worker(path, 1, tmp_path / "worker.log")
    try:
        done = _cli(path, "retrain", "--json")
        _wait_for(lambda: "task 1 done" in (tmp_path / "worker.log").read_text(), within=60)
    finally:
        _stop(worker)
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["status"] == RunStatus.PROMOTED and run["candidate"]["accuracy"] > 0.5
    config = load_config(path)
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    versions = [row["version"] for row in registry.db["models"].rows]
    assert len(versions) == 1
    one_machine = Path(ModelRegistry(open_db(trained_var / "supportbot.db"), trained_var / "models").live()["path"])
    files = sorted(p.name for p in Path(registry.get(versions[0])["path"]).iterdir())
    assert files == sorted(p.name for p in one_machine.iterdir())
    assert not list(config.shared_dir.iterdir())  # the run's training set is gone with it


def test_a_worker_killed_mid_run_fails_the_run_within_the_step_timeout_and_changes_nothing(tmp_path):
    step_timeout = 20
    path = write_config(tmp_path, _training(free_port(), [free_port()], join=300, step=step_timeout),
                        model=TINY.replace("max_epochs = 2", "max_epochs = 40").replace("patience = 2", "patience = 40"))
    config = load_config(path)
    worker = _worker(path, 1, tmp_path / "worker.log")
    retrain = subprocess.Popen([sys.executable, "-m", "bot.cli", "retrain", "--json", "--config", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        task = _training_task(config.shared_dir, index=1, within=300)
        os.kill(task["pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        out, err = retrain.communicate(timeout=step_timeout + 120)
        took = time.monotonic() - killed_at
    finally:
        _stop(worker)
        if retrain.poll() is None:
            retrain.kill()
    assert retrain.returncode == 1, err[-2000:]
    run = json.loads(out.strip().splitlines()[-1])
    assert run["status"] == RunStatus.FAILED and run["error"].startswith("ClusterError")
    assert took < step_timeout + 60
    db = open_db(config.db_path)
    assert db["models"].count == 0 and not any(config.models_dir.glob("*"))  # nothing half-written, nothing live
    runs = Runs(db)
    runs.release(runs.start(RunTrigger.CLI, "test"))  # the lock was released
    assert not list(config.shared_dir.iterdir())


def _wait_for(condition, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.5)


def _training_task(shared: Path, index: int, within: float) -> dict:
    """Task `index`'s heartbeat once it has taken a step."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for beat in shared.glob(f"run-*/task-{index}.json"):
            state = json.loads(beat.read_text())
            if state["steps"] > 0:
                return state
        time.sleep(0.5)
    raise AssertionError(f"task {index} took no step within {within} s")


def test_a_worker_that_never_starts_fails_the_run_within_the_join_timeout_saying_what_to_start(tmp_path):
    path = write_config(tmp_path, _training(free_port(), [free_port()], join=5), model=TINY)
    started = time.monotonic()
    done = _cli(path, "retrain", "--json")
    assert done.returncode == 1
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["status"] == RunStatus.FAILED
    assert "worker 1 (127.0.0.1:" in run["error"] and "did not start the run within 5 s" in run["error"]
    assert "supportbot worker --index 1" in run["error"]
    assert time.monotonic() - started < 120
    config = load_config(path)
    assert open_db(config.db_path)["models"].count == 0
