"""Serving latency of one trained model's LiteRT export variants: one JSONL line per variant.

    .venv/bin/python -m bench.experiments.serving_variants NAME MODEL_DIR DATA_DIR ["what changed"]

MODEL_DIR is a model `bench.experiments.tune --keep` saved (model.keras, settings.json); DATA_DIR the
data set it was trained on. Each variant (`training.train.Quantisation`) is exported from the same
Keras model and served by `Classifier` in a fresh process (`training.benchmark.serving.serve`),
one message at a time, tokenisation included, over the validation texts `train()` held out; the
variants take turns for ROUNDS rounds, so a busy machine slows each alike, and the median round is
kept, and the serving process's peak RSS. Also records each variant's validation accuracy and its largest probability difference from
the float32 export. Appends to bench/experiments/serving_variants.jsonl.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.files import ROOT
from training.benchmark.data import read_labelled_csv, validation_indices
from training.benchmark.serving import percentiles, serve
from training.config import ModelSettings
from training.train import Quantisation, export_tflite

RECORD = ROOT / "bench" / "experiments" / "serving_variants.jsonl"
ROUNDS = 3


def export_variants(model_dir: Path, work: Path) -> dict[Quantisation, Path]:
    """One servable directory per variant: the kept model's encoder and labels, its own export."""
    import keras

    settings = ModelSettings(**json.loads((model_dir / "settings.json").read_text()))
    model = keras.models.load_model(model_dir / "model.keras")
    dirs = {}
    for variant in Quantisation:
        out = work / variant.value
        out.mkdir()
        for name in ("encoder.json", "labels.json"):
            shutil.copy(model_dir / name, out / name)
        (out / "model.tflite").write_bytes(export_tflite(model, settings, variant))
        dirs[variant] = out
    return dirs


def probabilities(directory: Path, texts: list[str]) -> np.ndarray:
    from training.classifier import Classifier

    classifier = Classifier(directory)
    return np.array([classifier.probabilities(t) for t in texts])


def main(name: str, model_dir: Path, data_dir: Path, note: str) -> list[dict]:
    examples = read_labelled_csv(data_dir / "train.csv")
    settings = ModelSettings(**json.loads((model_dir / "settings.json").read_text()))
    _, val_rows = validation_indices(examples, settings)
    val = [examples[i] for i in val_rows]
    texts = [e.text for e in val]
    with tempfile.TemporaryDirectory(prefix="serving-variants-") as tmp:
        dirs = export_variants(model_dir, Path(tmp))
        rounds: dict[Quantisation, list[dict]] = {v: [] for v in dirs}
        for _ in range(ROUNDS):
            for v, d in dirs.items():
                served = serve("supportbot", d, texts[:50], texts)
                rounds[v].append({**percentiles(served["latencies_ms"]), "peak_rss_mb": served["peak_rss_mb"]})
        reference = probabilities(dirs[Quantisation.NONE], texts)
        records = []
        for v, d in dirs.items():
            probs = probabilities(d, texts)
            labels = json.loads((d / "labels.json").read_text())
            predicted = [labels[i] for i in probs.argmax(axis=1)]
            records.append({
                "name": name, "variant": v.value, "data": data_dir.name, "note": note, "n": len(texts),
                "p50_ms": round(statistics.median(r["p50"] for r in rounds[v]), 3),
                "p99_ms": round(statistics.median(r["p99"] for r in rounds[v]), 3),
                "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rounds[v])),
                "model_mb": round((d / "model.tflite").stat().st_size / 1e6, 2),
                "val_accuracy": round(float(np.mean([p == e.intent for p, e in zip(predicted, val)])), 4),
                "max_abs_diff": float(np.abs(probs - reference).max()),
                "load_average": round(os.getloadavg()[0], 2), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            })
    with RECORD.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    return records


if __name__ == "__main__":
    for record in main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else ""):
        print(json.dumps(record))
