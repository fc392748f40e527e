"""Phase: A/B tests of candidate models, simulated, decided by the bot's own code.

    python -m bench.phases.ab WORK_DIR OUT.json

bench/ab_simulation.py: three cases (a candidate whose resolved rate is 5 points below live's, 5 above, the
same), RUNS tests each with its own seed, at 300 conversations a day, canary_share 0.1 and at most 28 nights,
with config.toml's [promotion] test design. Each night's verdict is `training.ab_decision.look`, the function
the bot's nightly look calls. No model and no TensorFlow: the simulated models are their accuracies.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.ab_simulation import Questions, figures
from bench.files import ROOT, write_json
from training.ab_decision import Design
from training.config import load_config
from training.domain import load_domain

RUNS = 200
SHARE = 0.1


def main(out: Path) -> None:
    config = load_config(ROOT / "config.toml")
    design = replace(Design.from_settings(config.promotion), share=SHARE)
    started = time.perf_counter()
    result = figures(design, Questions.of(load_domain(config.data_dir)), RUNS)
    write_json(out, {**result, "seconds": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main(Path(sys.argv[2]))
