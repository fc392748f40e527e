"""The Keras intent model: token ids -> Embedding -> BiLSTM -> pooled views (+ n-grams) -> softmax.

Imports TensorFlow; only training processes import this module.
"""

from __future__ import annotations

import keras
from keras import layers

from training.config import ModelSettings


def learning_rate(s: ModelSettings, steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Cosine decay lets a high starting rate train the slow n-gram bag fast, then settles the BiLSTM."""
    if s.lr_schedule == "constant":
        return s.learning_rate
    return keras.optimizers.schedules.CosineDecay(s.learning_rate, decay_steps=steps, alpha=0.05)


def build_model(vocab_size: int, n_labels: int, s: ModelSettings, steps: int) -> tuple[keras.Model, keras.Model]:
    """(model to train, model to serve): two classifiers of one message, averaged.

    The BiLSTM reads the token sequence (mean and max pooling over its states see the whole
    message, not just its end); the bag of hashed n-grams (fastText-style) catches typos and
    sub-words the vocabulary has never seen. Each has its own softmax and its own loss, so the
    slower-learning bag is trained fully even when the BiLSTM starts to overfit; the answer is
    the average of the two, which beats either alone. `steps` (batches in the whole fit) sets the
    length of the learning-rate schedule.
    """
    ids = keras.Input(shape=(s.max_len,), dtype="int32", name="token_ids")
    grams = keras.Input(shape=(s.max_ngrams,), dtype="int32", name="ngram_ids")
    x = layers.Embedding(vocab_size, s.embedding_dim, mask_zero=True, name="embedding")(ids)
    x = layers.SpatialDropout1D(s.dropout / 2)(x)
    x = layers.Bidirectional(layers.LSTM(s.lstm_units, return_sequences=True), name="bilstm")(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    sequence = layers.Dense(n_labels, activation="softmax", name="lstm")(layers.Dropout(s.dropout)(x))
    g = layers.Embedding(s.ngram_buckets, s.ngram_dim, mask_zero=True, name="ngram_embedding")(grams)
    g = layers.GlobalAveragePooling1D()(g)
    bag = layers.Dense(n_labels, activation="softmax", name="ngrams")(layers.Dropout(s.dropout / 2)(g))
    intent = layers.Average(name="intent")([sequence, bag])
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=s.label_smoothing)
    training = keras.Model([ids, grams], {"intent": intent, "lstm": sequence, "ngrams": bag}, name="intent_training")
    training.compile(
        optimizer=keras.optimizers.Adam(learning_rate(s, steps)),
        loss={"intent": loss, "lstm": loss, "ngrams": loss},
        loss_weights={"intent": 1.0, "lstm": 0.5, "ngrams": 0.5},
        metrics={"intent": ["accuracy"]},
    )
    return training, keras.Model([ids, grams], intent, name="intent_bilstm")
