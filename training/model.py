"""The Keras intent model: members of (BiLSTM over token ids, bag of n-grams), averaged.

Imports TensorFlow; only training processes import this module.
"""

from __future__ import annotations

import keras
from keras import layers

from training.config import LrSchedule, ModelSettings, Recurrent
from training.stacked_lstm import StackedBiLSTM


def learning_rate(s: ModelSettings, steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Cosine decay lets a high starting rate train the slow n-gram bag fast, then settles the BiLSTM."""
    if s.lr_schedule == LrSchedule.CONSTANT:
        return s.learning_rate
    return keras.optimizers.schedules.CosineDecay(s.learning_rate, decay_steps=steps, alpha=0.05)


def _sequences(ids: keras.KerasTensor, vocab_size: int, n_labels: int, s: ModelSettings) -> list[keras.KerasTensor]:
    """Every member's BiLSTM softmax: its own embedding and BiLSTM over the token ids, mean and max
    pooling over the states (they see the whole message, not just its end)."""
    embedded = []
    for m in range(s.members):
        x = layers.Embedding(vocab_size, s.embedding_dim, mask_zero=True, name=f"embedding_{m}")(ids)
        embedded.append(layers.SpatialDropout1D(s.dropout / 2)(x))
    pooled = _recurrent(embedded, s)
    return [layers.Dense(n_labels, activation="softmax", name=f"lstm_{m}")(layers.Dropout(s.dropout)(x))
            for m, x in enumerate(pooled)]


def _recurrent(embedded: list[keras.KerasTensor], s: ModelSettings) -> list[keras.KerasTensor]:
    """Each member's pooled BiLSTM states, per [model] recurrent: a loop per member, or one for all."""
    if s.recurrent == Recurrent.STACKED:
        return StackedBiLSTM(s.lstm_units, name="bilstms")(embedded)
    pooled = []
    for m, x in enumerate(embedded):
        x = layers.Bidirectional(layers.LSTM(s.lstm_units, return_sequences=True), name=f"bilstm_{m}")(x)
        pooled.append(layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)]))
    return pooled


def _bag(grams: keras.KerasTensor, n_labels: int, s: ModelSettings, m: int) -> keras.KerasTensor:
    """One member's bag of hashed n-grams (fastText-style) softmax: it catches typos and sub-words
    the vocabulary has never seen."""
    g = layers.Embedding(s.ngram_buckets, s.ngram_dim, mask_zero=True, name=f"ngram_embedding_{m}")(grams)
    g = layers.GlobalAveragePooling1D()(g)
    return layers.Dense(n_labels, activation="softmax", name=f"ngrams_{m}")(layers.Dropout(s.dropout / 2)(g))


def build_model(vocab_size: int, n_labels: int, s: ModelSettings) -> tuple[keras.Model, keras.Model]:
    """(model to train, model to serve): the average of every member's two classifiers.

    Each classifier has its own softmax and its own loss, so the slower-learning bag is trained
    fully even when the BiLSTM starts to overfit, and members (differently initialised) do not
    lean on each other, so their average errs less than one alone (what a member costs: config.toml).
    The training model outputs every classifier by name (`intent` is the average); the loop
    (`training.fit_loop`) weighs their losses with `loss_weight`.
    """
    ids = keras.Input(shape=(s.max_len,), dtype="int32", name="token_ids")
    grams = keras.Input(shape=(s.max_ngrams,), dtype="int32", name="ngram_ids")
    heads = {}
    for m, sequence in enumerate(_sequences(ids, vocab_size, n_labels, s)):
        heads[f"lstm_{m}"], heads[f"ngrams_{m}"] = sequence, _bag(grams, n_labels, s, m)
    intent = layers.Average(name="intent")(list(heads.values()))
    training = keras.Model([ids, grams], {"intent": intent, **heads}, name="intent_training")
    return training, keras.Model([ids, grams], intent, name="intent_bilstm")


def loss_weight(output: str) -> float:
    """The served average counts fully; each member's classifier half, as its own loss."""
    return 1.0 if output == "intent" else 0.5
