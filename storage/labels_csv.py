"""Labelled data in and out as `text,label` CSV; an import is all or nothing.

The CSV format is its own job (header, columns, problems by line); the rows go through `Labels`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlite_utils import Database

from storage.labels import Labels, LabelSource


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def export_labels(db: Database, out: TextIO) -> int:
    """Write every label as `text,label` in the order they were made; returns how many."""
    labels = Labels(db).all()
    writer = csv.writer(out)
    writer.writerow(["text", "label"])
    writer.writerows((text, intent) for text, intent, _source, _created_at in labels)
    return len(labels)


def _parse(path: Path, known: set[str], clean_text: Callable[[str], str]) -> tuple[list[tuple[str, str]], list[ImportProblem]]:
    rows, problems = [], []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:2]] != ["text", "label"]:
                return [], [ImportProblem(1, "the header must be: text,label")]
            for record in reader:
                line = reader.line_num
                if len(record) != 2:
                    problems.append(ImportProblem(line, f"expected 2 columns, found {len(record)}"))
                elif not record[0].strip():
                    problems.append(ImportProblem(line, "empty text"))
                elif record[1].strip() not in known:
                    problems.append(ImportProblem(line, f"unknown label {record[1].strip()!r}"))
                else:
                    rows.append((clean_text(record[0].strip()), record[1].strip()))
    except (UnicodeDecodeError, csv.Error) as exc:
        problems.append(ImportProblem(0, f"unreadable CSV: {exc}"))
    return rows, problems


def import_labels(
    db: Database, path: Path, known: set[str], clean_text: Callable[[str], str], by: str
) -> tuple[int, list[ImportProblem]]:
    """Store every row as an imported label (labelled by `by`), or none of them if any row has a problem."""
    rows, problems = _parse(path, known, clean_text)
    if problems:
        return 0, problems
    return Labels(db).add_many(rows, LabelSource.IMPORT, by), []
