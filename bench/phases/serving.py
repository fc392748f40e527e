"""Phase: the bot's serving path alone: memory and per-message latency, without TensorFlow.

    python -m bench.phases.serving WORK_DIR OUT.json

Imports only what `supportbot run` imports to answer (bot.runtime: engine, storage, the LiteRT
Classifier), opens the runtime on the starter model from the starter phase (on a copy of its
var/), and asserts that TensorFlow was never imported. Latency: `Classifier.predict(text, top_k)`
one message at a time, raw text in (tokenisation included); and `Engine.handle` (store the
message, classify, decide, store the reply in SQLite) for the same messages.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from bench.files import write_json
from bot.replies import Incoming
from bot.runtime import open_runtime
from training.benchmark.serving import peak_rss_mb, percentiles, rss_mb
from training.config import load_config

WARMUP, TIMED, HANDLED = 50, 1000, 300


def main(work: Path, out: Path) -> None:
    var = work / "serving-var"
    shutil.rmtree(var, ignore_errors=True)
    shutil.copytree(work / "var", var)
    (work / "serving.toml").write_text((work / "config.toml").read_text().replace(str(work / "var"), str(var)))
    config = load_config(work / "serving.toml")
    started = time.perf_counter()
    runtime = open_runtime(config)
    open_s = time.perf_counter() - started
    classifier = runtime.model.current
    assert classifier is not None, "the starter phase left no live model"
    assert "tensorflow" not in sys.modules, "the serving path imported TensorFlow"
    texts = [e.text for e in runtime.domain.gold] + [e.text for e in runtime.domain.training_examples()]
    k = config.policy.top_k
    for text in texts[:WARMUP]:
        classifier.predict(text, k)
    loaded_rss = rss_mb()
    latencies = []
    for i in range(TIMED):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        classifier.predict(text, k)
        latencies.append((time.perf_counter() - t0) * 1000)
    handled = []
    for i in range(HANDLED):
        incoming = Incoming("bench", f"u{i % 50}", f"c{i % 50}", texts[i % len(texts)], "en", f"bench:{i}")
        t0 = time.perf_counter()
        reply = runtime.engine.handle(incoming)
        handled.append((time.perf_counter() - t0) * 1000)
        assert reply is not None
    assert "tensorflow" not in sys.modules, "the serving path imported TensorFlow"
    result = {
        "model_version": classifier.version,
        "rss_mb": loaded_rss,  # runtime open, model loaded, warmed up
        "rss_after_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "open_runtime_s": open_s,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "latency_ms": percentiles(latencies),
        "engine_handle_ms": percentiles(handled),
    }
    runtime.close()
    write_json(out, result)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
