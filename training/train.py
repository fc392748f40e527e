"""Fit the intent model and save it as one self-contained artefact directory.

The artefact holds the Keras model, a LiteRT (TFLite) export for serving, the encoder (vocabulary
and n-gram settings), the labels and metadata: everything needed to serve it, and nothing else is.

Training says nothing on its own: TensorFlow is imported, and fits and exports, inside
`training.quiet.quiet()`, so the terminal shows only what the caller asks for: its `progress` text,
or one progress bar (`bar=True`; see `training.fit_loop.Watch`).
"""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from training.quiet import quiet

with quiet():  # TensorFlow's first words come as it loads
    import keras
    import numpy as np
    import tensorflow as tf

from training import training_set
from training.config import ModelSettings
from training.domain import Example
from training.fit_loop import Watch, fit
from training.model import build_model
from training.tokenize import Encoder


@dataclass
class TrainedModel:
    model: keras.Model
    encoder: Encoder
    labels: list[str]
    history: dict[str, list[float]]
    data_hash: str
    n_train: int


def encode_all(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The model's two inputs for many texts, through the same `encode` the bot uses."""
    pairs = [encoder.encode(t) for t in texts]
    return np.array([p[0] for p in pairs], dtype="int32"), np.array([p[1] for p in pairs], dtype="int32")


def train(
    examples: list[Example], s: ModelSettings, verbose: int = 0, progress: Callable[[str], None] | None = None,
    bar: bool = False, export_dir: Path | None = None,
) -> TrainedModel:
    """Export the examples as a training set (`training.training_set`, in `export_dir` or a
    temporary directory) and train on it on this machine: the path every run takes, and the one
    a multi-worker run takes on each worker (`training.cluster_task`).
    `verbose` prints a line per epoch; `bar` draws one bar for the whole fit instead."""
    with tempfile.TemporaryDirectory(prefix="supportbot-training-set-") as tmp:
        manifest = training_set.export(examples, s, export_dir or Path(tmp))
        return train_from(manifest, s, Watch(progress, bar, verbose))


def train_from(manifest: training_set.Manifest, s: ModelSettings, watch: Watch,
               strategy: tf.distribute.Strategy | None = None, steps_per_epoch: int | None = None) -> TrainedModel:
    """Same training set and seed -> same weights: seeds are fixed and ops deterministic.
    `steps_per_epoch`: see `training.fit_loop.fit`."""
    keras.utils.set_random_seed(s.seed)
    tf.config.experimental.enable_op_determinism()
    strategy = strategy or tf.distribute.get_strategy()
    encoder = manifest.encoder()
    with quiet():
        with strategy.scope():
            model, serving = build_model(len(encoder), len(manifest.labels), s)
        history = fit(model, manifest, s, strategy, watch, steps_per_epoch)
    return TrainedModel(serving, encoder, manifest.labels, history, manifest.data_hash, manifest.n_examples)


class Quantisation(StrEnum):
    """LiteRT post-training quantisation of the export's weights."""

    NONE = "none"  # float32, as trained
    DYNAMIC_RANGE = "dynamic_range"  # int8 weights, float activations
    FLOAT16 = "float16"  # float16 weights, dequantised to float32 when loaded


def export_tflite(model: keras.Model, s: ModelSettings, quantisation: Quantisation = Quantisation.NONE) -> bytes:
    """Batch 1, as the bot serves; the token length left open, so the Classifier can run each
    message at the shortest length that holds it (its n-grams stay max_ngrams long: cheap)."""
    signature = [[tf.TensorSpec([1, None], tf.int32), tf.TensorSpec([1, s.max_ngrams], tf.int32)]]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", input_signature=signature, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if quantisation != Quantisation.NONE:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantisation == Quantisation.FLOAT16:
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def save(trained: TrainedModel, directory: Path, s: ModelSettings) -> None:
    """Everything the bot needs to serve the model; `write_meta` adds the metrics once measured."""
    with quiet():
        trained.model.save(directory / "model.keras")
        (directory / "model.tflite").write_bytes(export_tflite(trained.model, s))
    trained.encoder.save(directory / "encoder.json")
    (directory / "labels.json").write_text(json.dumps(trained.labels))
    (directory / "history.json").write_text(json.dumps(trained.history))


def write_meta(trained: TrainedModel, directory: Path, version: str, s: ModelSettings, metrics: dict) -> None:
    meta = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_hash": trained.data_hash,
        "n_train": trained.n_train,
        "epochs": len(trained.history.get("loss", [])),
        "settings": asdict(s),
        "metrics": metrics,
        "libraries": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()},
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
