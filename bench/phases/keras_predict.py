"""Phase: the same starter model through Keras instead of LiteRT, for comparison.

    python -m bench.phases.keras_predict WORK_DIR MODEL_DIR OUT.json

Loads model.keras (TensorFlow backend) and times `model.predict` on one message at a time, raw
text in through the same Encoder (tokenisation included), as a bot without the LiteRT export
would, on the same messages as bench/phases/serving.py; also a direct call `model(x, training=False)`, Keras's cheaper single-batch path.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench.files import write_json  # noqa: E402
from training.benchmark.serving import peak_rss_mb, percentiles, rss_mb  # noqa: E402
from training.config import load_config  # noqa: E402
from training.domain import load_domain  # noqa: E402
from training.stacked_lstm import StackedBiLSTM  # noqa: E402, F401  (registers the layer a model.keras may hold)
from training.tokenize import Encoder  # noqa: E402

WARMUP, TIMED, CALLS = 20, 300, 100  # the eager call is slower still: fewer samples


def main(work: Path, model_dir: Path, out: Path) -> None:
    domain = load_domain(load_config(work / "config.toml").data_dir)
    texts = [e.text for e in domain.gold] + [e.text for e in domain.training_examples()]  # as bench/phases/serving.py
    model = keras.models.load_model(model_dir / "model.keras")
    encoder = Encoder.load(model_dir / "encoder.json")

    def inputs(text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, grams = encoder.encode(text)
        return np.array([ids], dtype="int32"), np.array([grams], dtype="int32")

    def timed(run, n: int) -> list[float]:
        for text in texts[:WARMUP]:
            run(text)
        latencies = []
        for i in range(n):
            text = texts[i % len(texts)]
            t0 = time.perf_counter()
            run(text)
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies

    predict = timed(lambda t: model.predict(inputs(t), verbose=0)[0], TIMED)
    call = timed(lambda t: np.asarray(model(inputs(t), training=False))[0], CALLS)
    write_json(out, {
        "predict_latency_ms": percentiles(predict),
        "call_latency_ms": percentiles(call),
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "tensorflow_imported": "tensorflow" in sys.modules,
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
