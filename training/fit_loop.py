"""The training loop, written out so that it runs under any `tf.distribute` strategy.

Keras' `model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585: "Attempt to
convert a value (PerReplica...)"), so this loop keeps what `fit` gave the model: Adam with the
cosine learning-rate schedule, one loss per classifier (`training.model.loss_weight`), the served
average's accuracy and loss on validation after every epoch, early stopping on that loss with the
best epoch's weights restored, and progress. One machine runs it under the default strategy, so a
model trained alone and one trained by many workers come out of the same code.

Each step draws one *global* batch (`batch_size`) from the training set's files; a multi-worker
strategy gives each worker its own shards and a share of the batch, and sums their gradients.
Every worker takes the same number of steps per epoch (the data repeats) and scores the same
validation set, so they reach the same early-stopping decision without talking about it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from training import training_set
from training.config import ModelSettings
from training.model import learning_rate, loss_weight

Progress = Callable[[str], None]


@dataclass
class Watch:
    """What the loop reports as it goes: `progress` text per epoch, one terminal bar, Keras-like lines."""

    progress: Progress | None = None
    bar: bool = False
    verbose: int = 0
    step: Callable[[], None] | None = None  # after every step: a heartbeat for a supervisor
    _bar: tqdm | None = field(default=None, init=False)

    def begin(self, total_steps: int) -> None:
        if self.bar:
            self._bar = tqdm(total=total_steps, desc="training", dynamic_ncols=True,
                             bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")

    def stepped(self) -> None:
        if self._bar:
            self._bar.update(1)
        if self.step:
            self.step()

    def epoch(self, epoch: int, max_epochs: int, logs: dict[str, float]) -> None:
        text = f"epoch {epoch + 1}/{max_epochs}, validation accuracy {logs['val_accuracy']:.3f}"
        if self._bar:
            self._bar.set_postfix_str(text)
        if self.progress:
            self.progress(text)
        if self.verbose:
            print(f"{text}, loss {logs['loss']:.4f}, validation loss {logs['val_loss']:.4f}", file=sys.stderr, flush=True)

    def end(self) -> None:
        """Early stopping fills the bar up, so it never ends looking unfinished."""
        if self._bar:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()


class _Losses:
    """Per-example losses: every classifier's cross-entropy (label smoothing as trained), weighted."""

    def __init__(self, s: ModelSettings, n_labels: int) -> None:
        self.n_labels = n_labels
        self.crossentropy = keras.losses.CategoricalCrossentropy(label_smoothing=s.label_smoothing, reduction=None)

    def __call__(self, y: tf.Tensor, outputs: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """(weighted sum over the classifiers, the served average's own) per example."""
        onehot = tf.one_hot(y, self.n_labels)
        each = {name: self.crossentropy(onehot, out) for name, out in outputs.items()}
        return tf.add_n([loss_weight(name) * loss for name, loss in each.items()]), each["intent"]


def fit(model: keras.Model, manifest: training_set.Manifest, s: ModelSettings,
        strategy: tf.distribute.Strategy, watch: Watch, steps_per_epoch: int | None = None) -> dict[str, list[float]]:
    """Train `model` (built in `strategy.scope()`) on the training set; the history under Keras'
    usual names (loss, accuracy, val_loss, val_accuracy), one value per epoch run. An epoch is one
    pass over the fit part unless `steps_per_epoch` says otherwise (the memory bench's fixed steps)."""
    steps = steps_per_epoch or -(-manifest.n_train // s.batch_size)
    with strategy.scope():
        optimizer = keras.optimizers.Adam(learning_rate(s, steps * s.max_epochs))
        optimizer.build(model.trainable_variables)
    losses = _Losses(s, len(manifest.labels))
    batches = iter(strategy.experimental_distribute_dataset(training_set.fit_dataset(manifest, s.batch_size, s.seed)))

    def replica_step(inputs: tuple[tf.Tensor, tf.Tensor], y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            total, intent = losses(y, outputs)
            loss = tf.nn.compute_average_loss(total, global_batch_size=s.batch_size)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        right = tf.cast(tf.equal(tf.argmax(outputs["intent"], axis=-1, output_type=tf.int32), y), tf.float32)
        return tf.reduce_sum(intent), tf.reduce_sum(right), tf.cast(tf.size(y), tf.float32)

    @tf.function
    def train_step() -> tf.Tensor:
        per_replica = strategy.run(replica_step, args=next(batches))
        return tf.stack([strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in per_replica])

    validate = _validation(model, manifest, s, losses)
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    best, best_loss, waited = None, np.inf, 0
    watch.begin(steps * s.max_epochs)
    for epoch in range(s.max_epochs):
        sums = np.zeros(3)
        for _ in range(steps):
            sums += train_step().numpy()
            watch.stepped()
        logs = {"loss": sums[0] / sums[2], "accuracy": sums[1] / sums[2], **validate()}
        for name, value in logs.items():
            history[name].append(float(value))
        watch.epoch(epoch, s.max_epochs, logs)
        if logs["val_loss"] < best_loss:
            best, best_loss, waited = model.get_weights(), logs["val_loss"], 0
        else:
            waited += 1
            if waited >= max(s.patience, 1):  # as Keras' EarlyStopping counts
                break
    watch.end()
    model.set_weights(best)
    return history


def _validation(model: keras.Model, manifest: training_set.Manifest, s: ModelSettings,
                losses: _Losses) -> Callable[[], dict[str, float]]:
    """The served average's loss and accuracy on the validation part, as Keras' fit reported them."""
    dataset = training_set.validation_dataset(manifest, max(s.batch_size, 256))

    @tf.function
    def batch_sums(inputs: tuple[tf.Tensor, tf.Tensor], y: tf.Tensor) -> tf.Tensor:
        outputs = model(inputs, training=False)
        _, intent = losses(y, outputs)
        right = tf.cast(tf.equal(tf.argmax(outputs["intent"], axis=-1, output_type=tf.int32), y), tf.float32)
        return tf.stack([tf.reduce_sum(intent), tf.reduce_sum(right), tf.cast(tf.size(y), tf.float32)])

    def validate() -> dict[str, float]:
        sums = sum((batch_sums(inputs, y).numpy() for inputs, y in dataset), np.zeros(3))
        return {"val_loss": sums[0] / max(sums[2], 1), "val_accuracy": sums[1] / max(sums[2], 1)}

    return validate
