"""Train a model version, measure it on the gold set and store it atomically in the registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage.registry import ModelRegistry
from training.classifier import Classifier
from training.cluster_run import train_stage
from training.config import ModelSettings, PolicySettings, TrainingSettings
from training.domain import Example
from training.evaluate import as_answered, evaluate
from training.fit_loop import Watch
from training.train import TrainedModel, save, train, write_meta


@dataclass(frozen=True)
class Release:
    version: str
    metrics: dict
    trained: TrainedModel


def train_release(
    examples: list[Example],
    gold: list[Example],
    s: ModelSettings,
    registry: ModelRegistry,
    policy: PolicySettings,
    verbose: int = 2,
    progress: Callable[[str], None] | None = None,
    bar: bool = False,
    cluster: tuple[TrainingSettings, Path] | None = None,
) -> Release:
    """The metrics are measured on the served artefact itself (LiteRT), not on the Keras model, as
    the bot answers under `policy` (see `training.evaluate.as_answered`). `bar`: one progress bar
    on the terminal instead of a line per epoch. `cluster` ([training] settings, the shared
    directory): the train stage as configured (training/cluster_run.py), else here from a
    temporary training set."""
    if cluster:
        trained = train_stage(examples, s, *cluster, Watch(progress, bar, verbose))
    else:
        trained = train(examples, s, verbose=verbose, progress=progress, bar=bar)
    version = registry.new_version()
    with registry.writing(version) as scratch:
        save(trained, scratch, s)
        classifier = Classifier(scratch)
        metrics = evaluate(as_answered(classifier, policy), gold, Counter(e.language for e in examples))
        write_meta(trained, scratch, version, s, metrics)
    registry.register(version, metrics)
    return Release(version, metrics, trained)
