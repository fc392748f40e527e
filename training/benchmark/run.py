"""The benchmark itself: train each system on TRAIN, serve it on TEST in a fresh process, score it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from training.benchmark.data import BenchmarkError, Data, load_data
from training.benchmark.serving import percentiles, serve
from training.benchmark.systems import NAMES, SYSTEMS, check_available, train_fasttext, train_supportbot, train_tfidf
from training.config import ModelSettings
from training.metrics import accuracy, scores


def run_benchmark(
    train_csv: Path,
    test_csv: Path,
    s: ModelSettings,
    *,
    baselines: bool = False,
    oos_label: str | None = None,
    hold_out: int = 0,
    systems: Sequence[str] | None = None,
    verbose: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Train each system on TRAIN, measure it on TEST; one dict of metrics per system.

    `systems` overrides `baselines` (default: supportbot, plus both baselines with `baselines`).
    `hold_out` k > 0 makes k intents out of scope, labelled `oos_label` (`data.load_data`), for data
    without an out-of-scope class; each result names them (`held_out`).
    """
    if hold_out and not oos_label:
        raise BenchmarkError("holding intents out needs an out-of-scope label to give them")
    systems = tuple(systems or (SYSTEMS if baselines else ("supportbot",)))
    check_available(systems)
    say = progress or (lambda _msg: None)
    data = load_data(Path(train_csv), Path(test_csv), s, hold_out, oos_label or "")
    say(f"{len(data.train)} training rows ({len(data.fit)} fit + {len(data.val)} validation), "
        f"{len(data.test)} test rows, {len({e.intent for e in data.train})} labels")
    if data.held_out:
        say(f"held out as {oos_label!r}: {', '.join(data.held_out)}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        for system in systems:
            out = Path(tmp) / system
            out.mkdir()
            say(f"{system}: training")
            if system == "supportbot":
                trained = train_supportbot(data.train, s, out, verbose)
            elif system == "tfidf_linearsvc":
                trained = train_tfidf(data.fit, out)
            else:
                trained = train_fasttext(data.fit, data.val, out)
            say(f"{system}: trained in {trained['train_s']:.1f} s; serving the test set in a fresh process")
            served = serve(system, out, [e.text for e in data.val], [e.text for e in data.test])
            results[system] = system_result(system, trained, served, data, oos_label)
            say(f"{system}: accuracy {results[system]['accuracy']:.4f}, macro-F1 {results[system]['macro_f1']:.4f}")
    return results


def choose_threshold(truth: list[str], predicted: list[str], confidences: list[float], oos_label: str) -> float | None:
    """The score below which a prediction becomes out-of-scope: the one that maximises validation
    accuracy (lowest such threshold on ties). None (out-of-scope by the model's own class only)
    when validation has no out-of-scope example or no threshold beats the model's own class there."""
    if oos_label not in truth:
        return None
    pred_a, score_a = np.array(predicted), np.array(confidences, dtype=float)
    best, best_acc = None, accuracy(truth, predicted)
    for threshold in np.unique(score_a):
        acc = accuracy(truth, np.where(score_a < threshold, oos_label, pred_a))
        if acc > best_acc:
            best, best_acc = float(threshold), acc
    return best


def system_result(system: str, trained: dict, served: dict, data: Data, oos_label: str | None) -> dict:
    """One system's entry of the result: `training.metrics.scores` of its top label on TEST (below
    the threshold chosen on validation: out of scope), its cost, and what `trained` adds."""
    predicted = [label for label, _ in served["test"]]
    threshold = None
    if oos_label is not None:
        val_pred = [label for label, _ in served["val"]]
        threshold = choose_threshold([e.intent for e in data.val], val_pred, [c for _, c in served["val"]], oos_label)
        if threshold is not None:
            predicted = [oos_label if c < threshold else label for label, c in served["test"]]
    result = {
        "name": NAMES[system],
        **scores([e.intent for e in data.test], predicted, oos_label),
        "train_s": trained["train_s"],
        "latency_ms": percentiles(served["latencies_ms"]),
        "model_mb": trained["model_mb"],
        "peak_rss_mb": served["peak_rss_mb"],
        "load_s": served["load_s"],
        "tensorflow_in_serving_process": served["tensorflow_loaded"],
        "n_fit": len(data.fit),
        "n_val": len(data.val),
        "n_test": len(data.test),
        "n_labels": len({e.intent for e in data.train}),
    }
    if oos_label is not None:
        result["oos_threshold"] = threshold
    if data.held_out:
        result["held_out"] = list(data.held_out)
    result.update({k: v for k, v in trained.items() if k not in result and k not in ("train_s", "model_mb")})
    return result
