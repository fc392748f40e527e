"""The learning loop: collect -> clean -> train -> evaluate -> promote, one run at a time.

One path for every trigger: the starter model (`supportbot train`, the starter domain only), the
whole chain from the CLI (`supportbot retrain`), from an admin (/retrain) and at night. Every run
holds the run lock, is recorded stage by stage in `training_runs`, faces the same gate (the live
model re-measured on today's gold set) and leaves a report.

`python -m training.pipeline --run-id N` is the child process the bot starts, so that TensorFlow
trains while the bot keeps answering; the CLI calls `run_now` in its own process.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from storage.db import open_db
from storage.experiments import Experiments
from storage.registry import ModelRegistry
from storage.runs import Runs, RunStage, RunStatus, RunTrigger
from training.canary import Placement, carry_out, plan
from training.classifier import Classifier
from training.clean import clean
from training.cluster_job import remove_leftovers
from training.collect import collect
from training.config import Config, PolicySettings, load_config
from training.domain import Domain, Example, load_domain
from training.gate import verdict
from training.quiet import quiet
from training.tokenize import language_of, tokenize

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class Skipped(Exception):
    """A nightly run with nothing new to learn from (see [learning] retrain_without_new_data)."""


def _live_metrics(registry: ModelRegistry, domain: Domain, policy: PolicySettings) -> tuple[str | None, dict | None]:
    """Re-measure the live model on today's gold set, so both models face the same questions."""
    live = registry.live()
    if live is None:
        return None, None
    from training.evaluate import as_answered, evaluate  # scikit-learn: the training child's, not the serving bot's

    classifier = Classifier(Path(live["path"]))
    return live["version"], evaluate(as_answered(classifier, policy), domain.gold)


def _conversation_examples(config: Config, db: Database, runs: Runs, run: dict, domain: Domain,
                           counts: dict) -> list[Example]:
    """Collected and cleaned labels, minus anything that is in the gold set; raises Skipped."""
    collected = collect(db, runs.last_trained_at(), config.learning)
    counts["collect"] = {**collected.by_source, "total": len(collected.rows), "new": collected.new}
    if run["trigger"] == RunTrigger.NIGHTLY and collected.new == 0 and not config.learning.retrain_without_new_data:
        raise Skipped
    runs.update(run["id"], stage=RunStage.CLEAN, counts=counts)
    cleaned = clean(collected.rows, set(domain.intents), config.clean)
    counts["clean"] = dict(cleaned.counts)
    gold = {tuple(tokenize(e.text)) for e in domain.gold}
    extra = [Example(r.text, r.intent, language_of(r.text)) for r in cleaned.examples if tuple(tokenize(r.text)) not in gold]
    counts["clean"]["gold_overlap"] = len(cleaned.examples) - len(extra)
    return extra


def execute(config: Config, db: Database, run_id: int, progress: Progress | None = None, bar: bool = False) -> dict:
    """Run every stage for `run_id` (whose lock the caller holds), recording progress; returns the
    run's final row. A starter run trains on the starter domain alone, every other on it plus the
    collected labels. `progress` also gets each progress text, `bar` draws one bar on the terminal."""
    runs, registry = Runs(db), ModelRegistry(db, config.models_dir)
    run = runs.get(run_id)

    def report_progress(text: str) -> None:
        runs.update(run_id, progress=text)
        if progress:
            progress(text)

    counts: dict = {}
    try:
        for leftover in registry.remove_scratch():  # safe: the lock keeps any other writer out
            log.warning("removed %s, left by an interrupted training run", leftover)
        for leftover in remove_leftovers(config.shared_dir):
            log.warning("removed %s, a training set left by an interrupted training run", leftover)
        domain = load_domain(config.data_dir)
        extra = [] if run["trigger"] == RunTrigger.STARTER else _conversation_examples(config, db, runs, run, domain, counts)
        examples = domain.training_examples() + extra
        counts["train"] = {"examples": len(examples), "from_conversations": len(extra)}
        runs.update(run_id, stage=RunStage.TRAIN, counts=counts)
        from training.release import train_release  # imports TensorFlow: only now, only here

        with quiet():  # TensorFlow's and LiteRT's own chatter is nothing a shop owner can act on
            release = train_release(examples, domain.gold, config.model, registry, config.policy, verbose=0,
                                    progress=report_progress, bar=bar, cluster=(config.training, config.shared_dir))
        runs.update(run_id, stage=RunStage.EVALUATE, candidate_version=release.version)
        live_version, live_metrics = _live_metrics(registry, domain, config.policy)
        runs.update(run_id, stage=RunStage.PROMOTE, live_version=live_version)
        promote, reasons = verdict(release.metrics, live_metrics, config.promotion)
        experiments = Experiments(db)
        placement, why = plan(experiments, config.promotion, live_version, passed=promote)
        reasons += [why] if why else []
        report = _report(config, run, release, live_version, live_metrics, placement, reasons, counts)
        status = carry_out(placement, registry, experiments, config.promotion, release.version, live_version, run_id)
        runs.update(
            run_id,
            status=status,
            stage=RunStage.DONE,
            progress="; ".join(reasons),
            counts=counts,
            metrics={"candidate": _summary(release.metrics), "live": _summary(live_metrics)},
            report_path=str(report),
        )
    except Skipped:
        runs.update(run_id, status=RunStatus.SKIPPED, stage=RunStage.DONE, counts=counts, progress="no new labels")
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, never silent
        log.exception("training run %s failed", run_id)
        runs.update(run_id, status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}", progress=traceback.format_exc(limit=3))
    return runs.get(run_id)


def run_now(config: Config, db: Database, trigger: RunTrigger, requested_by: str | None,
            progress: Progress | None = None, bar: bool = False) -> dict:
    """Take the run lock, run in this process, always release; raises RunInProgress when busy."""
    runs = Runs(db)
    run_id = runs.start(trigger, requested_by)
    try:
        return execute(config, db, run_id, progress, bar)
    finally:
        runs.release(run_id)


def _summary(metrics: dict | None) -> dict | None:
    keep = ("accuracy", "macro_f1", "oos_recall", "inscope_accuracy", "n_gold", "per_language")
    return {k: metrics[k] for k in keep} if metrics else None


def _report(config, run, release, live_version, live_metrics, placement, reasons, counts) -> Path:
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
        promoted=placement == Placement.LIVE,
        tested=placement == Placement.TEST,
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
    return 0 if result["status"] != RunStatus.FAILED else 1


if __name__ == "__main__":
    sys.exit(main())
