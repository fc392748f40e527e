"""Model selection, one configuration per call: `tune.py` on BANKING77's validation split, `starter_cv.py`
by cross-validation of the starter data. Each appends one line to its JSONL record (tune.jsonl,
starter_cv.jsonl), which BENCHMARKS.md renders. Neither reads a test or gold set."""
