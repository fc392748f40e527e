"""`make bench` and the experiments behind the shipped settings (run from the repository root).

- `run.py`: `make bench` (`python -m bench.run`): every phase, then `results.json` and BENCHMARKS.md.
- `report.py`: BENCHMARKS.md and `figures/` from `results.json` (`python -m bench.report`).
- `phases/`: one module per phase of `make bench`, each its own process (`python -m bench.phases.NAME`).
- `experiments/`: one-off model-selection tools and the JSONL record each one appends to.
- `files.py`, `policy_sweep.py`: what phases and experiments share.

Generated, kept in git: `results.json` (the last `make bench`), `soak.json` (the last `make soak`),
`figures/`. Ignored: `logs/`.
"""
