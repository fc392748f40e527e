"""bench/report.py: BENCHMARKS.md is what the generator makes of bench/results.json, and every
bench path or module it names exists (the report outlives moves in bench/)."""

from __future__ import annotations

import importlib.util
import json
import re

from bench.files import BENCHMARKS, RESULTS, ROOT
from bench.report import render


def test_benchmarks_md_is_rendered_from_the_last_results():
    """No figure is edited by hand: `python -m bench.report` rewrites BENCHMARKS.md to the same text."""
    assert render(json.loads(RESULTS.read_text(encoding="utf-8"))) == BENCHMARKS.read_text(encoding="utf-8")


def test_every_path_and_module_the_report_names_exists():
    text = BENCHMARKS.read_text(encoding="utf-8")
    paths = set(re.findall(r"\b(?:bench|tests)/[\w./-]*\w", text))
    modules = set(re.findall(r"-m (bench(?:\.\w+)+)", text))
    assert {"bench/results.json", "bench/figures/retrain_scaling.png"} <= paths
    assert {"bench.report", "bench.experiments.tune", "bench.experiments.starter_cv"} <= modules
    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == []
    assert [m for m in sorted(modules) if importlib.util.find_spec(m) is None] == []


def test_each_unmet_target_is_marked_and_explained_and_a_met_one_is_not():
    """The #17 table judges the figures it is given: a target missed says why it stops; one met says nothing more."""
    from bench.report import targets_section

    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    results["serving"]["latency_ms"].update(p50=0.6, p99=0.9)
    results["banking77"]["supportbot"].update(accuracy=0.94, train_s=120.0)
    hwu64 = results["hwu64"]
    hwu64["supportbot"]["accuracy"] = hwu64["tfidf_linearsvc"]["accuracy"] + 0.02
    text = "\n".join(targets_section(results))
    assert "| `Classifier.predict` p50 ≤ 0.5 ms (serving path) | 0.600 ms | not met |" in text
    assert "| `Classifier.predict` p99 ≤ 1 ms (serving path) | 0.900 ms | met |" in text
    assert "**Serving latency" in text
    assert "| BANKING77 test accuracy ≥ 0.937 | 0.9400 | met |" in text
    assert "**Accuracy" not in text and "**Retraining" not in text
