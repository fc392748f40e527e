"""Phase: train the starter model with config.toml, as `supportbot train` does, and keep it live.

    python bench/starter.py WORK_DIR OUT.json

WORK_DIR/config.toml (config.toml with state in WORK_DIR/var) and WORK_DIR/var/ are left for
the serving and end-to-end phases. OUT.json: the gold-set metrics and how long it took, and, on
the validation split training held out, what each fallback threshold does to out-of-scope recall
and in-scope accuracy (how [policy] suggest is chosen).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common import config_text, write_json

from storage.db import open_db
from storage.registry import ModelRegistry
from training.benchmark import validation_indices
from training.classifier import Classifier
from training.config import ModelSettings, load_config
from training.domain import OUT_OF_SCOPE, Example, load_domain
from training.release import train_release

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def threshold_sweep(classifier: Classifier, examples: list[Example], s: ModelSettings) -> list[dict]:
    """Out-of-scope recall and in-scope accuracy on the validation split, falling back below each threshold."""
    _, val_rows = validation_indices(examples, s)
    top = [(examples[i].intent, *classifier.predict(examples[i].text, 1)[0]) for i in val_rows]
    sweep = []
    for threshold in THRESHOLDS:
        decided = [(truth, OUT_OF_SCOPE if p < threshold else intent) for truth, intent, p in top]
        oos = [intent == OUT_OF_SCOPE for truth, intent in decided if truth == OUT_OF_SCOPE]
        inscope = [intent == truth for truth, intent in decided if truth != OUT_OF_SCOPE]
        sweep.append({"threshold": threshold, "oos_recall": sum(oos) / len(oos),
                      "inscope_accuracy": sum(inscope) / len(inscope), "n_val": len(decided)})
    return sweep


def main(work: Path, out: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / "config.toml"
    config_path.write_text(config_text(work / "var"))
    config = load_config(config_path)
    domain = load_domain(config.data_dir)
    examples = domain.training_examples()
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    started = time.perf_counter()
    release = train_release(examples, domain.gold, config.model, registry, config.policy.suggest, verbose=0,
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
        "fallback_below": config.policy.suggest,
        "validation_thresholds": threshold_sweep(Classifier(config.models_dir / release.version), examples,
                                                 config.model),
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
