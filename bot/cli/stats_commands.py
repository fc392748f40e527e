"""`supportbot stats`: is the bot helping? What became of its answers, per day and model version."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.app import Failed, command, opened, operator
from bot.stats_chart import chart_png
from bot.stats_report import stats_json, stats_text
from bot.usecases import outcomes


@command()
@click.option("--days", type=int, default=outcomes.DEFAULT_DAYS, show_default=True,
              help="the last N days, today included ([telegram] timezone)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.png", help="also draw the chart into FILE.png")
@click.pass_context
def stats(ctx: click.Context, days: int, as_json: bool, plot: str | None) -> int:
    """Outcomes of the bot's answers (containment, fallback, handoff, 👍/👎) per day and model version, what
    customers ask about, and the messages it could not answer (bot/outcomes.py defines each outcome)."""
    if days < 1:
        raise Failed(f"--days must be 1 or more (the last N days, today included), not {days}")
    with opened(ctx) as runtime:
        figures = outcomes.stats(runtime, operator(), days)
    if plot:
        try:
            Path(plot).write_bytes(chart_png(figures))
        except OSError as exc:
            raise Failed(f"cannot write the chart to {plot}: {exc.strerror or exc}") from None
    click.echo(json.dumps(stats_json(figures), ensure_ascii=False) if as_json else stats_text(figures))
    return 0
