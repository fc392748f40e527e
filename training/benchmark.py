"""Benchmark our intent model against standard baselines on any `text,label` CSV.

    results = run_benchmark(Path("train.csv"), Path("test.csv"), settings, baselines=True)

Systems (keys of the result):

- `supportbot`: our model, through the very path the bot uses: `training.train.train` (which
  carves the validation split out of TRAIN for early stopping), `training.train.save` (Keras
  file + LiteRT export) and `training.classifier.Classifier` (LiteRT, batch 1).
- `tfidf_linearsvc`: scikit-learn TF-IDF (word 1-2-grams + char_wb 2-5-grams, sublinear tf)
  and LinearSVC (C=1).
- `fasttext`: the fastText library (pip package `fasttext-wheel`, the `bench` extra),
  supervised, softmax, word bigrams, epoch and learning rate chosen on the validation split
  from a 2x2 grid. Its input is our tokeniser's tokens joined by spaces,
  because fastText splits on whitespace only and Chinese has none.

All three learn from the same examples: the part of TRAIN that `train()` trains on; the
validation split `train()` holds out (reproduced here with the same function and seed) only
chooses the out-of-scope confidence threshold. TEST is read once, at the end, by a fresh
process per system that loads the saved model and nothing else, so its peak RSS and
latency are that system's alone. Latency is one message at a time, raw text in,
tokenisation and vectorisation included, after a warm-up on the validation texts.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.config import ModelSettings
from training.domain import Example
from training.tokenize import language_of, tokenize

SYSTEMS = ("supportbot", "tfidf_linearsvc", "fasttext")
NAMES = {
    "supportbot": "supportbot (BiLSTM + hashed n-grams, LiteRT)",
    "tfidf_linearsvc": "TF-IDF word 1-2 + char_wb 2-5 + LinearSVC",
    "fasttext": "fastText (supervised, word bigrams, epoch/lr chosen on validation)",
}
# fastText settings: the library's supervised defaults except these (its default 2M hash
# buckets make a ~800 MB model file for a few thousand sentences); one thread and a fixed seed
# for determinism. epoch and lr are chosen on the validation split from FASTTEXT_GRID.
FASTTEXT_PARAMS = {"dim": 100, "wordNgrams": 2, "bucket": 200_000, "minCount": 1, "loss": "softmax",
                   "thread": 1, "seed": 1}
FASTTEXT_GRID = [{"epoch": epoch, "lr": lr} for epoch in (25, 50) for lr in (0.5, 1.0)]
MIN_TIMED = 300  # latency samples per system, after warm-up
MIN_WARMUP = 50
ROOT = Path(__file__).resolve().parent.parent


class BenchmarkError(ValueError):
    """Unusable input (a CSV without text/label columns) or a missing optional dependency."""


# --- data ------------------------------------------------------------------------------------


def read_labelled_csv(path: Path) -> list[Example]:
    """Rows of a CSV with a `text` column and a `label` (or `category`, as in BANKING77) column.

    Texts are stripped (some BANKING77 texts start with a newline); empty rows are skipped.
    """
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        label_column = next((c for c in ("label", "category") if c in columns), None)
        if "text" not in columns or label_column is None:
            raise BenchmarkError(f"{path}: needs a header with text and label (or category) columns, got {columns}")
        examples = []
        for row in reader:
            text, label = (row["text"] or "").strip(), (row[label_column] or "").strip()
            if text and label:
                examples.append(Example(text, label, language_of(text)))
    if not examples:
        raise BenchmarkError(f"{path}: no labelled rows")
    return examples


def validation_indices(examples: list[Example], s: ModelSettings) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of the split `training.train.train` makes of these examples.

    `_split` is called on row numbers instead of encoded texts: train_test_split's permutation
    depends only on the number of rows, the labels and the seed, so the split is the same.
    """
    from training.train import _split

    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[e.intent] for e in examples])
    rows = np.arange(len(examples))
    train_rows, val_rows, *_ = _split(rows, rows, y, s)
    return np.asarray(train_rows), np.asarray(val_rows)


def fasttext_text(text: str) -> str:
    """fastText's input: our tokeniser's tokens, space-separated (CJK characters become words)."""
    return " ".join(tokenize(text)) or "<empty>"


def check_available(systems: Sequence[str]) -> None:
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise BenchmarkError(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")
    if "fasttext" in systems and importlib.util.find_spec("fasttext") is None:
        raise BenchmarkError("fastText is not installed: pip install -e '.[bench]' (make bench does)")


# --- training (in this process) ----------------------------------------------------------------


def _dir_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def _train_supportbot(examples: list[Example], s: ModelSettings, out: Path, verbose: int) -> dict:
    from training.train import save, train

    started = time.perf_counter()
    trained = train(examples, s, verbose=verbose)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    save(trained, out, s)
    export_s = time.perf_counter() - started
    served = [out / "model.tflite", out / "encoder.json", out / "labels.json"]
    return {"train_s": train_s, "export_s": export_s, "epochs": len(trained.history.get("loss", [])),
            "model_mb": _dir_mb(served), "artifact_mb": _dir_mb([p for p in out.iterdir() if p.is_file()])}


def tfidf_linearsvc():
    """The classic baseline: TF-IDF word 1-2-grams + char_wb 2-5-grams, LinearSVC (unfitted)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    features = FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    return make_pipeline(features, LinearSVC(C=1.0, random_state=0))


def _train_tfidf(examples: list[Example], out: Path) -> dict:
    import joblib

    started = time.perf_counter()
    pipeline = tfidf_linearsvc()
    pipeline.fit([e.text for e in examples], [e.intent for e in examples])
    train_s = time.perf_counter() - started
    path = out / "model.joblib"
    joblib.dump(pipeline, path)
    return {"train_s": train_s, "model_mb": _dir_mb([path])}


def _train_fasttext(examples: list[Example], val: list[Example], out: Path) -> dict:
    """One model per FASTTEXT_GRID point; the best on the validation split is kept. train_s is
    that model's training time; tuning_s the whole grid's."""
    import fasttext

    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}  # fastText labels cannot contain spaces
    data = out / "train.txt"
    data.write_text("".join(f"__label__{index[e.intent]} {fasttext_text(e.text)}\n" for e in examples), encoding="utf-8")
    best = None
    tuning_started = time.perf_counter()
    for point in FASTTEXT_GRID:
        started = time.perf_counter()
        model = fasttext.train_supervised(input=str(data), verbose=0, **FASTTEXT_PARAMS, **point)
        train_s = time.perf_counter() - started
        hits = [model.f.predict(fasttext_text(e.text) + "\n", 1, 0.0, "strict")[0][1] == f"__label__{index.get(e.intent)}"
                for e in val]
        val_accuracy = sum(hits) / len(hits) if hits else 0.0
        if best is None or val_accuracy > best[0]:
            best = (val_accuracy, point, train_s, model)
    tuning_s = time.perf_counter() - tuning_started
    val_accuracy, point, train_s, model = best
    model.save_model(str(out / "model.bin"))
    (out / "labels.json").write_text(json.dumps(labels))
    data.unlink()
    return {"train_s": train_s, "tuning_s": tuning_s, "model_mb": _dir_mb([out / "model.bin", out / "labels.json"]),
            "params": {**FASTTEXT_PARAMS, **point}, "val_accuracy": val_accuracy}


# --- serving (in a fresh process per system) ---------------------------------------------------


def _predictor(system: str, directory: Path) -> Callable[[str], tuple[str, float]]:
    """text -> (top-1 label, its score), loading only what that system needs to serve."""
    if system == "supportbot":
        from training.classifier import Classifier

        classifier = Classifier(directory)

        def predict(text: str) -> tuple[str, float]:
            return classifier.predict(text, 1)[0]

        return predict
    if system == "tfidf_linearsvc":
        import joblib

        pipeline = joblib.load(directory / "model.joblib")
        classes = pipeline.classes_

        def predict(text: str) -> tuple[str, float]:
            scores = pipeline.decision_function([text])[0]
            best = int(np.argmax(scores))
            return str(classes[best]), float(scores[best])

        return predict
    if system == "fasttext":
        import fasttext

        model = fasttext.load_model(str(directory / "model.bin"))
        labels = json.loads((directory / "labels.json").read_text())

        def predict(text: str) -> tuple[str, float]:
            # model.predict breaks under NumPy 2 (np.array(copy=False)); its binding does the same work.
            [(prob, label)] = model.f.predict(fasttext_text(text) + "\n", 1, 0.0, "strict")
            return labels[int(label.removeprefix("__label__"))], float(prob)

        return predict
    raise BenchmarkError(f"unknown system {system!r}")


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not getrusage's ru_maxrss: on Linux that
    carries over the parent's peak through fork+exec, so a child of a big trainer looks big."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    import resource  # not Linux: the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)


def serve_worker(job_path: str, out_path: str) -> None:
    """Body of the serving process: load one model, predict warm-up and test texts one by one."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    started = time.perf_counter()
    predict = _predictor(job["system"], Path(job["model"]))
    load_s = time.perf_counter() - started
    warmup = job["warmup"]
    val = [predict(t) for t in warmup]
    for i in range(len(warmup), MIN_WARMUP):
        predict(warmup[i % len(warmup)] if warmup else "hello")
    test, latencies = [], []
    texts = job["test"]
    for i in range(max(len(texts), job["min_timed"])):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        result = predict(text)
        latencies.append((time.perf_counter() - t0) * 1000)
        if i < len(texts):
            test.append(result)
    result = {
        "val": val,
        "test": test,
        "latencies_ms": latencies,
        "load_s": load_s,
        "peak_rss_mb": peak_rss_mb(),
        "tensorflow_loaded": "tensorflow" in sys.modules,
    }
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def serve(system: str, directory: Path, warmup: list[str], test: list[str], min_timed: int = MIN_TIMED) -> dict:
    """Run `serve_worker` in a fresh Python process and return what it measured."""
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps({"system": system, "model": str(directory), "warmup": warmup, "test": test,
                                   "min_timed": min_timed}), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        code = "import sys; from training.benchmark import serve_worker; serve_worker(sys.argv[1], sys.argv[2])"
        done = subprocess.run([sys.executable, "-c", code, str(job), str(out)], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"serving process for {system} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


# --- metrics -----------------------------------------------------------------------------------


def percentiles(latencies_ms: Sequence[float]) -> dict:
    values = np.asarray(latencies_ms, dtype=float)
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "mean": float(values.mean()), "n": int(values.size)}


def choose_threshold(truth: list[str], predicted: list[str], scores: list[float], oos_label: str) -> float | None:
    """The score below which a prediction becomes out-of-scope: the one that maximises validation
    accuracy (lowest such threshold on ties). None (out-of-scope by the model's own class only)
    when validation has no out-of-scope example or no threshold beats the model's own class there."""
    if oos_label not in truth:
        return None
    truth_a, pred_a, score_a = np.array(truth), np.array(predicted), np.array(scores, dtype=float)
    best, best_acc = None, float(np.mean(truth_a == pred_a))
    for threshold in np.unique(score_a):
        mapped = np.where(score_a < threshold, oos_label, pred_a)
        acc = float(np.mean(truth_a == mapped))
        if acc > best_acc:
            best, best_acc = float(threshold), acc
    return best


def score(truth: list[str], predicted: list[str], oos_label: str | None) -> dict:
    from sklearn.metrics import f1_score

    metrics = {
        "accuracy": float(np.mean(np.array(truth) == np.array(predicted))),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }
    if oos_label is not None:
        inscope = [(t, p) for t, p in zip(truth, predicted) if t != oos_label]
        oos = [p for t, p in zip(truth, predicted) if t == oos_label]
        metrics["inscope_accuracy"] = sum(t == p for t, p in inscope) / len(inscope) if inscope else None
        metrics["oos_recall"] = sum(p == oos_label for p in oos) / len(oos) if oos else None
    return metrics


# --- the benchmark -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    train: list[Example]  # all of TRAIN: what supportbot's train() gets
    fit: list[Example]  # TRAIN minus the validation split: what every system learns from
    val: list[Example]
    test: list[Example]


def load_data(train_csv: Path, test_csv: Path, s: ModelSettings) -> Data:
    train = read_labelled_csv(train_csv)
    test = read_labelled_csv(test_csv)
    fit_rows, val_rows = validation_indices(train, s)
    return Data(train, [train[i] for i in sorted(fit_rows)], [train[i] for i in sorted(val_rows)], test)


def run_benchmark(
    train_csv: Path,
    test_csv: Path,
    s: ModelSettings,
    *,
    baselines: bool = False,
    oos_label: str | None = None,
    systems: Sequence[str] | None = None,
    verbose: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Train each system on TRAIN, measure it on TEST; one dict of metrics per system.

    `systems` overrides `baselines` (default: supportbot, plus both baselines with `baselines`).
    """
    systems = tuple(systems or (SYSTEMS if baselines else ("supportbot",)))
    check_available(systems)
    say = progress or (lambda _msg: None)
    data = load_data(Path(train_csv), Path(test_csv), s)
    say(f"{len(data.train)} training rows ({len(data.fit)} fit + {len(data.val)} validation), "
        f"{len(data.test)} test rows, {len({e.intent for e in data.train})} labels")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        for system in systems:
            out = Path(tmp) / system
            out.mkdir()
            say(f"{system}: training")
            if system == "supportbot":
                trained = _train_supportbot(data.train, s, out, verbose)
            elif system == "tfidf_linearsvc":
                trained = _train_tfidf(data.fit, out)
            else:
                trained = _train_fasttext(data.fit, data.val, out)
            say(f"{system}: trained in {trained['train_s']:.1f} s; serving the test set in a fresh process")
            served = serve(system, out, [e.text for e in data.val], [e.text for e in data.test])
            results[system] = _system_result(system, trained, served, data, oos_label)
            say(f"{system}: accuracy {results[system]['accuracy']:.4f}, macro-F1 {results[system]['macro_f1']:.4f}")
    return results


def _system_result(system: str, trained: dict, served: dict, data: Data, oos_label: str | None) -> dict:
    predicted = [label for label, _ in served["test"]]
    threshold = None
    if oos_label is not None:
        val_pred = [label for label, _ in served["val"]]
        threshold = choose_threshold([e.intent for e in data.val], val_pred, [c for _, c in served["val"]], oos_label)
        if threshold is not None:
            predicted = [oos_label if c < threshold else label for label, c in served["test"]]
    result = {
        "name": NAMES[system],
        **score([e.intent for e in data.test], predicted, oos_label),
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
    result.update({k: v for k, v in trained.items() if k not in result and k not in ("train_s", "model_mb")})
    return result


def format_table(results: dict[str, dict]) -> str:
    """One row per system, for the terminal."""
    oos = any("oos_recall" in r for r in results.values())
    head = f"{'system':<17}{'accuracy':>9}{'macro-F1':>9}{'train s':>9}{'p50 ms':>8}{'p99 ms':>8}{'model MB':>9}{'RSS MB':>8}"
    head += f"{'in-scope':>9}{'OOS rec':>8}" if oos else ""
    lines = [head]
    for system, r in results.items():
        line = (f"{system:<17}{r['accuracy']:>9.4f}{r['macro_f1']:>9.4f}{r['train_s']:>9.1f}"
                f"{r['latency_ms']['p50']:>8.3f}{r['latency_ms']['p99']:>8.3f}{r['model_mb']:>9.2f}{r['peak_rss_mb']:>8.0f}")
        if oos:
            line += "".join(f"{'-' if r.get(k) is None else format(r[k], '.4f'):>{w}}"
                            for k, w in (("inscope_accuracy", 9), ("oos_recall", 8)))
        lines.append(line)
    lines += [f"  {system}: {r['name']}" for system, r in results.items()]
    return "\n".join(lines)
