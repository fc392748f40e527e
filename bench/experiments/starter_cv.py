"""Model selection on the starter domain: 5-fold cross-validation, one configuration per call.

    .venv/bin/python -m bench.experiments.starter_cv NAME '{"members": 1, "lstm_units": 96}' ["what changed"]

Trains config.toml's [model] settings plus the given overrides five times, each model predicting the
fifth of the training examples it did not see, and scores what the bot would answer (config.toml's
[policy]) for every example: the record's figures sit under "answered" (`training.metrics`). The gold
set is never read: model choices for the starter domain are made here. Appends to
bench/experiments/starter_cv.jsonl, which BENCHMARKS.md renders.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

from bench.files import ROOT, STARTER_CV_RECORD
from bench.policy_sweep import answered_scores
from training.config import load_config
from training.crossval import out_of_fold
from training.domain import load_domain

FOLDS = 5


def main(name: str, overrides: dict, note: str) -> dict:
    config = load_config(ROOT / "config.toml")
    settings = replace(config.model, **overrides)
    examples = load_domain(config.data_dir).training_examples()
    started = time.perf_counter()
    oof = out_of_fold(examples, FOLDS, settings)
    answered = answered_scores(oof.probs, oof.labels, [e.intent for e in examples], [e.language for e in examples],
                               config.policy)
    record = {
        "name": name, "note": note, "overrides": overrides, "n": len(examples), "folds": FOLDS,
        "answered": {key: None if value is None else round(value, 4) for key, value in answered.items()},
        "seconds": round(time.perf_counter() - started), "load_average": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with STARTER_CV_RECORD.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")))
