"""Serve a saved model version: raw text in, top-k (intent, probability) out.

Runs the LiteRT (TFLite) export with its small interpreter, so the bot process never imports
TensorFlow: about a millisecond per message and tens of MB instead of hundreds.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from training.domain import OUT_OF_SCOPE
from training.tokenize import Encoder

SHORTEST = 8  # tokens: shorter inputs save little more (the n-gram bag's cost stays)


class ModelLoadError(RuntimeError):
    """A model directory that is missing files or cannot be read."""


class Classifier:
    """One model version, loaded once; `predict` is the per-message hot path.

    LiteRT runs the BiLSTM one token at a time over the whole input, so a 32-token input costs four
    times an 8-token one. Models exported with an open sequence length get one interpreter per
    length in `lengths` (8, 16, ... up to max_len), and each message runs in the shortest that
    holds its tokens and at least one padding position, as in training (the max pooling sees the
    masked steps' zero outputs; the rest of the model ignores padding), so the answer is the same,
    only sooner. Models exported at a fixed length (before this) run at that length.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self.encoder = Encoder.load(self.directory / "encoder.json")
            self.labels: list[str] = json.loads((self.directory / "labels.json").read_text())
            meta_path = self.directory / "meta.json"
            self.meta: dict = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            self._load((self.directory / "model.tflite").read_bytes())
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load model from {self.directory}: {exc}") from exc
        self.lengths = sorted(self._interpreters)
        self.version: str = self.directory.name  # the registry names each version by its directory

    def _load(self, model: bytes) -> None:
        """One interpreter per sequence length; every one has the same input and output indices."""
        probe = Interpreter(model_content=model)
        ids, grams = self._input_details(probe)
        self._ids, self._grams = ids["index"], grams["index"]
        self._output = probe.get_output_details()[0]["index"]
        open_length = ids["shape_signature"][1] == -1
        lengths = _lengths(self.encoder.max_len) if open_length else [self.encoder.max_len]
        self._interpreters = {n: self._sized(model, n) for n in lengths}

    def _sized(self, model: bytes, length: int) -> Interpreter:
        interpreter = Interpreter(model_content=model, num_threads=1)
        interpreter.resize_tensor_input(self._ids, [1, length])
        interpreter.allocate_tensors()
        return interpreter

    def _input_details(self, interpreter: Interpreter) -> tuple[dict, dict]:
        """The export names its inputs positionally (args_0, args_0_1): token ids, then n-grams."""
        ids, grams = sorted(interpreter.get_input_details(), key=lambda d: d["name"])
        shapes = [list(ids["shape_signature"]), list(grams["shape_signature"])]
        if shapes[0] not in ([1, -1], [1, self.encoder.max_len]) or shapes[1] != [1, self.encoder.max_ngrams]:
            raise ValueError(f"model inputs {shapes} do not match encoder.json")
        return ids, grams

    def probabilities(self, text: str) -> np.ndarray:
        ids, grams = self.encoder.encode(text)
        tokens = np.count_nonzero(ids)  # a token's id is never PAD (0): padding only trails
        length = self.lengths[min(bisect_right(self.lengths, tokens), len(self.lengths) - 1)]
        interpreter = self._interpreters[length]
        interpreter.set_tensor(self._ids, np.array([ids[:length]], dtype=np.int32))
        interpreter.set_tensor(self._grams, np.array([grams], dtype=np.int32))
        interpreter.invoke()
        return interpreter.get_tensor(self._output)[0].copy()

    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
        """The k most likely intents, most likely first (see `rank`)."""
        return rank(self.probabilities(text), self.labels, k, out_of_scope_weight)


def _lengths(max_len: int) -> list[int]:
    """max_len, its half, its quarter, ... while at least SHORTEST: a few interpreters cover every length."""
    lengths = [max_len]
    while lengths[0] // 2 >= SHORTEST:
        lengths.insert(0, lengths[0] // 2)
    return lengths


def rank(probs: np.ndarray, labels: list[str], k: int, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
    """The k most likely labels of one probability row, after shifting the out-of-scope prior.

    `out_of_scope_weight` scales that class's probability and renormalises (Bayes' rule for a
    different prior): off-topic messages are rarer in training data than in a live chat.
    """
    if out_of_scope_weight != 1.0 and OUT_OF_SCOPE in labels:
        probs = probs.copy()
        probs[labels.index(OUT_OF_SCOPE)] *= out_of_scope_weight
        probs /= probs.sum()
    top = np.argsort(probs)[::-1][:k]
    return [(labels[i], float(probs[i])) for i in top]
