"""What training shows on a terminal: one progress bar, none of TensorFlow's or Keras' own chatter.

Trains a tiny model in a fresh process (TensorFlow reads its log level once, as it loads), then
exports it to LiteRT as every release does, and reads everything the process wrote.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT

TRAIN_AND_SAVE = f"""
import sys
from pathlib import Path
from training.config import ModelSettings
from training.domain import load_domain
from training.train import save, train

settings = ModelSettings(embedding_dim=16, ngram_dim=16, lstm_units=8, members=1, max_epochs=2)
trained = train(load_domain(Path({str(DATA)!r})).training_examples(), settings, progress=print, bar=True)
save(trained, Path(sys.argv[1]), settings)
"""


@pytest.mark.slow
def test_training_shows_one_bar_and_nothing_else(tmp_path):
    done = subprocess.run([sys.executable, "-c", TRAIN_AND_SAVE, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model.tflite").stat().st_size > 0
    epochs = done.stdout.splitlines()  # the caller's text progress still comes, once per epoch
    assert len(epochs) == 2 and all(re.fullmatch(r"epoch [12]/2, validation accuracy \d\.\d{3}", e) for e in epochs)
    shown = [part.strip() for part in re.split(r"[\r\n]", done.stderr) if part.strip()]
    assert shown and all(part.startswith("training ") for part in shown), shown[:10]
    assert shown[-1].startswith("training 100%"), shown[-1]
    assert "epoch 2/2" in shown[-1]
