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
