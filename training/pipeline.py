"""The learning loop: collect -> clean -> train -> evaluate -> promote, one run at a time.

`python -m training.pipeline --run-id N` is the separate process the bot starts, so that
TensorFlow trains while the bot keeps answering; the CLI calls `execute` in its own process.
Either way the run's row records every stage, and the lock in SQLite keeps runs single-flight.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from sqlite_utils import Database

from storage.db import open_db
from storage.registry import ModelRegistry
from storage.runs import Runs
from training.classifier import Classifier
from training.clean import clean
from training.collect import collect
from training.config import Config, PolicySettings, load_config
from training.domain import Domain, Example, load_domain
from training.evaluate import as_answered, evaluate
from training.gate import verdict
from training.tokenize import language_of, tokenize

log = logging.getLogger(__name__)


def _live_metrics(registry: ModelRegistry, domain: Domain, policy: PolicySettings) -> tuple[str | None, dict | None]:
    """Re-measure the live model on today's gold set, so both models face the same questions."""
    live = registry.live()
    if live is None:
        return None, None
    classifier = Classifier(Path(live["path"]))
    return live["version"], evaluate(as_answered(classifier, policy), domain.gold)


def _training_set(domain: Domain, cleaned: list, counts: dict) -> list[Example]:
    """Starter domain plus cleaned conversation labels, minus anything that is in the gold set."""
    gold = {tuple(tokenize(e.text)) for e in domain.gold}
    extra = [Example(r.text, r.intent, language_of(r.text)) for r in cleaned if tuple(tokenize(r.text)) not in gold]
    counts["clean"]["gold_overlap"] = len(cleaned) - len(extra)
    return domain.training_examples() + extra


def execute(config: Config, db: Database, run_id: int) -> dict:
    """Run every stage for `run_id`, recording progress; returns the run's final row."""
    runs, registry = Runs(db), ModelRegistry(db, config.models_dir)
    run = runs.get(run_id)
    try:
        for leftover in registry.remove_scratch():
            log.warning("removed %s, left by an interrupted training run", leftover)
        domain = load_domain(config.data_dir)
        collected = collect(db, runs.last_trained_at(), config.learning)
        counts = {"collect": {**collected.by_source, "total": len(collected.rows), "new": collected.new}}
        if run["trigger"] == "nightly" and collected.new == 0 and not config.learning.retrain_without_new_data:
            runs.update(run_id, status="skipped", stage="done", counts=counts, progress="no new labels")
            return runs.get(run_id)
        runs.update(run_id, stage="clean", counts=counts)
        cleaned = clean(collected.rows, set(domain.intents), config.clean)
        counts["clean"] = dict(cleaned.counts)
        examples = _training_set(domain, cleaned.examples, counts)
        counts["train"] = {"examples": len(examples), "from_conversations": len(examples) - len(domain.training_examples())}
        runs.update(run_id, stage="train", counts=counts)
        from training.release import train_release  # imports TensorFlow: only now, only here

        release = train_release(
            examples, domain.gold, config.model, registry, config.policy, verbose=0,
            progress=lambda text: runs.update(run_id, progress=text),
        )
        runs.update(run_id, stage="evaluate", candidate_version=release.version)
        live_version, live_metrics = _live_metrics(registry, domain, config.policy)
        runs.update(run_id, stage="promote", live_version=live_version)
        promote, reasons = verdict(release.metrics, live_metrics, config.promotion)
        report = _report(config, run, release, live_version, live_metrics, promote, reasons, counts)
        if promote:
            registry.promote(release.version)
        else:
            registry.set_status(release.version, "rejected")
        runs.update(
            run_id,
            status="promoted" if promote else "rejected",
            stage="done",
            progress="; ".join(reasons),
            counts=counts,
            metrics={"candidate": _summary(release.metrics), "live": _summary(live_metrics)},
            report_path=str(report),
        )
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, never silent
        log.exception("training run %s failed", run_id)
        runs.update(run_id, status="failed", error=f"{type(exc).__name__}: {exc}", progress=traceback.format_exc(limit=3))
    return runs.get(run_id)


def _summary(metrics: dict | None) -> dict | None:
    keep = ("accuracy", "macro_f1", "oos_recall", "inscope_accuracy", "n_gold", "per_language")
    return {k: metrics[k] for k in keep} if metrics else None


def _report(config, run, release, live_version, live_metrics, promote, reasons, counts) -> Path:
    from training.report import write_report

    directory = config.reports_dir / str(run["id"])
    write_report(
        directory,
        run_id=run["id"],
        trigger=run["trigger"],
        candidate_version=release.version,
        candidate=release.metrics,
        live_version=live_version,
        live=live_metrics,
        promoted=promote,
        reasons=reasons,
        counts=counts,
        history=release.trained.history,
    )
    return directory


def main(argv: list[str] | None = None) -> int:
    """Child-process entry point: adopt the run's lock, execute, always release."""
    parser = argparse.ArgumentParser(description="Run one training run (started by the bot or the CLI).")
    parser.add_argument("--config", default="config.toml")
    parser.add_argument("--run-id", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s pipeline: %(message)s")
    config = load_config(args.config)
    db = open_db(config.db_path)
    runs = Runs(db)
    runs.adopt(args.run_id)
    try:
        result = execute(config, db, args.run_id)
    finally:
        runs.release(args.run_id)
    return 0 if result["status"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
