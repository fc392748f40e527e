"""`supportbot benchmark` end to end on a tiny CSV: real training, real serving processes."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from bot.cli import main
from training.benchmark import SYSTEMS, BenchmarkError, check_available, read_labelled_csv

pytestmark = pytest.mark.slow

TINY_MODEL = """
[model]
max_len = 16
max_vocab = 500
embedding_dim = 8
ngram_buckets = 1000
max_ngrams = 32
ngram_dim = 8
lstm_units = 8
max_epochs = 3
patience = 2
validation_fraction = 0.25
"""

INTENTS = {
    "greet": ["hello", "hi there", "good morning", "hey", "hello friend", "hi bot", "good evening", "hey there",
              "你好", "在吗", "morning!", "hiya"],
    "order_status": ["where is my order", "has my parcel shipped", "track my order", "order status please",
                     "when will my order arrive", "where's my package", "tracking number for my order",
                     "is my order on its way", "我的订单到哪了", "查一下订单", "my order status?", "order tracking"],
    "refund": ["i want my money back", "refund please", "can i get a refund", "give me a refund",
               "money back for my order", "how do i get refunded", "refund my purchase", "i need a refund",
               "我要退款", "退钱", "request a refund", "refund this"],
    "out of scope": ["what is the weather", "tell me a joke", "who won the game", "what is love", "sing a song",
                     "how tall is everest", "recipe for pasta", "capital of france", "今天天气怎么样", "讲个笑话",
                     "play music", "best movie ever"],
}
HAS_FASTTEXT = importlib.util.find_spec("fasttext") is not None


def write_csv(path: Path, rows: list[tuple[str, str]], label_column: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", label_column])
        writer.writerows(rows)
    return path


@pytest.fixture
def csvs(tmp_path: Path) -> tuple[Path, Path]:
    train = [(t, intent) for intent, texts in INTENTS.items() for t in texts[:9]]
    test = [(t, intent) for intent, texts in INTENTS.items() for t in texts[9:]]
    # BANKING77's original header says category; a label with a space must survive fastText.
    return write_csv(tmp_path / "train.csv", train, "label"), write_csv(tmp_path / "test.csv", test, "category")


def test_benchmark_trains_and_measures_every_system(tmp_path, csvs, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp_path / "var"}"\n{TINY_MODEL}')
    train, test = csvs
    args = ["benchmark", "--config", str(config), "--train", str(train), "--test", str(test),
            "--oos-label", "out of scope", "--json"]
    if HAS_FASTTEXT:
        args.append("--baselines")
    else:  # without the bench extra, the baselines are refused with the way to get them
        with pytest.raises(BenchmarkError, match=r"\.\[bench\]"):
            check_available(SYSTEMS)
    assert main(args) == 0
    results = json.loads(capsys.readouterr().out)
    expected = set(SYSTEMS) if HAS_FASTTEXT else {"supportbot"}
    assert set(results) == expected
    for system, r in results.items():
        for key in ("accuracy", "macro_f1", "inscope_accuracy", "oos_recall"):
            assert 0.0 <= r[key] <= 1.0, (system, key, r[key])
        assert r["train_s"] > 0 and r["model_mb"] > 0 and r["peak_rss_mb"] > 0
        assert 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p99"]
        assert r["latency_ms"]["n"] >= 300
        assert r["n_test"] == 12 and r["n_labels"] == 4
        assert r["n_fit"] + r["n_val"] == 36
    assert results["supportbot"]["tensorflow_in_serving_process"] is False


def test_tfidf_baseline_alone_and_csv_columns(tmp_path, csvs, capsys):
    """The table output, one baseline alone, and a CSV without a label column."""
    from training.benchmark import format_table, run_benchmark
    from training.config import ModelSettings

    train, test = csvs
    results = run_benchmark(train, test, ModelSettings(validation_fraction=0.25), systems=["tfidf_linearsvc"])
    assert 0.0 <= results["tfidf_linearsvc"]["accuracy"] <= 1.0
    assert "tfidf_linearsvc" in format_table(results)
    assert [e.intent for e in read_labelled_csv(test)][:3] == ["greet"] * 3
    bad = write_csv(tmp_path / "bad.csv", [("hello", "greet")], "intent")
    with pytest.raises(BenchmarkError, match="label"):
        read_labelled_csv(bad)
