"""Read the labelled examples that conversations produced, counting where each came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlite_utils import Database

from storage.labels import Labels, LabelSource
from training.clean import Labelled
from training.config import LearningSettings
from training.policy import Action


@dataclass(frozen=True)
class Collected:
    rows: list[Labelled]
    by_source: dict[str, int]
    new: int  # labels created since the last run that trained a model


def collect(db: Database, since: str | None, s: LearningSettings) -> Collected:
    """Every stored label, then (when switched on) the confident predictions nobody refuted."""
    labels = Labels(db)
    rows = [Labelled(*label) for label in labels.all()]
    if s.include_predictions:
        rows += [
            Labelled(text, intent, LabelSource.PREDICTION, created_at)
            for text, intent, created_at in labels.confident_predictions(s.prediction_confidence, Action.ANSWER)
        ]
    new = sum(1 for r in rows if since is None or r.created_at > since)
    return Collected(rows, dict(Counter(r.source for r in rows)), new)
