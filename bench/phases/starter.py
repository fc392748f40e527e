"""Phase: train the starter model with config.toml, as `supportbot train` does, and keep it live.

    python -m bench.phases.starter WORK_DIR OUT.json

WORK_DIR/config.toml (config.toml with state in WORK_DIR/var) and WORK_DIR/var/ are left for
the serving and end-to-end phases. OUT.json: the gold-set metrics, the seed and how long it took, and, on
the validation split training held out, what each out-of-scope weight and fallback threshold
would answer (bench/policy_sweep.py).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
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
from training.release import Release, train_release


def validation_sweep(classifier: Classifier, examples: list[Example], config: Config) -> list[dict]:
    """The policy sweep (bench/policy_sweep.py) on the validation split training held out."""
    _, val_rows = validation_indices(examples, config.model)
    held = [examples[i] for i in val_rows]
    probs = np.array([classifier.probabilities(e.text) for e in held])
    return policy_sweep(probs, classifier.labels, [e.intent for e in held], [e.language for e in held], config.policy)


def train_starter(work: Path, seed: int | None = None) -> tuple[Config, list[Example], Release, float]:
    """config.toml with state in WORK_DIR (the file left at WORK_DIR/config.toml), and the starter release
    trained with it as `supportbot train` does and made live there: its config, training examples, the
    release and the seconds it took (train + LiteRT export + gold evaluation). With `seed`, config.toml's
    model settings with that seed instead (the seed spread, bench/phases/starter_seed.py)."""
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / "config.toml"
    config_path.write_text(config_text(work / "var"))
    config = load_config(config_path)
    settings = config.model if seed is None else replace(config.model, seed=seed)
    domain = load_domain(config.data_dir)
    examples = domain.training_examples()
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    started = time.perf_counter()
    release = train_release(examples, domain.gold, settings, registry, config.policy, verbose=0,
                            progress=lambda msg: print(f"starter: {msg}", file=sys.stderr, flush=True))
    release_s = time.perf_counter() - started
    registry.promote(release.version)
    registry.db.close()
    return config, examples, release, release_s


def gold_figures(release: Release, release_s: float) -> dict:
    """What a seed is judged by: the release's gold-set metrics (as the bot answers), epochs and seconds."""
    m = release.metrics
    return {
        "epochs": len(release.trained.history.get("loss", [])),
        "release_s": release_s,  # train + LiteRT export + gold evaluation, as `supportbot train`
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "oos_recall": m["oos_recall"],
        "inscope_accuracy": m["inscope_accuracy"],
        "per_language": m["per_language"],
    }


def main(work: Path, out: Path) -> None:
    config, examples, release, release_s = train_starter(work)
    write_json(out, {
        "version": release.version,
        "model_dir": str(config.models_dir / release.version),
        "config": str(work / "config.toml"),
        "n_train": len(examples),
        "n_gold": release.metrics["n_gold"],
        "n_intents": release.metrics["n_intents"],
        **gold_figures(release, release_s),
        "seed": config.model.seed,
        "policy": {"out_of_scope_weight": config.policy.out_of_scope_weight, "suggest": config.policy.suggest},
        "validation_sweep": validation_sweep(Classifier(config.models_dir / release.version), examples, config),
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
