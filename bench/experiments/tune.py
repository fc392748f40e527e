"""Model selection on BANKING77's validation split: one configuration per call, one JSONL line each.

    .venv/bin/python -m bench.experiments.tune NAME '{"learning_rate": 0.01, "lr_schedule": "cosine"}' ["what changed"]
    .venv/bin/python -m bench.experiments.tune tfidf_linearsvc '{}'   # the baseline, on the same split

Trains `training.train.train` (the nightly code) with config.toml's [model] settings plus the
given overrides on train.csv, and scores the served model on the validation split `train()`
holds out. test.csv is never read here: choices are made on validation, and only `make bench`
touches the test set. Appends to bench/experiments/tune.jsonl, which BENCHMARKS.md renders.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

from bench.files import BANKING77, ROOT, TUNE_RECORD
from training.benchmark.data import read_labelled_csv, validation_indices
from training.benchmark.systems import tfidf_linearsvc
from training.config import ModelSettings, load_config
from training.domain import Example
from training.metrics import accuracy, top_intents
from training.train import encode_all, train


def fit_and_predict(examples: list[Example], fit: list[Example], val: list[Example], settings: ModelSettings,
                    baseline: bool) -> tuple[list[str], int]:
    """(predicted validation labels, epochs): our model learns from all of TRAIN (it carves the
    same validation split itself); the baseline learns from `fit`, TRAIN minus that split."""
    if baseline:
        pipeline = tfidf_linearsvc().fit([e.text for e in fit], [e.intent for e in fit])
        return list(pipeline.predict([e.text for e in val])), 0
    trained = train(examples, settings, verbose=0)
    probabilities = trained.model.predict(encode_all(trained.encoder, [e.text for e in val]), batch_size=256, verbose=0)
    return top_intents(probabilities, trained.labels), len(trained.history["loss"])


def main(name: str, overrides: dict, note: str) -> dict:
    settings = replace(load_config(ROOT / "config.toml").model, **overrides)
    examples = read_labelled_csv(BANKING77 / "train.csv")
    fit_rows, val_rows = validation_indices(examples, settings)
    fit, val = [examples[i] for i in fit_rows], [examples[i] for i in val_rows]
    started = time.perf_counter()
    predicted, epochs = fit_and_predict(examples, fit, val, settings, baseline=name == "tfidf_linearsvc")
    train_s = time.perf_counter() - started
    record = {
        "name": name, "note": note, "overrides": overrides,
        "val_accuracy": round(accuracy([e.intent for e in val], predicted), 4),
        "train_s": round(train_s, 1), "epochs": epochs,
        "load_average": round(os.getloadavg()[0], 2), "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with TUNE_RECORD.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")))
