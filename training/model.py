"""The Keras intent model: members of (BiLSTM over token ids, bag of n-grams), averaged.

Imports TensorFlow; only training processes import this module.
"""

from __future__ import annotations

import keras
from keras import layers

from training.config import LrSchedule, ModelSettings


def learning_rate(s: ModelSettings, steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Cosine decay lets a high starting rate train the slow n-gram bag fast, then settles the BiLSTM."""
    if s.lr_schedule == LrSchedule.CONSTANT:
        return s.learning_rate
    return keras.optimizers.schedules.CosineDecay(s.learning_rate, decay_steps=steps, alpha=0.05)


def _member(ids: keras.KerasTensor, grams: keras.KerasTensor, vocab_size: int, n_labels: int, s: ModelSettings,
            m: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """One member's two classifiers of the message: (BiLSTM softmax, n-gram bag softmax).

    The BiLSTM reads the token sequence (mean and max pooling over its states see the whole
    message, not just its end); the bag of hashed n-grams (fastText-style) catches typos and
    sub-words the vocabulary has never seen.
    """
    x = layers.Embedding(vocab_size, s.embedding_dim, mask_zero=True, name=f"embedding_{m}")(ids)
    x = layers.SpatialDropout1D(s.dropout / 2)(x)
    x = layers.Bidirectional(layers.LSTM(s.lstm_units, return_sequences=True), name=f"bilstm_{m}")(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    sequence = layers.Dense(n_labels, activation="softmax", name=f"lstm_{m}")(layers.Dropout(s.dropout)(x))
    g = layers.Embedding(s.ngram_buckets, s.ngram_dim, mask_zero=True, name=f"ngram_embedding_{m}")(grams)
    g = layers.GlobalAveragePooling1D()(g)
    bag = layers.Dense(n_labels, activation="softmax", name=f"ngrams_{m}")(layers.Dropout(s.dropout / 2)(g))
    return sequence, bag


def build_model(vocab_size: int, n_labels: int, s: ModelSettings, steps: int) -> tuple[keras.Model, keras.Model]:
    """(model to train, model to serve): the average of every member's two classifiers.

    Each classifier has its own softmax and its own loss, so the slower-learning bag is trained
    fully even when the BiLSTM starts to overfit, and members (differently initialised) do not
    lean on each other, so their average errs less than one alone (the measured trade of more
    members is in config.toml). `steps` (batches in the whole fit) sets the length of the
    learning-rate schedule.
    """
    ids = keras.Input(shape=(s.max_len,), dtype="int32", name="token_ids")
    grams = keras.Input(shape=(s.max_ngrams,), dtype="int32", name="ngram_ids")
    heads = {}
    for m in range(s.members):
        heads[f"lstm_{m}"], heads[f"ngrams_{m}"] = _member(ids, grams, vocab_size, n_labels, s, m)
    intent = layers.Average(name="intent")(list(heads.values()))
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=s.label_smoothing)
    outputs = {"intent": intent, **heads}
    training = keras.Model([ids, grams], outputs, name="intent_training")
    training.compile(
        optimizer=keras.optimizers.Adam(learning_rate(s, steps)),
        loss={name: loss for name in outputs},
        loss_weights={name: 1.0 if name == "intent" else 0.5 for name in outputs},
        metrics={"intent": ["accuracy"]},
    )
    return training, keras.Model([ids, grams], intent, name="intent_bilstm")
