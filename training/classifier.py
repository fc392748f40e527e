"""Serve a saved model version: raw text in, top-k (intent, probability) out.

Runs the LiteRT (TFLite) export with its small interpreter, so the bot process never imports
TensorFlow: about a millisecond per message and tens of MB instead of hundreds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from training.domain import OUT_OF_SCOPE
from training.tokenize import Encoder


class ModelLoadError(RuntimeError):
    """A model directory that is missing files or cannot be read."""


class Classifier:
    """One model version, loaded once; `predict` is the per-message hot path."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self.encoder = Encoder.load(self.directory / "encoder.json")
            self.labels: list[str] = json.loads((self.directory / "labels.json").read_text())
            meta_path = self.directory / "meta.json"
            self.meta: dict = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            self._interpreter = Interpreter(model_path=str(self.directory / "model.tflite"), num_threads=1)
            self._interpreter.allocate_tensors()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load model from {self.directory}: {exc}") from exc
        self._ids, self._grams = self._input_indices()
        self._output = self._interpreter.get_output_details()[0]["index"]
        self.version: str = self.directory.name  # the registry names each version by its directory

    def _input_indices(self) -> tuple[int, int]:
        """The export names its inputs positionally (args_0, args_0_1): token ids, then n-grams."""
        details = sorted(self._interpreter.get_input_details(), key=lambda d: d["name"])
        shapes = [list(d["shape"]) for d in details]
        if shapes != [[1, self.encoder.max_len], [1, self.encoder.max_ngrams]]:
            raise ModelLoadError(f"{self.directory}: model inputs {shapes} do not match encoder.json")
        return details[0]["index"], details[1]["index"]

    def probabilities(self, text: str) -> np.ndarray:
        ids, grams = self.encoder.encode(text)
        self._interpreter.set_tensor(self._ids, np.array([ids], dtype=np.int32))
        self._interpreter.set_tensor(self._grams, np.array([grams], dtype=np.int32))
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)[0].copy()

    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
        """The k most likely intents, most likely first (see `rank`)."""
        return rank(self.probabilities(text), self.labels, k, out_of_scope_weight)


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
