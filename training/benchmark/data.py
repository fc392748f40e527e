"""The benchmark's data: `text,label` CSVs, and the validation split training holds out of TRAIN."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.config import ModelSettings
from training.domain import Example
from training.tokenize import language_of


class BenchmarkError(ValueError):
    """Unusable input (a CSV without text/label columns) or a missing optional dependency."""


@dataclass(frozen=True)
class Data:
    train: list[Example]  # all of TRAIN: what supportbot's train() gets
    fit: list[Example]  # TRAIN minus the validation split: what every system learns from
    val: list[Example]
    test: list[Example]


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
    """(train, validation) indices of the split `training.train.train` makes of these examples.

    `validation_split` is called on row numbers instead of encoded texts: train_test_split's
    permutation depends only on the number of rows, the labels and the seed, so the split is the same.
    """
    from training.train import validation_split  # imports TensorFlow: not at module level (see __init__)

    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[e.intent] for e in examples])
    rows = np.arange(len(examples))
    train_rows, val_rows, *_ = validation_split(rows, rows, y, s)
    return np.asarray(train_rows), np.asarray(val_rows)


def load_data(train_csv: Path, test_csv: Path, s: ModelSettings) -> Data:
    train = read_labelled_csv(train_csv)
    test = read_labelled_csv(test_csv)
    fit_rows, val_rows = validation_indices(train, s)
    return Data(train, [train[i] for i in sorted(fit_rows)], [train[i] for i in sorted(val_rows)], test)
