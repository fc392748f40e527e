"""The `supportbot` command. Each subcommand is a small function over the same runtime pieces.

TensorFlow is imported only by the subcommands that train; chatting and serving never load it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from storage.db import DatabaseRefused
from training.config import Config, ConfigError, load_config
from training.domain import DomainError, load_domain

log = logging.getLogger("supportbot")
COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {}


def command(func: Callable[[argparse.Namespace, Config], int]) -> Callable[[argparse.Namespace, Config], int]:
    COMMANDS[func.__name__.removeprefix("cmd_")] = func
    return func


def _registry(config: Config):
    from storage.db import open_db
    from storage.registry import ModelRegistry

    return ModelRegistry(open_db(config.db_path), config.models_dir)


def _operator() -> str:
    return f"cli:{getpass.getuser()}"


def _audit(db, action: str, detail: str = "") -> None:
    """Every admin action from the terminal is recorded with who and when, like those on Telegram."""
    from storage.conversations import Conversations

    Conversations(db).audit(_operator(), action, detail)


@command
def cmd_train(args: argparse.Namespace, config: Config) -> int:
    """Train on the starter domain, measure on gold, and promote if at least as good as live."""
    from training.gate import verdict
    from training.serving import LiveModel

    registry = _registry(config)
    if args.if_missing and LiveModel(registry).load() is not None:
        print(f"live model {registry.live()['version']} is present; not training")
        return 0
    from training.evaluate import format_report
    from training.release import train_release

    domain = load_domain(config.data_dir)
    release = train_release(domain.training_examples(), domain.gold, config.model, registry, config.policy,
                            verbose=0 if args.quiet else 2)
    print(format_report(release.metrics))
    live = registry.live()
    promote, reasons = verdict(release.metrics, live["metrics"] if live else None, config.promotion)
    if promote:
        registry.promote(release.version)
        print(f"model {release.version} is live ({'; '.join(reasons)})")
    else:
        registry.set_status(release.version, "rejected")
        print(f"model {release.version} not promoted: {'; '.join(reasons)}")
    _audit(registry.db, "train", f"{release.version} {'promoted' if promote else 'rejected'}")
    return 0


@command
def cmd_evaluate(args: argparse.Namespace, config: Config) -> int:
    """Measure the live model (or --version) on the gold set with the served runtime."""
    from training.classifier import Classifier
    from training.evaluate import as_answered, evaluate, format_report

    if args.cross_validate:
        return _cross_validate(args, config)
    registry = _registry(config)
    model = registry.get(args.version) if args.version else registry.live()
    if model is None:
        print("no live model: run `supportbot train` first", file=sys.stderr)
        return 1
    classifier = Classifier(Path(model["path"]))
    n_train = {lang: m["n_train"] for lang, m in model["metrics"].get("per_language", {}).items()}
    domain = load_domain(config.data_dir)
    metrics = evaluate(as_answered(classifier, config.policy), domain.gold, n_train)
    metrics["version"] = model["version"]
    if args.json:
        print(json.dumps({k: v for k, v in metrics.items() if k != "errors"}, ensure_ascii=False))
    else:
        print(f"model {model['version']}")
        print(format_report(metrics))
    return 0


def _cross_validate(args: argparse.Namespace, config: Config) -> int:
    from training.crossval import cross_validate

    result = cross_validate(load_domain(config.data_dir).training_examples(), args.cross_validate, config.model)
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("accuracy", "macro_f1"):
            r = result[name]
            print(f"{name}: {r['mean']:.4f} ± {r['std']:.4f} over {result['k']} folds {r['folds']}")
    return 0


@command
def cmd_retrain(args: argparse.Namespace, config: Config) -> int:
    """Run collect -> clean -> train -> evaluate -> promote now, in this process."""
    from storage.runs import RunInProgress, Runs
    from training.pipeline import execute

    registry = _registry(config)
    runs = Runs(registry.db)
    try:
        run_id = runs.start("cli", _operator())
    except RunInProgress as exc:
        print(f"training run {exc.run_id} is in progress; not starting another", file=sys.stderr)
        return 1
    _audit(registry.db, "retrain", f"run {run_id}")
    try:
        run = execute(config, registry.db, run_id)
    finally:
        runs.release(run_id)
    run = runs.get(run_id)
    if args.json:
        metrics = run["metrics"] or {}
        print(json.dumps({"run_id": run_id, "status": run["status"], "candidate": metrics.get("candidate"),
                          "live": metrics.get("live"), "counts": run["counts"], "report": run["report_path"],
                          "error": run["error"]}, ensure_ascii=False))
    else:
        from bot.summaries import run_result

        print(run_result(run))
        if run["report_path"]:
            print(f"report: {run['report_path']}/report.md")
    return 0 if run["status"] != "failed" else 1


@command
def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """Live model, collected data, review queue and recent runs."""
    from bot.retrain import nightly_trigger
    from bot.summaries import status_text
    from storage.conversations import Conversations
    from storage.runs import Runs

    registry = _registry(config)
    trigger = nightly_trigger(config.learning.schedule, config.telegram.timezone)
    next_run = trigger.get_next_fire_time(None, datetime.now(UTC))
    print(status_text(registry, Runs(registry.db), Conversations(registry.db), next_run))
    return 0


@command
def cmd_runs(args: argparse.Namespace, config: Config) -> int:
    """History of training runs, newest first."""
    from bot.summaries import run_line
    from storage.runs import Runs

    for run in Runs(_registry(config).db).recent(args.limit):
        print(run_line(run))
    return 0


@command
def cmd_rollback(args: argparse.Namespace, config: Config) -> int:
    """Make the previous live model (or VERSION) live again; a running bot picks it up."""
    from storage.conversations import Conversations
    from storage.registry import RegistryError

    registry = _registry(config)
    try:
        version = registry.rollback(args.version)
    except RegistryError as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return 1
    Conversations(registry.db).audit(_operator(), "rollback", version)
    print(f"{version} is live")
    return 0


@command
def cmd_review(args: argparse.Namespace, config: Config) -> int:
    """Label, in the terminal, the messages customers marked 👎."""
    from storage.conversations import Conversations

    conversations = Conversations(_registry(config).db)
    names = load_domain(config.data_dir).names
    labelled = 0
    while queue := conversations.review_queue(limit=1):
        message = queue[0]
        print(f"\n[{message.id}] {message.text}")
        print("  ".join(f"{i}) {n}" for i, n in enumerate(names, 1)))
        answer = input("intent number, s to skip, q to quit: ").strip().lower()
        if answer == "q":
            break
        if answer == "s":
            conversations.skip_review(message.id, _operator())
            conversations.audit(_operator(), "review-skip", str(message.id))
        elif answer.isdigit() and 1 <= int(answer) <= len(names):
            conversations.add_label(message.id, names[int(answer) - 1], "admin", _operator())
            conversations.audit(_operator(), "review-label", f"{message.id}:{names[int(answer) - 1]}")
            labelled += 1
        else:
            print("not a choice; try again")
    print(f"labelled {labelled} messages")
    return 0


@command
def cmd_export(args: argparse.Namespace, config: Config) -> int:
    """Write every labelled example as text,label CSV (stdout or --output)."""
    from storage.labels_csv import export_labels

    db = _registry(config).db
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as fh:
            n = export_labels(db, fh)
    else:
        n = export_labels(db, sys.stdout)
    _audit(db, "export", f"{n} rows to {args.output or 'stdout'}")
    print(f"exported {n} labelled examples", file=sys.stderr)
    return 0


@command
def cmd_import(args: argparse.Namespace, config: Config) -> int:
    """Add a text,label CSV as admin labels: every row, or none if any row is bad."""
    from storage.conversations import Conversations
    from storage.labels_csv import import_labels
    from training.redact import redact

    db = _registry(config).db
    known = set(load_domain(config.data_dir).intents)
    n, problems = import_labels(db, Path(args.file), known, redact, f"import:{Path(args.file).name}")
    if problems:
        for problem in problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 1
    Conversations(db).audit(_operator(), "import", f"{n} rows from {args.file}")
    print(f"imported {n} labelled examples")
    return 0


@command
def cmd_benchmark(args: argparse.Namespace, config: Config) -> int:
    """Train on a text,label CSV and measure on another: accuracy, macro-F1, speed, size, memory."""
    from training.benchmark import BenchmarkError, format_table, run_benchmark

    try:
        results = run_benchmark(
            Path(args.train), Path(args.test), config.model, baselines=args.baselines, oos_label=args.oos_label,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    except (BenchmarkError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(results, ensure_ascii=False) if args.json else format_table(results))
    return 0


@command
def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """Copy the live database to PATH with SQLite's online backup; safe while the bot runs."""
    from storage.db import backup

    db = _registry(config).db
    try:
        dest = backup(db, Path(args.path))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _audit(db, "backup", str(dest))
    print(f"backed up {config.db_path} to {dest} ({dest.stat().st_size} bytes)")
    return 0


@command
def cmd_purge(args: argparse.Namespace, config: Config) -> int:
    """Delete messages older than [privacy] retention_days (or --days), as the nightly job does."""
    from storage.conversations import Conversations

    days = config.privacy.retention_days if args.days is None else args.days
    if days < 0:
        print("error: --days must be 0 (keep forever) or more", file=sys.stderr)
        return 2
    counts = Conversations(_registry(config).db).purge(days, config.privacy.keep_anonymous_labels, actor=_operator())
    if days == 0:
        print("retention is 0 days (keep forever): nothing purged")
    else:
        print(f"purged what is older than {days} days: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


@command
def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """Talk to the bot in this terminal."""
    from bot.console import ConsoleChat
    from bot.runtime import open_runtime

    runtime = open_runtime(config)
    try:
        ConsoleChat(runtime.engine).run()
    finally:
        runtime.close()
    return 0


@command
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """On Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the local chat."""
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        from bot.telegram_channel import run_telegram

        return run_telegram(config)
    print("TELEGRAM_BOT_TOKEN is not set: starting the local chat instead.", file=sys.stderr)
    return cmd_chat(args, config)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=os.environ.get("SUPPORTBOT_CONFIG", "config.toml"), help="config file")
    root = argparse.ArgumentParser(prog="supportbot", description=__doc__, parents=[common])
    sub = root.add_subparsers(dest="command", required=True)
    for name, func in COMMANDS.items():
        sub.add_parser(name, parents=[common], help=func.__doc__, description=func.__doc__)
    sub.choices["train"].add_argument("--if-missing", action="store_true", help="only if no model is live")
    sub.choices["train"].add_argument("--quiet", action="store_true", help="no per-epoch progress")
    sub.choices["evaluate"].add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.choices["evaluate"].add_argument("--version", help="a model version instead of the live one")
    sub.choices["evaluate"].add_argument("--cross-validate", type=int, metavar="K", help="k-fold CV on the domain")
    sub.choices["retrain"].add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.choices["runs"].add_argument("--limit", type=int, default=20)
    sub.choices["rollback"].add_argument("version", nargs="?", help="default: the previously live model")
    sub.choices["export"].add_argument("--output", "-o", help="file to write (default: stdout)")
    sub.choices["import"].add_argument("file", help="CSV with a text,label header")
    sub.choices["backup"].add_argument("path", help="the copy to write (via PATH.tmp, then renamed)")
    sub.choices["purge"].add_argument("--days", type=int, help="default: [privacy] retention_days; 0 keeps all")
    bench = sub.choices["benchmark"]
    bench.add_argument("--train", required=True, metavar="TRAIN.csv", help="text,label (or text,category) CSV")
    bench.add_argument("--test", required=True, metavar="TEST.csv", help="same columns; read once, at the end")
    bench.add_argument("--oos-label", metavar="LABEL", help="the out-of-scope label: adds in-scope accuracy and OOS recall")
    bench.add_argument("--baselines", action="store_true", help="also TF-IDF + LinearSVC and fastText")
    bench.add_argument("--json", action="store_true", help="one JSON object keyed by system on stdout")
    return root


def _setup_logging() -> None:
    """INFO to stderr, with secrets masked on the handler and httpx's per-request URL lines off."""
    from bot.masking import MaskSecrets, secret_parts

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request, the token in its URL
    mask = MaskSecrets(secret_parts(os.environ.get("TELEGRAM_BOT_TOKEN"), os.environ.get("TELEGRAM_WEBHOOK_SECRET")))
    for handler in logging.getLogger().handlers:
        handler.addFilter(mask)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging()
    try:
        config = load_config(args.config)
        return COMMANDS[args.command](args, config)
    except (ConfigError, DomainError, DatabaseRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
