"""The benchmark's data: `text,label` CSVs, and the validation split training holds out of TRAIN."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from training.config import ModelSettings
from training.domain import Example
from training.tokenize import language_of


class BenchmarkError(ValueError):
    """Unusable input (a CSV without text/label columns) or a missing optional dependency."""


# The seed that draws the intents `hold_out_intents` makes out of scope: fixed once, so every run,
# system and setting is measured against the same held-out intents.
HOLD_OUT_SEED = 17


@dataclass(frozen=True)
class Data:
    train: list[Example]  # all of TRAIN: what supportbot's train() gets
    fit: list[Example]  # TRAIN minus the validation split: what every system learns from
    val: list[Example]
    test: list[Example]
    held_out: tuple[str, ...] = ()  # intents relabelled out of scope (`hold_out_intents`)


def read_labelled_csv(path: Path) -> list[Example]:
    """Rows of a CSV with a `text` column and a `label` (or `category`, as in BANKING77) column.

    Texts are stripped (some BANKING77 texts start with a newline); empty rows are skipped.
    """
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        label_column = next((c for c in ("label", "category") if c in columns), None)
        if "text" not in columns or label_column is None:
            raise BenchmarkError(f"{path}: needs a header with text and label (or category) columns, got {columns}")
        examples = []
        for row in reader:
            text, label = (row["text"] or "").strip(), (row[label_column] or "").strip()
            if text and label:
                examples.append(Example(text, label, language_of(text)))
    if not examples:
        raise BenchmarkError(f"{path}: no labelled rows")
    return examples


def validation_indices(examples: list[Example], s: ModelSettings) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of the split `training.train.train` makes of these examples: the
    rows its training set (`training.training_set.export`) holds out, with labels numbered alike."""
    from training.training_set import split_rows  # imports TensorFlow: not at module level (see __init__)

    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    return split_rows(np.array([index[e.intent] for e in examples]), s)


def held_out_intents(examples: list[Example], k: int) -> tuple[str, ...]:
    """k of the data's intents, drawn by HOLD_OUT_SEED: the same ones for the same data, every run."""
    labels = sorted({e.intent for e in examples})
    if not 0 < k < len(labels):
        raise BenchmarkError(f"cannot hold out {k} of {len(labels)} intents: at least one must stay, one go")
    return tuple(sorted(np.random.default_rng(HOLD_OUT_SEED).choice(labels, k, replace=False).tolist()))


def _out_of_scope(examples: list[Example], held: tuple[str, ...], oos_label: str) -> list[Example]:
    return [replace(e, intent=oos_label) if e.intent in held else e for e in examples]


def load_data(train_csv: Path, test_csv: Path, s: ModelSettings, hold_out: int = 0, oos_label: str = "") -> Data:
    """TRAIN, its split, TEST. With `hold_out` k, a data set without an out-of-scope class gets one
    the usual way: k intents (`held_out_intents`) become `oos_label`, no system learns from them,
    and validation gets the same share of their TRAIN rows as of the others' (drawn with the
    model's seed), so the out-of-scope threshold is chosen on validation, never on TEST."""
    train, test = read_labelled_csv(train_csv), read_labelled_csv(test_csv)
    held = held_out_intents(train, hold_out) if hold_out else ()
    unseen = _out_of_scope([e for e in train if e.intent in held], held, oos_label)
    train = [e for e in train if e.intent not in held]
    fit_rows, val_rows = validation_indices(train, s)
    rng = np.random.default_rng(s.seed)
    unseen_val = [unseen[i] for i in sorted(rng.permutation(len(unseen))[: math.ceil(len(unseen) * s.validation_fraction)])]
    return Data(train, [train[i] for i in sorted(fit_rows)], [train[i] for i in sorted(val_rows)] + unseen_val,
                _out_of_scope(test, held, oos_label), held)
