"""Serving: the LiteRT artefact answers like the Keras model it was exported from, for any input."""

import csv
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.db import open_db
from storage.registry import ModelRegistry
from tests.conftest import DATA, ROOT
from training.classifier import Classifier, ModelLoadError
from training.domain import load_domain
from training.tokenize import tokenize

BANKING77_TEST = ROOT.parent / "shared" / "datasets" / "banking77" / "test.csv"


@pytest.fixture(scope="module")
def live_dir(trained_var: Path) -> Path:
    return Path(ModelRegistry(open_db(trained_var / "supportbot.db"), trained_var / "models").live()["path"])


@pytest.fixture(scope="module")
def classifier(live_dir: Path) -> Classifier:
    return Classifier(live_dir)


def parity_texts() -> list[str]:
    texts = [e.text for e in load_domain(DATA).gold]
    if BANKING77_TEST.exists():
        with BANKING77_TEST.open(newline="") as fh:
            texts += [row["text"] for _, row in zip(range(300), csv.DictReader(fh))]
    return texts


def test_served_model_matches_the_keras_model(live_dir, classifier):
    import keras

    from training.train import encode_all

    words = "hi my parcel came damaged and the box was open can i get a refund or a new one".split() * 3
    edges = [" ".join(words[:n]) for n in (7, 8, 9, 15, 16, 17, 31, 32, 33)]  # of each served length, 8/16/32
    texts = parity_texts() + edges
    assert [len(tokenize(t)) for t in edges] == [7, 8, 9, 15, 16, 17, 31, 32, 33]
    keras_probs = keras.models.load_model(live_dir / "model.keras").predict(
        encode_all(classifier.encoder, texts), verbose=0
    )
    served = np.array([classifier.probabilities(t) for t in texts])
    assert (served.argmax(axis=1) == keras_probs.argmax(axis=1)).all()
    assert np.abs(served - keras_probs).max() < 1e-4


def test_a_model_exported_at_a_fixed_length_still_serves(tmp_path, live_dir, classifier):
    """Versions exported before sequence lengths were opened stay loadable (fallback, rollback)."""
    import keras
    import tensorflow as tf

    fixed = tmp_path / "fixed"
    shutil.copytree(live_dir, fixed)
    encoder = classifier.encoder
    signature = [[tf.TensorSpec([1, encoder.max_len], tf.int32), tf.TensorSpec([1, encoder.max_ngrams], tf.int32)]]
    keras.models.load_model(live_dir / "model.keras").export(tmp_path / "saved", input_signature=signature, verbose=False)
    (fixed / "model.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved")).convert())
    old = Classifier(fixed)
    assert classifier.lengths == [8, 16, 32] and old.lengths == [32]
    for text in ["where is my order", "我的订单到哪里了", "order " * 40]:
        assert np.abs(old.probabilities(text) - classifier.probabilities(text)).max() < 1e-4


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀", "x" * 10_000, "order " * 3000, "\x00\x01\x1b[2J", "我的order在哪 где мой заказ", "\u202e"]
)
def test_any_input_gives_a_proper_top_k(classifier, text):
    top = classifier.predict(text, 5)
    assert len(top) == 5 and len({i for i, _ in top}) == 5
    probs = [p for _, p in top]
    assert all(math.isfinite(p) and 0 <= p <= 1 for p in probs) and probs == sorted(probs, reverse=True)


@settings(deadline=None)  # examples: the profile (200, or 10,000 under `make soak`)
@given(st.text(max_size=500))
def test_probabilities_are_a_distribution_for_any_string(classifier, text):
    probs = classifier.probabilities(text)
    assert np.isfinite(probs).all() and abs(probs.sum() - 1) < 1e-3


def test_the_bot_process_never_imports_tensorflow(live_dir):
    import subprocess

    code = (
        "import sys; import bot.channels.telegram_app; from training.classifier import Classifier; "
        f"c = Classifier({str(live_dir)!r}); c.predict('where is my order'); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["False", "False"]


def test_a_directory_with_missing_or_broken_files_is_refused(tmp_path, live_dir):
    with pytest.raises(ModelLoadError):
        Classifier(tmp_path)
    for name in ("encoder.json", "labels.json", "meta.json"):
        (tmp_path / name).write_bytes((live_dir / name).read_bytes())
    (tmp_path / "model.tflite").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelLoadError):
        Classifier(tmp_path)


def test_the_cosine_schedule_starts_at_the_peak_and_decays_to_five_percent():
    from training.config import ModelSettings
    from training.model import learning_rate

    schedule = learning_rate(ModelSettings(learning_rate=0.02, lr_schedule="cosine"), steps=100)
    assert float(schedule(0)) == pytest.approx(0.02)
    assert float(schedule(50)) == pytest.approx(0.02 * (0.05 + 0.95 * 0.5), rel=1e-3)
    assert float(schedule(100)) == pytest.approx(0.001)
    assert learning_rate(ModelSettings(learning_rate=0.003, lr_schedule="constant"), steps=100) == 0.003


def test_the_answer_is_the_average_of_every_members_two_classifiers():
    from training.config import ModelSettings
    from training.model import build_model

    s = ModelSettings(max_len=6, max_ngrams=8, ngram_buckets=50, embedding_dim=4, ngram_dim=4, lstm_units=3, members=3)
    training, serving = build_model(vocab_size=20, n_labels=5, s=s)
    heads = [name for name in training.output_names if name != "intent"]
    assert sorted(heads) == sorted(f"{kind}_{m}" for kind in ("lstm", "ngrams") for m in range(3))
    inputs = [np.array([[2, 3, 4, 0, 0, 0]], dtype="int32"), np.array([[5, 9, 0, 0, 0, 0, 0, 0]], dtype="int32")]
    outputs = training(inputs, training=False)
    assert np.allclose(serving(inputs), np.mean([outputs[name] for name in heads], axis=0), atol=1e-6)


def test_the_stacked_loop_computes_each_members_own_keras_bilstm():
    """StackedBiLSTM steps every member's LSTMs in one loop; each member gets what a Keras
    Bidirectional(LSTM) with its weights, mean- and max-pooled, gives, for any message length."""
    import keras
    from keras import layers

    from training.stacked_lstm import StackedBiLSTM

    units, members = 3, 2
    ids = keras.Input((6,), dtype="int32")
    embeddings = [layers.Embedding(20, 4, mask_zero=True) for _ in range(members)]
    stacked = StackedBiLSTM(units)
    model = keras.Model(ids, stacked([e(ids) for e in embeddings]))
    x = np.array([[2, 3, 4, 0, 0, 0], [5, 6, 7, 8, 9, 10], [11, 0, 0, 0, 0, 0]], dtype="int32")
    for m, (got, embedding) in enumerate(zip(model(x), embeddings)):
        bilstm = layers.Bidirectional(layers.LSTM(units, return_sequences=True))
        states = bilstm(embedding(ids))
        own = keras.Model(ids, layers.Concatenate()([layers.GlobalAveragePooling1D()(states),
                                                     layers.GlobalMaxPooling1D()(states)]))
        for lstm, block in ((bilstm.forward_layer, 2 * m), (bilstm.backward_layer, 2 * m + 1)):
            lstm.set_weights([stacked.kernel[block], stacked.rnn.cell.recurrent_kernel[block], stacked.bias[block]])
        halves = [np.asarray(got)[:, i * 2 * units:(i + 1) * 2 * units] for i in range(2)]  # mean | max
        expected = np.asarray(own(x))
        assert np.allclose(np.concatenate(halves, axis=1), expected, atol=1e-6)


@pytest.mark.parametrize("fraction, stratified", [(0.5, True), (0.05, False)])
def test_the_validation_split_is_stratified_only_when_it_can_hold_every_class(fraction, stratified):
    from training.config import ModelSettings
    from training.training_set import split_rows

    y = np.repeat(np.arange(40), 3)  # 40 intents, 3 examples each: 5% is 6 examples
    train_rows, val_rows = split_rows(y, ModelSettings(validation_fraction=fraction))
    assert len(val_rows) == math.ceil(len(y) * fraction) and sorted([*train_rows, *val_rows]) == list(range(len(y)))
    assert (len(set(y[val_rows])) == 40) == stratified


def test_gold_metrics_count_a_policy_fallback_as_out_of_scope(classifier):
    from training.config import PolicySettings
    from training.evaluate import as_answered

    intent, probability = classifier.predict("where is my order", 1)[0]
    assert intent == "order_status"
    just_sure = PolicySettings(suggest=probability, out_of_scope_weight=1.0)
    assert as_answered(classifier, just_sure)("where is my order") == "order_status"
    unsure = PolicySettings(suggest=probability + 1e-6, confident=1.0, out_of_scope_weight=1.0)
    assert as_answered(classifier, unsure)("where is my order") == "out_of_scope"


def test_the_out_of_scope_weight_shifts_that_class_and_renormalises(classifier):
    text = "what's the weather like in paris tomorrow"
    plain = dict(classifier.predict(text, len(classifier.labels)))
    weighted = dict(classifier.predict(text, len(classifier.labels), out_of_scope_weight=3.0))
    z = 1 + 2 * plain["out_of_scope"]
    assert weighted["out_of_scope"] == pytest.approx(3 * plain["out_of_scope"] / z, rel=1e-5)
    assert weighted["order_status"] == pytest.approx(plain["order_status"] / z, rel=1e-5)
    assert sum(weighted.values()) == pytest.approx(1.0, abs=1e-5)
    assert classifier.predict(text, 3, out_of_scope_weight=1.0) == classifier.predict(text, 3)
