"""Phase: train the starter model with config.toml, as `supportbot train` does, and keep it live.

    python -m bench.phases.starter WORK_DIR OUT.json

WORK_DIR/config.toml (config.toml with state in WORK_DIR/var) and WORK_DIR/var/ are left for
the serving and end-to-end phases. OUT.json: the gold-set metrics and how long it took, and, on
the validation split training held out, what each out-of-scope weight and fallback threshold
would answer (bench/policy_sweep.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.files import config_text, write_json
from bench.policy_sweep import policy_sweep
from storage.db import open_db
from storage.registry import ModelRegistry
from training.benchmark.data import validation_indices
from training.classifier import Classifier
from training.config import Config, load_config
from training.domain import Example, load_domain
from training.release import train_release


def validation_sweep(classifier: Classifier, examples: list[Example], config: Config) -> list[dict]:
    """The policy sweep (bench/policy_sweep.py) on the validation split training held out."""
    _, val_rows = validation_indices(examples, config.model)
    held = [examples[i] for i in val_rows]
    probs = np.array([classifier.probabilities(e.text) for e in held])
    return policy_sweep(probs, classifier.labels, [e.intent for e in held], [e.language for e in held], config.policy)


def main(work: Path, out: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / "config.toml"
    config_path.write_text(config_text(work / "var"))
    config = load_config(config_path)
    domain = load_domain(config.data_dir)
    examples = domain.training_examples()
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    started = time.perf_counter()
    release = train_release(examples, domain.gold, config.model, registry, config.policy, verbose=0,
                            progress=lambda msg: print(f"starter: {msg}", file=sys.stderr, flush=True))
    release_s = time.perf_counter() - started
    registry.promote(release.version)
    registry.db.close()
    m = release.metrics
    write_json(out, {
        "version": release.version,
        "model_dir": str(config.models_dir / release.version),
        "config": str(config_path),
        "n_train": len(examples),
        "n_gold": m["n_gold"],
        "n_intents": m["n_intents"],
        "epochs": len(release.trained.history.get("loss", [])),
        "release_s": release_s,  # train + LiteRT export + gold evaluation, as `supportbot train`
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "oos_recall": m["oos_recall"],
        "inscope_accuracy": m["inscope_accuracy"],
        "per_language": m["per_language"],
        "policy": {"out_of_scope_weight": config.policy.out_of_scope_weight, "suggest": config.policy.suggest},
        "validation_sweep": validation_sweep(Classifier(config.models_dir / release.version), examples, config),
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
