"""Fit the intent model and save it as one self-contained artefact directory.

The artefact holds the Keras model, a LiteRT (TFLite) export for serving, the encoder (vocabulary
and n-gram settings), the labels and metadata: everything needed to serve it, and nothing else is.

Training says nothing on its own: TensorFlow is imported, and fits and exports, inside
`training.quiet.quiet()`, so the terminal shows only what the caller asks for: its `progress` text,
or one progress bar (`bar=True`, TrainingBar).
"""

from __future__ import annotations

import hashlib
import json
import math
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
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

from training.config import ModelSettings
from training.domain import Example
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


def data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for text, intent in sorted((e.text, e.intent) for e in examples):
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def _targets(model: keras.Model, y: np.ndarray, n_labels: int) -> dict[str, np.ndarray]:
    """The same labels for every output: the average and each classifier trained on its own."""
    onehot = keras.utils.to_categorical(y, n_labels)
    return {name: onehot for name in model.output_names}


def _history(raw: dict[str, list]) -> dict[str, list[float]]:
    """The served output's curve under the usual names (loss, accuracy, val_loss, val_accuracy)."""
    names = {"intent_loss": "loss", "intent_accuracy": "accuracy", "val_intent_loss": "val_loss",
             "val_intent_accuracy": "val_accuracy"}
    return {new: [float(v) for v in raw[old]] for old, new in names.items() if old in raw}


def encode_all(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The model's two inputs for many texts, through the same `encode` the bot uses."""
    pairs = [encoder.encode(t) for t in texts]
    return np.array([p[0] for p in pairs], dtype="int32"), np.array([p[1] for p in pairs], dtype="int32")


def validation_split(ids: np.ndarray, grams: np.ndarray, y: np.ndarray, s: ModelSettings) -> list[np.ndarray]:
    """The validation part early stopping watches, held out of (ids, grams, y): train_test_split's
    six arrays (ids_train, ids_val, grams_train, grams_val, y_train, y_val).

    Stratified when the split can hold every class and every class can spare an example (small
    data with many intents cannot), plain otherwise. Public because the benchmark re-creates this
    split (`training.benchmark.data.validation_indices`) to hold the same examples out of its baselines."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    fits = math.ceil(len(y) * s.validation_fraction) >= len(counts) and counts.min() >= 2
    stratify = y if fits else None
    return train_test_split(ids, grams, y, test_size=s.validation_fraction, random_state=s.seed, stratify=stratify)


def _progress_callback(progress: Callable[[str], None], max_epochs: int) -> keras.callbacks.Callback:
    def report(epoch: int, logs: dict) -> None:
        progress(f"epoch {epoch + 1}/{max_epochs}, validation accuracy {logs.get('val_intent_accuracy', 0):.3f}")

    return keras.callbacks.LambdaCallback(on_epoch_end=report)


class TrainingBar(keras.callbacks.Callback):
    """One bar on stderr for the whole fit, every epoch's batches: Keras' own draws one per epoch.
    Early stopping fills it up, so it never ends looking unfinished."""

    def __init__(self, max_epochs: int, steps_per_epoch: int) -> None:
        super().__init__()
        self.max_epochs, self.steps_per_epoch = max_epochs, steps_per_epoch
        self.bar: tqdm | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.bar = tqdm(total=self.max_epochs * self.steps_per_epoch, desc="training",
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}", dynamic_ncols=True)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = (logs or {}).get("val_intent_accuracy", 0.0)
        self.bar.set_postfix_str(f"epoch {epoch + 1}/{self.max_epochs}, validation accuracy {accuracy:.3f}")

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


def train(
    examples: list[Example], s: ModelSettings, verbose: int = 2, progress: Callable[[str], None] | None = None,
    bar: bool = False,
) -> TrainedModel:
    """Same examples and seed -> same weights: seeds are fixed and ops deterministic.
    `verbose` is Keras' (0 silent, 2 a line per epoch); `bar` draws one TrainingBar instead."""
    keras.utils.set_random_seed(s.seed)
    tf.config.experimental.enable_op_determinism()
    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    encoder = Encoder.build((e.text for e in examples), s.max_vocab, s.max_len, s.ngram_buckets, s.max_ngrams)
    ids, grams = encode_all(encoder, [e.text for e in examples])
    y = np.array([index[e.intent] for e in examples])
    ids_train, ids_val, grams_train, grams_val, y_train, y_val = validation_split(ids, grams, y, s)
    steps_per_epoch = -(-len(y_train) // s.batch_size)
    with quiet():
        model, serving = build_model(len(encoder), len(labels), s, steps_per_epoch * s.max_epochs)
        fit = model.fit(
            (ids_train, grams_train),
            _targets(model, y_train, len(labels)),
            validation_data=((ids_val, grams_val), _targets(model, y_val, len(labels))),
            epochs=s.max_epochs,
            batch_size=s.batch_size,
            callbacks=[
                keras.callbacks.EarlyStopping("val_intent_loss", mode="min", patience=s.patience, restore_best_weights=True),
                *([_progress_callback(progress, s.max_epochs)] if progress else []),
                *([TrainingBar(s.max_epochs, steps_per_epoch)] if bar else []),
            ],
            verbose=0 if bar else verbose,
        )
    return TrainedModel(serving, encoder, labels, _history(fit.history), data_hash(examples), len(examples))


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
