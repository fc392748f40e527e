"""Every member's BiLSTM in one recurrent loop: K independent LSTMs stepped together.

Two members' BiLSTMs are four LSTMs (each member forwards and backwards). Run as Keras LSTM
layers, each is a loop of its own, in training and in the LiteRT export (one WHILE subgraph
apiece), and a loop step costs LiteRT some thirty small ops whatever their size: at batch 1,
the op count, not the arithmetic, sets the time. Here the K = 2 x members LSTMs keep their own
weights (a block each: no LSTM sees another's state) but share one loop, whose step does one
batched matrix product for all of them, so the op count is that of one LSTM. The backward LSTMs
read each message reversed within its length, so that padding still trails and one mask serves
all K; their states are pooled, never read in order, so they need not be turned back.

Imports TensorFlow (through Keras); only training processes import this module.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="supportbot")
class PerBlock(keras.initializers.Initializer):
    """A Keras initialiser drawn for each LSTM's block alone, so each starts as Keras' LSTM would
    (Glorot over the whole stacked shape would draw at a smaller scale)."""

    def __init__(self, initializer: str) -> None:
        self.initializer = initializer

    def __call__(self, shape: tuple, dtype: str | None = None) -> tf.Tensor:
        draw = keras.initializers.get(self.initializer)
        return ops.stack([draw(shape[1:], dtype=dtype) for _ in range(shape[0])])

    def get_config(self) -> dict:
        return {"initializer": self.initializer}


@keras.saving.register_keras_serializable(package="supportbot")
class StackedLSTMCell(layers.Layer):
    """One step of K LSTMs whose inputs are already projected: (B, K*4u) in, (B, K*u) out.

    Keras' LSTM gate order (input, forget, cell, output), its initialisers (orthogonal recurrent
    kernel, forget-gate bias of one, set in StackedBiLSTM) and activations.
    """

    def __init__(self, blocks: int, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.blocks, self.units = blocks, units
        self.state_size = [blocks * units, blocks * units]
        self.output_size = blocks * units

    def build(self, input_shape: tuple) -> None:
        self.recurrent_kernel = self.add_weight(
            shape=(self.blocks, self.units, 4 * self.units), initializer=PerBlock("orthogonal"), name="recurrent_kernel")

    def call(self, inputs: tf.Tensor, states: list[tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor]]:
        batch = ops.shape(inputs)[0]  # static when known (the export's 1): the loop keeps its shapes
        h = ops.reshape(states[0], (batch, self.blocks, self.units))
        c = ops.reshape(states[1], (batch, self.blocks, self.units))
        z = ops.reshape(inputs, (batch, self.blocks, 4 * self.units))
        i, f, g, o = ops.split(z + ops.einsum("bku,kug->bkg", h, self.recurrent_kernel), 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.reshape(ops.sigmoid(o) * ops.tanh(c), (batch, self.blocks * self.units))
        c = ops.reshape(c, (batch, self.blocks * self.units))
        return h, [h, c]

    def get_config(self) -> dict:
        return {**super().get_config(), "blocks": self.blocks, "units": self.units}


@keras.saving.register_keras_serializable(package="supportbot")
class StackedBiLSTM(layers.Layer):
    """Members' token embeddings (each (B, T, d), masked) -> each member's pooled BiLSTM states:
    the mean over the message and the max over every position (padding's zero states included,
    as Keras' GlobalMaxPooling1D after a masked Bidirectional LSTM sees them), (B, 4u) each."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape: list[tuple]) -> None:
        self.members, dim = len(input_shape), input_shape[0][-1]
        blocks = 2 * self.members
        self.kernel = self.add_weight(shape=(blocks, dim, 4 * self.units), initializer=PerBlock("glorot_uniform"),
                                      name="kernel")
        forget_one = [0.0] * self.units + [1.0] * self.units + [0.0] * 2 * self.units
        self.bias = self.add_weight(shape=(blocks, 4 * self.units), name="bias",
                                    initializer=keras.initializers.Constant([forget_one] * blocks))
        self.rnn = layers.RNN(StackedLSTMCell(blocks, self.units), return_sequences=True, zero_output_for_mask=True)
        self.rnn.build((None, None, blocks * 4 * self.units))  # its weights exist before a saved model's load

    def call(self, inputs: list[tf.Tensor], mask: list[tf.Tensor] | None = None) -> list[tf.Tensor]:
        valid = mask[0] if mask is not None else ops.ones(ops.shape(inputs[0])[:2], dtype="bool")
        lengths = ops.sum(ops.cast(valid, "int32"), axis=1)
        sequences = []
        for x in inputs:  # forwards, backwards (reversed within its length: padding still trails)
            sequences += [x, tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)]
        x = ops.stack(sequences, axis=2)  # (B, T, K, d)
        projected = ops.einsum("btkd,kdg->btkg", x, self.kernel) + self.bias
        batch, steps = ops.shape(projected)[:2]
        states = self.rnn(ops.reshape(projected, (batch, steps, 2 * self.members * 4 * self.units)), mask=valid)
        weights = ops.expand_dims(ops.cast(valid, states.dtype), -1)
        mean = ops.sum(states * weights, axis=1) / ops.sum(weights, axis=1)
        top = ops.max(states, axis=1)
        u2 = 2 * self.units  # a member's forward and backward blocks sit side by side
        return [ops.concatenate([mean[:, m * u2:(m + 1) * u2], top[:, m * u2:(m + 1) * u2]], axis=-1)
                for m in range(self.members)]

    def compute_mask(self, inputs: list[tf.Tensor], mask: list[tf.Tensor] | None = None) -> None:
        return None

    def compute_output_shape(self, input_shape: list[tuple]) -> list[tuple]:
        return [(shape[0], 4 * self.units) for shape in input_shape]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
