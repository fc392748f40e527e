"""The Keras intent model: token ids -> Embedding -> BiLSTM -> pooled views (+ n-grams) -> softmax.

Imports TensorFlow; only training processes import this module.
"""

from __future__ import annotations

import keras
from keras import layers

from training.config import ModelSettings


def build_model(vocab_size: int, n_labels: int, s: ModelSettings) -> keras.Model:
    """Two views of a message, joined before the softmax.

    The BiLSTM reads the token sequence (mean and max pooling over its states see the whole
    message, not just its end); the bag of hashed n-grams (fastText-style) catches typos and
    sub-words the token vocabulary has never seen, which matters with little data.
    """
    ids = keras.Input(shape=(s.max_len,), dtype="int32", name="token_ids")
    grams = keras.Input(shape=(s.max_ngrams,), dtype="int32", name="ngram_ids")
    x = layers.Embedding(vocab_size, s.embedding_dim, mask_zero=True, name="embedding")(ids)
    x = layers.SpatialDropout1D(s.dropout / 2)(x)
    x = layers.Bidirectional(layers.LSTM(s.lstm_units, return_sequences=True), name="bilstm")(x)
    g = layers.Embedding(s.ngram_buckets, s.ngram_dim, mask_zero=True, name="ngram_embedding")(grams)
    g = layers.GlobalAveragePooling1D()(g)
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x), g])
    x = layers.Dropout(s.dropout)(x)
    probs = layers.Dense(n_labels, activation="softmax", name="intent")(x)
    model = keras.Model([ids, grams], probs, name="intent_bilstm")
    model.compile(
        optimizer=keras.optimizers.Adam(s.learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=s.label_smoothing),
        metrics=["accuracy"],
    )
    return model
