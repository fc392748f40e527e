"""Phase: how retraining time grows with the number of examples (one size per process).

    python -m bench.phases.scaling N OUT.json [EPOCHS]

Examples come from BANKING77 train.csv (10,003 rows, 77 intents):
- N <= 10,003: a stratified sample of N rows (scikit-learn train_test_split, random_state=0), or
  a plain random one (seed 0) when fewer rows than intents are left out (10,000 of 10,003);
- N > 10,003: every row, plus N - 10,003 copies of randomly chosen rows (seed 0), each with
  one light perturbation (a typo in one word of 4+ letters: two inner letters swapped, one
  dropped or one doubled; a text without such a word loses its final punctuation or gets a
  trailing "please"), so the copies add new surface forms rather than exact duplicates.

`training.train.train` with config.toml's [model] settings, timed alone (not the LiteRT export).
With EPOCHS, early stopping is taken out of the picture (max_epochs = patience = EPOCHS) so
every size runs the same number of epochs; without it, train() stops early as a nightly run does.
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.files import BANKING77, ROOT, write_json  # noqa: E402
from training.benchmark.data import read_labelled_csv  # noqa: E402
from training.config import load_config  # noqa: E402
from training.domain import Example  # noqa: E402


def perturb(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text[:-1] if text[-1:] in "?.!" else f"{text} please"
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == "drop":
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def sample(examples: list[Example], n: int) -> list[Example]:
    rng = random.Random(0)
    if n <= len(examples):
        if len(examples) - n < len({e.intent for e in examples}):  # too few left out to stratify: plain sample
            return rng.sample(examples, n)
        from sklearn.model_selection import train_test_split

        chosen, _ = train_test_split(examples, train_size=n, random_state=0, stratify=[e.intent for e in examples])
        return list(chosen)
    extra = [rng.choice(examples) for _ in range(n - len(examples))]
    return list(examples) + [Example(perturb(e.text, rng), e.intent, e.language) for e in extra]


def main(n: int, out: Path, epochs: int | None) -> None:
    from training.train import train

    settings = load_config(ROOT / "config.toml").model
    if epochs:
        settings = dataclasses.replace(settings, max_epochs=epochs, patience=epochs)
    examples = sample(read_labelled_csv(BANKING77 / "train.csv"), n)
    started = time.perf_counter()
    trained = train(examples, settings, verbose=0)
    train_s = time.perf_counter() - started
    ran = len(trained.history.get("loss", []))
    write_json(out, {
        "n": len(examples),
        "train_s": train_s,
        "epochs": ran,
        "s_per_epoch": train_s / ran,
        "val_accuracy": max(trained.history.get("val_accuracy", [0.0])),
        "n_labels": len(trained.labels),
        "vocab": len(trained.encoder),
        "fixed_epochs": epochs,
    })


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
