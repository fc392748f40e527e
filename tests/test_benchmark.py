"""training.benchmark: its parts on inputs small enough to check by hand, then end to end on a tiny
CSV with real training and a real serving process per system."""

from __future__ import annotations

import csv
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHOP
from training.benchmark.data import BenchmarkError, Data, held_out_intents, load_data, read_labelled_csv, validation_indices
from training.benchmark.run import choose_threshold, run_benchmark, system_result
from training.benchmark.systems import SYSTEMS, check_available, tfidf_linearsvc
from training.benchmark.table import format_table
from training.config import ModelSettings
from training.domain import Example
from training.metrics import scores

TINY = ModelSettings(max_len=16, max_vocab=500, embedding_dim=8, ngram_buckets=1000, max_ngrams=32, ngram_dim=8,
                     lstm_units=8, max_epochs=3, patience=2, validation_fraction=0.25)

OOS = "out of scope"  # a label with a space must survive fastText
INTENTS = {
    "greet": ["hello", "hi there", "good morning", "hey", "hello friend", "hi bot", "good evening", "hey there",
              "你好", "在吗", "morning!", "hiya"],
    "order_status": ["where is my order", "has my parcel shipped", "track my order", "order status please",
                     "when will my order arrive", "where's my package", "tracking number for my order",
                     "is my order on its way", "我的订单到哪了", "查一下订单", "my order status?", "order tracking"],
    "refund": ["i want my money back", "refund please", "can i get a refund", "give me a refund",
               "money back for my order", "how do i get refunded", "refund my purchase", "i need a refund",
               "我要退款", "退钱", "request a refund", "refund this"],
    OOS: ["what is the weather", "tell me a joke", "who won the game", "what is love", "sing a song",
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


def tiny_csvs(directory: Path) -> tuple[Path, Path]:
    """9 training and 3 test rows per intent; the test CSV's header says category, as BANKING77's."""
    train = [(t, intent) for intent, texts in INTENTS.items() for t in texts[:9]]
    test = [(t, intent) for intent, texts in INTENTS.items() for t in texts[9:]]
    return write_csv(directory / "train.csv", train, "label"), write_csv(directory / "test.csv", test, "category")


def examples(*pairs: tuple[str, str]) -> list[Example]:
    return [Example(text, intent, "en") for text, intent in pairs]


# --- data --------------------------------------------------------------------------------------


def test_csv_rows_are_stripped_and_empty_ones_skipped(tmp_path):
    path = write_csv(tmp_path / "t.csv", [("\nhello ", "greet"), ("", "greet"), ("退款", "refund"), ("x", " ")], "category")
    assert read_labelled_csv(path) == [Example("hello", "greet", "en"), Example("退款", "refund", "zh")]


def test_csv_without_a_label_column_or_rows_is_refused(tmp_path):
    with pytest.raises(BenchmarkError, match="label"):
        read_labelled_csv(write_csv(tmp_path / "bad.csv", [("hello", "greet")], "intent"))
    with pytest.raises(BenchmarkError, match="no labelled rows"):
        read_labelled_csv(write_csv(tmp_path / "empty.csv", [("", "")], "label"))


@pytest.mark.parametrize("fraction", [0.25, 0.05], ids=["stratified", "plain"])
def test_validation_indices_are_the_rows_train_holds_out(fraction, tmp_path):
    """The benchmark splits row numbers; train() exports a training set: the same rows held out either way."""
    from training import training_set
    from training.train import encode_all

    data = [Example(t, intent, "en") for intent, texts in INTENTS.items() for t in texts]
    s = ModelSettings(validation_fraction=fraction, max_len=16, max_ngrams=32)
    manifest = training_set.export(data, s, tmp_path / "set")
    ids, _ = encode_all(manifest.encoder(), [e.text for e in data])
    fit_rows, val_rows = validation_indices(data, s)
    assert len(val_rows) == math.ceil(len(data) * fraction) and sorted([*fit_rows, *val_rows]) == list(range(len(data)))
    held = sorted(tuple(ids_) for ids_, _, _ in training_set.rows(manifest, "validation"))
    assert held == sorted(tuple(row) for row in ids[val_rows].tolist())


def test_held_out_intents_are_drawn_once_by_seed_and_never_all_or_none():
    data = [Example(t, intent, "en") for intent, texts in INTENTS.items() for t in texts]
    held = held_out_intents(data, 2)
    assert len(held) == 2 and set(held) <= set(INTENTS) and held == tuple(sorted(held))
    assert held_out_intents(list(reversed(data)), 2) == held  # the intents, not the row order, decide
    for k in (0, len(INTENTS)):
        with pytest.raises(BenchmarkError, match="hold out"):
            held_out_intents(data, k)


def test_held_out_intents_are_out_of_scope_in_validation_and_test_and_never_learnt(tmp_path):
    train_csv, test_csv = tiny_csvs(tmp_path)
    s = ModelSettings(validation_fraction=0.25)
    data = load_data(train_csv, test_csv, s, hold_out=1, oos_label="unknown")
    (held,) = data.held_out
    assert held in INTENTS and {e.intent for e in data.train} == set(INTENTS) - {held}
    assert {e.intent for e in data.fit} == {e.intent for e in data.train}
    unseen = [e for e in data.val if e.intent == "unknown"]
    assert len(unseen) == math.ceil(9 * 0.25) and {e.text for e in unseen} <= set(INTENTS[held][:9])
    assert [e.text for e in data.test if e.intent == "unknown"] == INTENTS[held][9:]
    assert load_data(train_csv, test_csv, s, hold_out=1, oos_label="unknown") == data


# --- the out-of-scope threshold and the scores -------------------------------------------------


def test_the_threshold_is_the_lowest_that_maximises_validation_accuracy():
    truth = ["a", "a", OOS, OOS, "a"]
    predicted = ["a", "a", "a", "a", "a"]
    # below 0.5: [a a a a a] 3/5; below 0.8: [a a oos oos a] 5/5; below 0.9: [a oos oos oos a] 4/5
    assert choose_threshold(truth, predicted, [0.9, 0.8, 0.3, 0.5, 0.95], OOS) == 0.8
    # a tie: below 0.6 and below 0.7 both make 5/5; the lower one is kept
    assert choose_threshold(["a", OOS, "a"], ["a", "a", "a"], [0.7, 0.5, 0.6], OOS) == pytest.approx(0.6)


def test_no_threshold_without_out_of_scope_examples_or_a_gain():
    assert choose_threshold(["a", "b"], ["a", "a"], [0.9, 0.1], OOS) is None
    # the model's own out-of-scope class already gets every one right: nothing to gain
    assert choose_threshold(["a", OOS], ["a", OOS], [0.4, 0.9], OOS) is None


def test_system_result_scores_test_below_the_validation_threshold_as_out_of_scope():
    data = Data(train=examples(("t1", "a"), ("t2", OOS), ("v1", "a"), ("v2", OOS)), fit=examples(("t1", "a"), ("t2", OOS)),
                val=examples(("v1", "a"), ("v2", OOS)),
                test=examples(("x1", "a"), ("x2", "a"), ("x3", OOS), ("x4", OOS)))
    served = {
        "val": [["a", 0.9], ["a", 0.4]],  # threshold 0.9: the 0.4 becomes out of scope, validation 2/2
        "test": [["a", 0.95], ["a", 0.5], ["a", 0.3], ["a", 0.2]],  # -> a, oos, oos, oos
        "latencies_ms": [1.0, 2.0, 3.0], "load_s": 0.1, "peak_rss_mb": 50.0, "tensorflow_loaded": False,
    }
    trained = {"train_s": 1.5, "model_mb": 0.2, "epochs": 3}
    result = system_result("tfidf_linearsvc", trained, served, data, OOS)
    assert result["oos_threshold"] == 0.9
    assert (result["accuracy"], result["inscope_accuracy"], result["oos_recall"]) == (3 / 4, 1 / 2, 1.0)
    assert result["latency_ms"] == {"p50": 2.0, "p95": pytest.approx(2.9), "p99": pytest.approx(2.98), "mean": 2.0, "n": 3}
    assert (result["n_fit"], result["n_val"], result["n_test"], result["n_labels"]) == (2, 2, 4, 2)
    assert result["epochs"] == 3 and result["peak_rss_mb"] == 50.0  # what training and serving add is kept
    without = system_result("tfidf_linearsvc", trained, served, data, None)  # every top label as it is
    assert without["accuracy"] == 2 / 4 and "oos_recall" not in without and "oos_threshold" not in without


def test_the_table_has_a_row_per_system_and_out_of_scope_columns_only_when_scored():
    row = {"name": "TF-IDF", "accuracy": 0.75, "macro_f1": 0.5, "train_s": 1.5, "model_mb": 0.5, "peak_rss_mb": 80.4,
           "latency_ms": {"p50": 0.1234, "p99": 0.5}}
    plain = format_table({"tfidf_linearsvc": row}).splitlines()
    assert plain[1].split() == ["tfidf_linearsvc", "0.7500", "0.5000", "1.5", "0.123", "0.500", "0.50", "80"]
    assert "OOS" not in plain[0] and plain[2] == "  tfidf_linearsvc: TF-IDF"
    scored = format_table({"tfidf_linearsvc": {**row, "inscope_accuracy": 0.8, "oos_recall": None}}).splitlines()
    assert "OOS rec" in scored[0] and scored[1].split()[-2:] == ["0.8000", "-"]


def test_unknown_systems_and_a_missing_fasttext_are_refused():
    with pytest.raises(BenchmarkError, match="unknown system"):
        check_available(["supportbot", "bert"])
    if HAS_FASTTEXT:
        check_available(SYSTEMS)
    else:  # without the bench extra, the baselines are refused with the way to get them
        with pytest.raises(BenchmarkError, match=r"\.\[bench\]"):
            check_available(SYSTEMS)


# --- end to end: real training, one real serving process per system ----------------------------


@pytest.fixture(scope="module")
def every_system(tmp_path_factory) -> dict[str, dict]:
    train, test = tiny_csvs(tmp_path_factory.mktemp("csv"))
    systems = SYSTEMS if HAS_FASTTEXT else ("supportbot", "tfidf_linearsvc")
    return run_benchmark(train, test, TINY, systems=systems, oos_label=OOS)


@pytest.mark.slow
def test_every_system_is_trained_served_and_scored(every_system):
    assert set(every_system) == set(SYSTEMS if HAS_FASTTEXT else ("supportbot", "tfidf_linearsvc"))
    for system, r in every_system.items():
        assert (r["n_fit"], r["n_val"], r["n_test"], r["n_labels"]) == (27, 9, 12, 4), system
        # 9 in-scope and 3 out-of-scope test messages: the figures are counts of them
        assert r["accuracy"] == pytest.approx((9 * r["inscope_accuracy"] + 3 * r["oos_recall"]) / 12), system
        assert round(12 * r["accuracy"], 9).is_integer() and round(3 * r["oos_recall"], 9).is_integer(), system
        assert "oos_threshold" in r
        assert r["latency_ms"]["n"] >= 300 and r["latency_ms"]["p50"] <= r["latency_ms"]["p99"]
        assert r["train_s"] > 0 and r["model_mb"] > 0
        assert r["tensorflow_in_serving_process"] is False, system  # supportbot serves through LiteRT
    assert every_system["supportbot"]["epochs"] <= TINY.max_epochs
    if HAS_FASTTEXT:
        fasttext = every_system["fasttext"]
        assert {k: fasttext["params"][k] for k in ("epoch", "lr")} in [{"epoch": e, "lr": lr} for e in (25, 50)
                                                                       for lr in (0.5, 1.0)]
        assert round(9 * fasttext["val_accuracy"], 9).is_integer()


@pytest.mark.slow
def test_the_served_baseline_answers_as_the_same_pipeline_in_process(tmp_path):
    """The serving process loads what training saved: its test figures are those of the pipeline
    fitted on the same rows here (TF-IDF + LinearSVC is deterministic)."""
    train, test = tiny_csvs(tmp_path)
    results = run_benchmark(train, test, TINY, systems=["tfidf_linearsvc"])
    fit_rows, _ = validation_indices(read_labelled_csv(train), TINY)
    fit = [read_labelled_csv(train)[i] for i in sorted(fit_rows)]
    gold = read_labelled_csv(test)
    pipeline = tfidf_linearsvc().fit([e.text for e in fit], [e.intent for e in fit])
    expected = scores([e.intent for e in gold], list(pipeline.predict([e.text for e in gold])), oos_label=None)
    assert {k: results["tfidf_linearsvc"][k] for k in expected} == expected
    assert "oos_recall" not in results["tfidf_linearsvc"]


@pytest.mark.slow
def test_held_out_intents_are_scored_as_out_of_scope_and_named(tmp_path):
    train, test = tiny_csvs(tmp_path)
    (result,) = run_benchmark(train, test, TINY, systems=["tfidf_linearsvc"], oos_label="unknown", hold_out=1).values()
    (held,) = result["held_out"]
    assert result["n_labels"] == 3 and result["n_test"] == 12 and result["n_val"] == 7 + 3  # 7 seen + ceil(9/4) held
    assert result["oos_recall"] is not None and "oos_threshold" in result
    with pytest.raises(BenchmarkError, match="out-of-scope label"):
        run_benchmark(train, test, TINY, systems=["tfidf_linearsvc"], hold_out=1)


def test_supportbot_benchmark_reports_a_bad_csv_and_exits_2(tmp_path):
    """The CLI wiring: `supportbot benchmark` reaches the library and turns its error into exit 2."""
    train, test = tiny_csvs(tmp_path)
    bad = write_csv(tmp_path / "bad.csv", [("hello", "greet")], "intent")
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp_path / "var"}"\n{SHOP}')
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), "benchmark", "--train", str(bad),
                           "--test", str(test)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "needs a header with text and label" in done.stderr


def test_supportbot_benchmark_holds_intents_out_only_with_an_out_of_scope_label(tmp_path):
    """`--hold-out K` reaches the library, which refuses it without --oos-label (what it holds out: above)."""
    train, test = tiny_csvs(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nvar_dir = "{tmp_path / "var"}"\n{SHOP}')
    command = [sys.executable, "-m", "bot.cli", "--config", str(config), "benchmark", "--train", str(train),
               "--test", str(test), "--hold-out", "1"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "needs an out-of-scope label" in refused.stderr
