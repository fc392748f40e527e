"""Commands about the shop's data: review, export, import, backup, purge, redact, benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.app import Failed, command, config_of, opened, operator
from bot.usecases import data, review
from training.storable import storable


def printable(text: str) -> str:
    """Text safe to show in a terminal: control characters (escape sequences, BEL) written as escapes."""
    return "".join(ch if ch == "\n" or ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


@command("review")
@click.pass_context
def review_queue(ctx: click.Context) -> int:
    """Label, in the terminal, the messages customers marked 👎."""
    actor, labelled = operator(), 0
    with opened(ctx) as runtime:
        while item := review.next_for_review(runtime, actor):
            guess = f" (the model said {item.guess})" if item.guess else ""
            click.echo(f"\n[{item.message.id}]{guess} {printable(item.message.text)}")
            click.echo("  ".join(f"{i}) {n}" for i, n in enumerate(item.choices, 1)))
            answer = click.prompt("intent number, s to skip, q to quit", default="", show_default=False).strip().lower()
            if answer == "q":
                break
            if answer == "s":
                review.skip(runtime, actor, item.message.id)
            elif answer.isdigit() and 1 <= int(answer) <= len(item.choices):
                review.label(runtime, actor, item.message.id, item.choices[int(answer) - 1])
                labelled += 1
            else:
                click.echo("not a choice; try again")
    click.echo(f"labelled {labelled} messages")
    return 0


@command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="file to write (default: stdout)")
@click.pass_context
def export(ctx: click.Context, output: str | None) -> int:
    """Write every labelled example as text,label CSV."""
    with opened(ctx) as runtime:
        if output:
            with open(output, "w", newline="", encoding="utf-8") as fh:
                n = data.export(runtime, operator(), fh)
        else:
            n = data.export(runtime, operator(), sys.stdout)
    click.echo(f"exported {n} labelled examples", err=True)
    return 0


@command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def import_(ctx: click.Context, file: str) -> int:
    """Add a text,label CSV as labels: every row, or none if any row is bad."""
    with opened(ctx) as runtime:
        try:
            n = data.import_csv(runtime, operator(), Path(file))
        except data.ImportRefused as exc:
            for problem in exc.problems:
                click.echo(f"{file}: {problem}", err=True)
            click.echo("nothing imported", err=True)
            return 1
    click.echo(f"imported {n} labelled examples")
    return 0


@command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="replace PATH if it exists")
@click.pass_context
def backup(ctx: click.Context, path: str, force: bool) -> int:
    """Copy the live database to PATH with SQLite's online backup; safe while the bot runs."""
    with opened(ctx) as runtime:
        try:
            dest = data.backup(runtime, operator(), Path(path), force)
        except (ValueError, OSError) as exc:
            raise Failed(str(exc)) from None
        click.echo(f"backed up {runtime.config.db_path} to {dest} ({dest.stat().st_size} bytes)")
    return 0


@command()
@click.option("--days", type=int, help="default: [privacy] retention_days; 0 keeps everything")
@click.pass_context
def purge(ctx: click.Context, days: int | None) -> int:
    """Delete messages older than [privacy] retention_days (or --days), as the bot does nightly."""
    if days is not None and days < 0:
        raise Failed("--days must be 0 (keep forever) or more")
    with opened(ctx) as runtime:
        result = data.purge(runtime, operator(), days)
    if result["older_than_days"] == 0:
        click.echo("retention is 0 days (keep forever): nothing purged")
    else:
        counts = {k: v for k, v in result.items() if k not in ("older_than_days", "keep_labels")}
        click.echo(f"purged what is older than {result['older_than_days']} days: "
                   + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


@command()
@click.pass_context
def redact(ctx: click.Context) -> int:
    """Each line on stdin as it would be stored: capped, personal data replaced by placeholders."""
    limit = config_of(ctx).limits.max_text_chars
    for line in sys.stdin:
        click.echo(storable(line.rstrip("\n"), limit))
    return 0


@command()
@click.option("--train", "train_csv", required=True, type=click.Path(exists=True, dir_okay=False), metavar="TRAIN.csv",
              help="text,label (or text,category) CSV")
@click.option("--test", "test_csv", required=True, type=click.Path(exists=True, dir_okay=False), metavar="TEST.csv",
              help="same columns; read once, at the end")
@click.option("--oos-label", metavar="LABEL", help="the out-of-scope label: adds in-scope accuracy and OOS recall")
@click.option("--hold-out", type=click.IntRange(0), default=0, metavar="K",
              help="make K intents (drawn once by a fixed seed, named in the results) out of scope, as --oos-label")
@click.option("--baselines", is_flag=True, help="also TF-IDF + LinearSVC and fastText")
@click.option("--json", "as_json", is_flag=True, help="one JSON object keyed by system on stdout")
@click.pass_context
def benchmark(ctx: click.Context, train_csv: str, test_csv: str, oos_label: str | None, hold_out: int, baselines: bool,
              as_json: bool) -> int:
    """Train on a text,label CSV and measure on another: accuracy, macro-F1, speed, size, memory. With
    --hold-out K, data without an out-of-scope class gets one: K intents nobody learns from."""
    import json

    from training.benchmark.data import BenchmarkError
    from training.benchmark.run import run_benchmark
    from training.benchmark.table import format_table

    try:
        results = run_benchmark(Path(train_csv), Path(test_csv), config_of(ctx).model, baselines=baselines,
                                oos_label=oos_label, hold_out=hold_out, progress=lambda msg: click.echo(msg, err=True))
    except BenchmarkError as exc:
        raise Failed(str(exc)) from None
    click.echo(json.dumps(results, ensure_ascii=False) if as_json else format_table(results))
    return 0
