"""Choosing the A/B test's design: one design per call, the three simulated cases, one JSONL line each.

    .venv/bin/python -m bench.experiments.ab_design NAME '{"alpha_rollback": 0.05}' "what changed" [RUNS]

config.toml's [promotion] test design (training.ab_decision.Design) plus the given overrides, run through
bench/ab_simulation.py: RUNS tests (default 200) of each case (a candidate 5 points worse, 5 better, the
same), at the traffic and reactions the bench phase uses. Appends to bench/experiments/ab_design.jsonl,
which BENCHMARKS.md renders: what was tried before the shipped design was chosen.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime

from bench.ab_simulation import Questions, figures
from bench.files import AB_DESIGN_RECORD, ROOT
from training.ab_decision import Design
from training.config import load_config
from training.domain import load_domain


def main(name: str, overrides: dict, note: str, runs: int) -> dict:
    config = load_config(ROOT / "config.toml")
    design = Design.of(**{**Design.from_settings(config.promotion).rules(), "share": 0.1, **overrides})
    started = time.perf_counter()
    result = figures(design, Questions.of(load_domain(config.data_dir)), runs)
    record = {
        "name": name, "note": note, "design": design.as_dict(), "runs_per_case": runs,
        **{key: result[key] for key in ("worse_rollback_rate", "better_promote_rate", "same_false_rollback_rate",
                                        "median_conversations")},
        "seconds": round(time.perf_counter() - started, 1), "load_average": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with AB_DESIGN_RECORD.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 200)))
