"""Benchmark our intent model against standard baselines on any `text,label` CSV.

    from training.benchmark.run import run_benchmark  # raises training.benchmark.data.BenchmarkError
    from training.benchmark.table import format_table

    results = run_benchmark(Path("train.csv"), Path("test.csv"), settings, baselines=True)
    print(format_table(results))

Systems (keys of the result; `systems.py`):

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
validation split `train()` holds out (`data.py` reproduces it with the same function and seed)
only chooses the out-of-scope confidence threshold (`run.py`). TEST is read once, at the end, by
a fresh process per system that loads the saved model and nothing else (`serving.py`), so its
peak RSS and latency are that system's alone. Latency is one message at a time, raw text in,
tokenisation and vectorisation included, after a warm-up on the validation texts.

What a serving process imports (`serving.py` and the modules it needs: `data.py`, `systems.py`)
is what the served system needs and no more: TensorFlow and scikit-learn are imported inside the
functions that train or score, so a serving process measures only its own system, and the bench's
serving phase, which reads its memory with `serving.rss_mb`, measures only the bot. This package
itself imports nothing, for the same reason.
"""
