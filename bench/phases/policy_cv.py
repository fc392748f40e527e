"""Phase: 5-fold cross-validation of the starter training data, and what each policy would answer.

    python -m bench.phases.policy_cv WORK_DIR OUT.json

Every training example is predicted by the one of five models that did not train on it (config.toml's
[model] settings); bench/policy_sweep.py then scores the bot's answers for each out-of-scope weight
and fallback threshold. This is how [policy] out_of_scope_weight is chosen: the gold set is not used.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.files import config_text, write_json
from bench.policy_sweep import policy_sweep
from training.config import load_config
from training.crossval import out_of_fold
from training.domain import load_domain

FOLDS = 5


def main(work: Path, out: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "policy_cv.toml"
    path.write_text(config_text(work / "policy-cv-var"))
    config = load_config(path)
    examples = load_domain(config.data_dir).training_examples()
    started = time.perf_counter()
    oof = out_of_fold(examples, FOLDS, config.model)
    write_json(out, {
        "folds": FOLDS,
        "n": len(examples),
        "seconds": time.perf_counter() - started,
        "policy": {"out_of_scope_weight": config.policy.out_of_scope_weight, "suggest": config.policy.suggest},
        "sweep": policy_sweep(oof.probs, oof.labels, [e.intent for e in examples], [e.language for e in examples],
                              config.policy),
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
