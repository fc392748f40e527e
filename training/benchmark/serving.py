"""Serve one trained system in a fresh Python process and measure it: latency, load time, memory.

A fresh process per system, so its peak RSS and latency are its own, not those of the trainer
or of another system's libraries. Also the process readings the bench's phases use (`rss_mb`,
`peak_rss_mb`, `percentiles`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from training.benchmark.data import BenchmarkError
from training.benchmark.systems import fasttext_text

MIN_TIMED = 300  # latency samples per system, after warm-up
MIN_WARMUP = 50
ROOT = Path(__file__).resolve().parents[2]


def rss_mb() -> float:
    """This process's resident set size now (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not getrusage's ru_maxrss: on Linux that
    carries over the parent's peak through fork+exec, so a child of a big trainer looks big."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    import resource  # not Linux: the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)


def percentiles(latencies_ms: Sequence[float]) -> dict:
    values = np.asarray(latencies_ms, dtype=float)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)),
            "mean": float(values.mean()), "n": int(values.size)}


def predictor(system: str, directory: Path) -> Callable[[str], tuple[str, float]]:
    """text -> (top-1 label, its score), loading only what that system needs to serve."""
    if system == "supportbot":
        from training.classifier import Classifier

        classifier = Classifier(directory)

        def predict(text: str) -> tuple[str, float]:
            return classifier.predict(text, 1)[0]

        return predict
    if system == "tfidf_linearsvc":
        import joblib

        pipeline = joblib.load(directory / "model.joblib")
        classes = pipeline.classes_

        def predict(text: str) -> tuple[str, float]:
            scores = pipeline.decision_function([text])[0]
            best = int(np.argmax(scores))
            return str(classes[best]), float(scores[best])

        return predict
    if system == "fasttext":
        import fasttext

        model = fasttext.load_model(str(directory / "model.bin"))
        labels = json.loads((directory / "labels.json").read_text())

        def predict(text: str) -> tuple[str, float]:
            # model.predict breaks under NumPy 2 (np.array(copy=False)); its binding does the same work.
            [(prob, label)] = model.f.predict(fasttext_text(text) + "\n", 1, 0.0, "strict")
            return labels[int(label.removeprefix("__label__"))], float(prob)

        return predict
    raise BenchmarkError(f"unknown system {system!r}")


def serve_worker(job_path: str, out_path: str) -> None:
    """Body of the serving process: load one model, predict warm-up and test texts one by one."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    started = time.perf_counter()
    predict = predictor(job["system"], Path(job["model"]))
    load_s = time.perf_counter() - started
    warmup = job["warmup"]
    val = [predict(t) for t in warmup]
    for i in range(len(warmup), MIN_WARMUP):
        predict(warmup[i % len(warmup)] if warmup else "hello")
    test, latencies = [], []
    texts = job["test"]
    for i in range(max(len(texts), job["min_timed"])):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        result = predict(text)
        latencies.append((time.perf_counter() - t0) * 1000)
        if i < len(texts):
            test.append(result)
    result = {
        "val": val,
        "test": test,
        "latencies_ms": latencies,
        "load_s": load_s,
        "peak_rss_mb": peak_rss_mb(),
        "tensorflow_loaded": "tensorflow" in sys.modules,
    }
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def serve(system: str, directory: Path, warmup: list[str], test: list[str], min_timed: int = MIN_TIMED) -> dict:
    """Run `serve_worker` in a fresh Python process and return what it measured."""
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps({"system": system, "model": str(directory), "warmup": warmup, "test": test,
                                   "min_timed": min_timed}), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        code = "import sys; from training.benchmark.serving import serve_worker; serve_worker(sys.argv[1], sys.argv[2])"
        done = subprocess.run([sys.executable, "-c", code, str(job), str(out)], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"serving process for {system} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(out.read_text(encoding="utf-8"))
