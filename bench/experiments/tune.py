"""Model selection on the validation splits of BANKING77 and HWU64: one configuration per call,
one JSONL line per data set.

    .venv/bin/python -m bench.experiments.tune NAME '{"learning_rate": 0.01}' ["what changed"] [--data hwu64]
    .venv/bin/python -m bench.experiments.tune tfidf_linearsvc '{}'   # the baseline, on the same splits

Trains `training.train.train` (the nightly code) with config.toml's [model] settings plus the
given overrides on each data set's train.csv, and scores the served model on the validation split
`train()` holds out. Both data sets by default: a choice made on one alone fits that one (#17).
test.csv is never read here: choices are made on validation, and only `make bench` touches the
test sets. Appends to bench/experiments/tune.jsonl, which BENCHMARKS.md renders; each line names
its data set (lines without one are BANKING77's, from before HWU64 was shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from bench.files import BANKING77, ROOT, TUNE_RECORD
from training.benchmark.data import read_labelled_csv, validation_indices
from training.benchmark.systems import tfidf_linearsvc
from training.config import ModelSettings, load_config
from training.domain import Example
from training.metrics import accuracy, top_intents
from training.train import encode_all, save, train


class Dataset(StrEnum):
    BANKING77 = "banking77"
    HWU64 = "hwu64"

    @property
    def directory(self) -> Path:
        return BANKING77.parent / self.value  # the shared data sets sit side by side


def fit_and_predict(examples: list[Example], fit: list[Example], val: list[Example], settings: ModelSettings,
                    baseline: bool, keep: Path | None) -> tuple[list[str], int]:
    """(predicted validation labels, epochs): our model learns from all of TRAIN (it carves the
    same validation split itself); the baseline learns from `fit`, TRAIN minus that split.
    `keep`: a directory to save our model into (for serving measurements), else nothing is saved."""
    if baseline:
        pipeline = tfidf_linearsvc().fit([e.text for e in fit], [e.intent for e in fit])
        return list(pipeline.predict([e.text for e in val])), 0
    trained = train(examples, settings, verbose=0)
    probabilities = trained.model.predict(encode_all(trained.encoder, [e.text for e in val]), batch_size=256, verbose=0)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        save(trained, keep, settings)
        (keep / "settings.json").write_text(json.dumps(asdict(settings)))
    return top_intents(probabilities, trained.labels), len(trained.history["loss"])


def score(name: str, dataset: Dataset, overrides: dict, note: str, keep: Path | None = None) -> dict:
    """Train and score one configuration on one data set's validation split; append its line."""
    settings = replace(load_config(ROOT / "config.toml").model, **overrides)
    examples = read_labelled_csv(dataset.directory / "train.csv")
    fit_rows, val_rows = validation_indices(examples, settings)
    fit, val = [examples[i] for i in fit_rows], [examples[i] for i in val_rows]
    started = time.perf_counter()
    predicted, epochs = fit_and_predict(examples, fit, val, settings, name == "tfidf_linearsvc", keep)
    train_s = time.perf_counter() - started
    record = {
        "name": name, "data": dataset.value, "note": note, "overrides": overrides, "n_val": len(val),
        "val_accuracy": round(accuracy([e.intent for e in val], predicted), 4),
        "train_s": round(train_s, 1), "epochs": epochs,
        "load_average": round(os.getloadavg()[0], 2), "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with TUNE_RECORD.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("overrides", type=json.loads, help="[model] settings to change, as a JSON object")
    parser.add_argument("note", nargs="?", default="")
    parser.add_argument("--data", type=Dataset, action="append", choices=list(Dataset),
                        help="a data set to score on (repeatable; default: every one)")
    parser.add_argument("--keep", type=Path, help="save each trained model under KEEP/<data set>")
    args = parser.parse_args()
    for dataset in args.data or list(Dataset):
        keep = args.keep / dataset.value if args.keep else None
        print(json.dumps(score(args.name, dataset, args.overrides, args.note, keep)), flush=True)


if __name__ == "__main__":
    main()
