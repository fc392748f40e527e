"""The systems compared: supportbot and two baselines (TF-IDF + LinearSVC, fastText), and how
each is trained (in the benchmark's own process; `serving.py` loads what this saves)."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path

from training.benchmark.data import BenchmarkError
from training.config import ModelSettings
from training.domain import Example
from training.tokenize import tokenize

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


def check_available(systems: Sequence[str]) -> None:
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise BenchmarkError(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")
    if "fasttext" in systems and importlib.util.find_spec("fasttext") is None:
        raise BenchmarkError("fastText is not installed: pip install -e '.[bench]' (make bench does)")


def fasttext_text(text: str) -> str:
    """fastText's input: our tokeniser's tokens, space-separated (CJK characters become words)."""
    return " ".join(tokenize(text)) or "<empty>"


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


def _files_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def train_supportbot(examples: list[Example], s: ModelSettings, out: Path, verbose: int) -> dict:
    """`train` on all of TRAIN (it holds the validation split out itself) and `save` into `out`."""
    from training.train import save, train

    started = time.perf_counter()
    trained = train(examples, s, verbose=verbose)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    save(trained, out, s)
    export_s = time.perf_counter() - started
    served = [out / "model.tflite", out / "encoder.json", out / "labels.json"]
    return {"train_s": train_s, "export_s": export_s, "epochs": len(trained.history.get("loss", [])),
            "model_mb": _files_mb(served), "artifact_mb": _files_mb([p for p in out.iterdir() if p.is_file()])}


def train_tfidf(examples: list[Example], out: Path) -> dict:
    import joblib

    started = time.perf_counter()
    pipeline = tfidf_linearsvc()
    pipeline.fit([e.text for e in examples], [e.intent for e in examples])
    train_s = time.perf_counter() - started
    path = out / "model.joblib"
    joblib.dump(pipeline, path)
    return {"train_s": train_s, "model_mb": _files_mb([path])}


def train_fasttext(examples: list[Example], val: list[Example], out: Path) -> dict:
    """One model per FASTTEXT_GRID point; the best on the validation split is kept. train_s is
    that model's training time; tuning_s the whole grid's."""
    import fasttext

    from training.metrics import accuracy  # scikit-learn: not at module level (see the package docstring)

    labels = sorted({e.intent for e in examples})
    index = {label: i for i, label in enumerate(labels)}  # fastText labels cannot contain spaces
    data = out / "train.txt"
    data.write_text("".join(f"__label__{index[e.intent]} {fasttext_text(e.text)}\n" for e in examples), encoding="utf-8")
    truth = [f"__label__{index.get(e.intent)}" for e in val]
    best = None
    tuning_started = time.perf_counter()
    for point in FASTTEXT_GRID:
        started = time.perf_counter()
        model = fasttext.train_supervised(input=str(data), verbose=0, **FASTTEXT_PARAMS, **point)
        train_s = time.perf_counter() - started
        # model.predict breaks under NumPy 2 (np.array(copy=False)); its binding does the same work.
        predicted = [model.f.predict(fasttext_text(e.text) + "\n", 1, 0.0, "strict")[0][1] for e in val]
        val_accuracy = accuracy(truth, predicted) if val else 0.0
        if best is None or val_accuracy > best[0]:
            best = (val_accuracy, point, train_s, model)
    tuning_s = time.perf_counter() - tuning_started
    val_accuracy, point, train_s, model = best
    model.save_model(str(out / "model.bin"))
    (out / "labels.json").write_text(json.dumps(labels))
    data.unlink()
    return {"train_s": train_s, "tuning_s": tuning_s, "model_mb": _files_mb([out / "model.bin", out / "labels.json"]),
            "params": {**FASTTEXT_PARAMS, **point}, "val_accuracy": val_accuracy}
