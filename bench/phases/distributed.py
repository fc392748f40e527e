"""Phase: training from an exported training set, on one machine and on two local workers.

    python -m bench.phases.distributed WORK_DIR OUT.json
    python -m bench.phases.distributed steps SET_DIR STEPS OUT.json   (one memory point, its own process)

- `memory_mb_by_examples`: synthetic training sets of 10k, 100k and 1M examples, made from the
  starter domain's examples with variations (each text gets one of 20 reference words and a
  light typo; each (intent, reference) pair is its own intent: several hundred intents), exported
  once each (`training.training_set.export`); then a fresh process trains from the files for a
  fixed number of steps with config.toml's [model] settings and reports its peak RSS. The export
  holds the examples in memory (as the chief's collect and clean do); the train stage reads files.
- `memory_long_run`: the same for 200k examples over 1,000 steps, its resident memory every 100.
- `one_worker` / `two_workers`: BANKING77 train.csv (its test.csv scored), config.toml's [model]
  settings with `DISTRIBUTED_EPOCHS` epochs, over `SEEDS`: the train stage on this machine alone,
  and across the chief plus one `supportbot worker --index 1` process on 127.0.0.1
  (MultiWorkerMirroredStrategy, the same global batch). Both processes share the two cores.
- `scaling_estimate`: N machines on paper, from the one-worker run's measured seconds per step and
  the bytes each step's gradients exchange (`gradient_bytes`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.files import BANKING77, ROOT, config_text, write_json  # noqa: E402
from bench.phases.scaling import perturb  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from training.benchmark.data import read_labelled_csv  # noqa: E402
from training.config import ModelSettings, TrainingSettings, load_config  # noqa: E402
from training.domain import Example, load_domain  # noqa: E402

MEMORY_SIZES = (10_000, 100_000, 1_000_000)
MEMORY_STEPS = 200
LONG_RUN = (200_000, 1_000, 100)  # examples, steps, sample RSS every this many steps
REFERENCES = 20
SEEDS = (1234, 1, 2)
DISTRIBUTED_EPOCHS = 4
BANDWIDTHS_GBIT = (1, 10)
MACHINES = (1, 2, 4, 8, 16)


def synthetic(base: list[Example], n: int) -> list[Example]:
    """`n` examples from the starter domain's (shuffled once, so every size spans every intent): a
    reference word per copy makes (intent, reference) its own intent, a typo varies the text."""
    rng = random.Random(0)
    base = rng.sample(base, len(base))
    out = []
    for i in range(n):
        e, ref = base[(i // REFERENCES) % len(base)], i % REFERENCES
        out.append(Example(f"{perturb(e.text, rng)} ref{ref}", f"{e.intent}__{ref}", e.language))
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def steps(set_dir: Path, n_steps: int, out: Path, every: int = 0) -> None:
    """One memory point: train from the files for `n_steps` steps in this (fresh) process; with
    `every`, the resident memory after every that many steps too (does it grow in the long run?)."""
    from training import training_set
    from training.fit_loop import Watch
    from training.train import train_from

    s = dataclasses.replace(load_config(ROOT / "config.toml").model, max_epochs=1)
    manifest = training_set.load(set_dir, s, verify=False)
    samples: list[float] = []
    taken = iter(range(1, n_steps + 1))

    def sample() -> None:
        if every and next(taken) % every == 0:
            samples.append(_rss_mb())

    started = time.perf_counter()
    train_from(manifest, s, Watch(step=sample), steps_per_epoch=n_steps)
    write_json(out, {"steps": n_steps, "train_s": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb(),
                     "rss_mb_every": every, "rss_mb_samples": samples})


def memory_point(work: Path, n: int, n_steps: int, every: int = 0) -> dict:
    """Export `n` synthetic examples, train from them for `n_steps` in a fresh process, remove the files."""
    from training import training_set

    s = load_config(ROOT / "config.toml").model
    started = time.perf_counter()
    manifest = training_set.export(synthetic(load_domain(ROOT / "data").training_examples(), n), s,
                                   work / f"set-{n}", shards=8)
    export_s = time.perf_counter() - started
    set_mb = sum(f.stat().st_size for f in manifest.directory.iterdir()) / 1e6
    out = work / f"steps-{n}.json"
    subprocess.run([sys.executable, "-m", "bench.phases.distributed", "steps", str(manifest.directory),
                    str(n_steps), str(out), str(every)], check=True, cwd=ROOT)
    vocabulary = len(manifest.encoder())
    shutil.rmtree(manifest.directory)
    return {"examples": n, "intents": len(manifest.labels), "vocabulary": vocabulary, "export_s": export_s,
            "set_mb": set_mb, **_read(out)}


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _accuracy(trained, test: list[Example]) -> float:
    import numpy as np

    from training.train import encode_all

    probs = trained.model.predict(encode_all(trained.encoder, [e.text for e in test]), verbose=0)
    predicted = np.array(trained.labels)[probs.argmax(axis=1)]
    return float(np.mean(predicted == np.array([e.intent for e in test])))


def banking77_runs(work: Path) -> dict:
    """One worker and two over SEEDS: accuracy on test.csv and the train stage's wall time."""
    from training.cluster_run import train_stage
    from training.fit_loop import Watch

    train, test = read_labelled_csv(BANKING77 / "train.csv"), read_labelled_csv(BANKING77 / "test.csv")
    base = load_config(ROOT / "config.toml").model
    ports = [free_port(), free_port()]
    cluster = TrainingSettings(workers=(f"127.0.0.1:{ports[1]}",), chief=f"127.0.0.1:{ports[0]}")
    config = work / "cluster.toml"
    config.write_text(config_text(work / "var", {"training": {"workers": list(cluster.workers), "chief": cluster.chief}}))
    shared = load_config(config).shared_dir
    results: dict[str, list[dict]] = {"one_worker": [], "two_workers": []}
    for seed in SEEDS:
        s = dataclasses.replace(base, seed=seed, max_epochs=DISTRIBUTED_EPOCHS, patience=DISTRIBUTED_EPOCHS)
        for name, settings in (("one_worker", TrainingSettings()), ("two_workers", cluster)):
            worker = _worker(config, work / f"worker-{seed}.log") if settings.distributed else None
            try:
                started = time.perf_counter()
                trained = train_stage(train, s, settings, shared, Watch())
                train_s = time.perf_counter() - started
            finally:
                if worker:
                    worker.terminate()
                    worker.wait()
            epochs = len(trained.history["loss"])
            results[name].append({"seed": seed, "accuracy": _accuracy(trained, test), "train_s": train_s,
                                  "epochs": epochs, "steps": epochs * _steps_per_epoch(len(train), s)})
    return {name: _summary(runs) for name, runs in results.items()} | {"gradient_bytes": _gradient_bytes(base)}


def _steps_per_epoch(n: int, s: ModelSettings) -> int:
    """The fit part's batches: train_test_split holds out ceil(n x validation_fraction) rows."""
    return math.ceil((n - math.ceil(n * s.validation_fraction)) / s.batch_size)


def _summary(runs: list[dict]) -> dict:
    accuracies = [r["accuracy"] for r in runs]
    return {"accuracy": statistics.mean(accuracies), "accuracy_sd": statistics.stdev(accuracies),
            "train_s": statistics.median(r["train_s"] for r in runs), "runs": runs}


def _gradient_bytes(s: ModelSettings) -> dict:
    """Bytes one step's gradients exchange per worker: the dense variables' whole, and the rows
    of the embeddings the batch touched (TensorFlow all-gathers those as IndexedSlices)."""
    from training.model import build_model

    model, _ = build_model(s.max_vocab, 77, s)
    embeddings = sum(v.numpy().size for v in model.trainable_variables if "embedding" in v.path)
    dense = sum(v.numpy().size for v in model.trainable_variables) - embeddings
    touched = s.batch_size * (s.max_len * s.embedding_dim + s.max_ngrams * s.ngram_dim) * s.members
    return {"dense": dense * 4, "sparse_per_batch": touched * 4, "embedding_parameters": embeddings,
            "dense_parameters": dense}


def scaling_estimate(one: dict, gradient: dict) -> list[dict]:
    """Step time for N machines = compute / N + ring all-reduce of the dense gradients
    (2 (N-1)/N x bytes / bandwidth) + all-gather of the sparse rows ((N-1)/N x bytes / bandwidth);
    the global batch split N ways, so the same steps per epoch."""
    per_step = statistics.median(r["train_s"] / r["steps"] for r in one["runs"])
    rows = []
    for gbit in BANDWIDTHS_GBIT:
        bandwidth = gbit * 1e9 / 8
        for n in MACHINES:
            comm = 0.0 if n == 1 else ((2 * gradient["dense"] + gradient["sparse_per_batch"]) * (n - 1) / n) / bandwidth
            step = per_step / n + comm
            rows.append({"machines": n, "gbit_s": gbit, "step_s": step, "speedup": per_step / step})
    return rows


def _worker(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SUPPORTBOT_VAR"}
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--index", "1", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def main(work: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="distributed-", dir=work) as tmp:
        memory_rows = [memory_point(Path(tmp), n, MEMORY_STEPS) for n in MEMORY_SIZES]
        long_run = memory_point(Path(tmp), *LONG_RUN)
        runs = banking77_runs(Path(tmp))
    write_json(out, {
        "one_worker": runs["one_worker"],
        "two_workers": runs["two_workers"],
        "memory_mb_by_examples": memory_rows,
        "memory_long_run": long_run,
        "gradient_bytes": runs["gradient_bytes"],
        "scaling_estimate": scaling_estimate(runs["one_worker"], runs["gradient_bytes"]),
        "epochs": DISTRIBUTED_EPOCHS,
        "nproc": os.cpu_count(),
        "seeds": list(SEEDS),
        "memory_steps": MEMORY_STEPS,
    })


if __name__ == "__main__":
    if sys.argv[1] == "steps":
        steps(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]))
