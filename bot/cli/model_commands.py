"""Commands about models and training runs: train, retrain, worker, evaluate, classify, status, runs, rollback."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from bot.cli.app import Failed, command, config_of, opened, operator, workers_option
from bot.schedule import nightly_trigger
from bot.summaries import run_line, run_result, status_text
from bot.usecases import models, training
from storage.registry import RegistryError
from storage.runs import RunInProgress, RunStatus


def _finished(run: dict, as_json: bool) -> int:
    """A run's outcome for the terminal; exit 1 when it failed."""
    if as_json:
        metrics = run["metrics"] or {}
        click.echo(json.dumps({"run_id": run["id"], "status": run["status"], "candidate": metrics.get("candidate"),
                               "live": metrics.get("live"), "counts": run["counts"], "report": run["report_path"],
                               "error": run["error"]}, ensure_ascii=False))
    else:
        click.echo(run_result(run))
        if run["report_path"]:
            click.echo(f"report: {run['report_path']}/report.md")
    return 1 if run["status"] == RunStatus.FAILED else 0


@command()
@workers_option
@click.option("--if-missing", is_flag=True, help="only if no model is live")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.pass_context
def train(ctx: click.Context, if_missing: bool, quiet: bool) -> int:
    """Train on the starter domain; promote if at least as good as live (a recorded run)."""
    with opened(ctx) as runtime:
        if if_missing and (version := training.live_version(runtime)):
            click.echo(f"live model {version} is present; not training")
            return 0
        if not quiet:
            click.echo("training the starter model: a few minutes on two cores; the bar shows how long is left", err=True)
        try:
            run = training.train_starter(runtime, operator(), bar=not quiet)
        except RunInProgress as exc:
            raise Failed(f"training run {exc.run_id} is in progress; not starting another") from None
        return _finished(run, as_json=False)


@command()
@workers_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
@click.pass_context
def retrain(ctx: click.Context, as_json: bool) -> int:
    """Run collect -> clean -> train -> evaluate -> promote now, in this process."""
    with opened(ctx) as runtime:
        try:
            run = training.retrain_now(runtime, operator(), bar=not as_json)
        except RunInProgress as exc:
            click.echo(f"training run {exc.run_id} is in progress; not starting another", err=True)
            return 1
        return _finished(run, as_json)


@command()
@click.option("--index", type=click.IntRange(min=1), required=True, help="this machine's place in [training] workers, from 1")
@click.pass_context
def worker(ctx: click.Context, index: int) -> int:
    """Take part in multi-worker training runs as worker INDEX, until stopped; never opens the database."""
    from training.cluster_worker import serve

    config = config_of(ctx)
    workers = config.training.workers
    if index > len(workers):
        raise Failed(f"[training] workers lists {len(workers)} machine(s); --index {index} is none of them")
    click.echo(f"worker {index} ({workers[index - 1]}): waiting for training runs in {config.shared_dir}", err=True)
    serve(config.shared_dir, index, say=lambda line: click.echo(line, err=True))
    return 0


@command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
@click.option("--version", help="a model version instead of the live one")
@click.option("--cross-validate", type=int, metavar="K", help="k-fold cross-validation of the starter domain instead")
@click.pass_context
def evaluate(ctx: click.Context, as_json: bool, version: str | None, cross_validate: int | None) -> int:
    """Gold-set metrics of the live model (or --version), as the bot serves it."""
    from training.evaluate import format_report

    if cross_validate:
        return _cross_validate(ctx, cross_validate, as_json)
    with opened(ctx) as runtime:
        try:
            metrics = models.evaluate_version(runtime, version)
        except (models.NoModel, RegistryError) as exc:
            raise Failed(str(exc)) from None
    if as_json:
        click.echo(json.dumps({k: v for k, v in metrics.items() if k != "errors"}, ensure_ascii=False))
    else:
        click.echo(f"model {metrics['version']}\n{format_report(metrics)}")
    return 0


def _cross_validate(ctx: click.Context, k: int, as_json: bool) -> int:
    from training.crossval import cross_validate, format_cross_validation
    from training.domain import load_domain

    config = config_of(ctx)
    result = cross_validate(load_domain(config.data_dir).training_examples(), k, config.model, config.policy)
    click.echo(json.dumps(result) if as_json else format_cross_validation(result))
    return 0


@command()
@click.argument("texts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line: text, intent, confidence, action, topk")
@click.pass_context
def classify(ctx: click.Context, texts: tuple[str, ...], as_json: bool) -> int:
    """What the bot would do with each TEXT (or each line on stdin); nothing is stored."""
    lines = list(texts) or [line.rstrip("\n") for line in sys.stdin]
    with opened(ctx) as runtime:
        try:
            results = models.classify(runtime, lines)
        except models.NoModel as exc:
            raise Failed(str(exc)) from None
    for r in results:
        if as_json:
            click.echo(json.dumps({"text": r.text, "intent": r.intent, "confidence": r.confidence, "action": r.action,
                                   "topk": r.topk}, ensure_ascii=False))
        else:
            top = "  ".join(f"{intent} {p:.3f}" for intent, p in r.topk)
            click.echo(f"{r.action:<9} {r.intent or '-':<22} {r.confidence or 0:.3f}  {r.text}\n          top: {top}")
    return 0


@command()
@click.pass_context
def status(ctx: click.Context) -> int:
    """Live model, collected-but-untrained labels, review queue, recent runs, next run."""
    with opened(ctx) as runtime:
        learning, tz = runtime.config.learning, runtime.config.telegram.timezone
        next_run = nightly_trigger(learning.schedule, tz).get_next_fire_time(None, datetime.now(UTC))
        click.echo(status_text(models.status(runtime, operator(), next_run, False)))
    return 0


@command()
@click.option("--limit", type=int, default=20, show_default=True)
@click.pass_context
def runs(ctx: click.Context, limit: int) -> int:
    """Training-run history, newest first (the starter model's run included)."""
    with opened(ctx) as runtime:
        for run in training.recent_runs(runtime, limit):
            click.echo(run_line(run))
    return 0


@command()
@click.argument("version", required=False)
@click.pass_context
def rollback(ctx: click.Context, version: str | None) -> int:
    """Make the previous live model (or VERSION) live again; a running bot picks it up."""
    with opened(ctx) as runtime:
        try:
            restored = models.rollback(runtime, operator(), version)
        except RegistryError as exc:
            click.echo(f"rollback refused: {exc}", err=True)
            return 1
    click.echo(f"{restored} is live")
    return 0
