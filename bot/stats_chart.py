"""The /stats chart: answers per day, and what became of them, as a PNG.

Drawn on a `matplotlib.figure.Figure` with the Agg canvas, never through pyplot (as training/report.py),
and matplotlib is imported only here, when a chart is asked for: the bot process loads it (tens of MB)
only once an admin wants one.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from bot.usecases.outcomes import Stats
from storage.outcomes import Outcome

# The rates drawn, in the order of their lines.
LINES = {Outcome.RESOLVED: "contained", Outcome.FALLBACK: "fallback", Outcome.HANDOFF: "handoff",
         Outcome.THUMBS_DOWN: "thumbs down", Outcome.REPHRASED: "rephrased"}  # no emoji: the fonts lack them
DPI = 120


def chart_png(s: Stats) -> bytes:
    """Two panels over the days: answers per day (open ones apart), and the share of each outcome."""
    from matplotlib.dates import DateFormatter, DayLocator  # lazily: see the module's docstring
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5), dpi=DPI)
    volume, rates = fig.subplots(2, 1, sharex=True, height_ratios=(1, 2))
    days = [date.fromisoformat(t.key) for t in s.days]
    _volume(volume, days, s)
    _rates(rates, days, s)
    half_a_day = timedelta(hours=14)  # the whole period, its first and last day's bars whole
    rates.set_xlim(datetime.combine(s.since, time()) - half_a_day, datetime.combine(s.until, time()) + half_a_day)
    rates.xaxis.set_major_locator(DayLocator(interval=max(1, ((s.until - s.since).days + 1) // 10)))  # whole days
    rates.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    fig.suptitle(f"Outcomes of the bot's answers, {s.since.isoformat()} to {s.until.isoformat()}")
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _volume(ax, days: list[date], s: Stats) -> None:
    ax.bar(days, [t.decided for t in s.days], color="C0", label="decided")
    ax.bar(days, [t.open for t in s.days], bottom=[t.decided for t in s.days], color="C7", label="still open")
    ax.set_ylabel("answers")
    ax.set_ylim(0, max((t.answered for t in s.days), default=1) * 1.1)
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)


def _rates(ax, days: list[date], s: Stats) -> None:
    for i, (outcome, name) in enumerate(LINES.items()):
        shares = [100 * r if (r := t.rate(outcome)) is not None else float("nan") for t in s.days]
        ax.plot(days, shares, "o-", color=f"C{i + 1}", label=name, markersize=3)
    ax.set_ylabel("share of decided answers (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(LINES), frameon=False)
    ax.grid(True, alpha=0.3)
    if not s.days:
        ax.text(0.5, 0.5, "no answers yet", ha="center", va="center", transform=ax.transAxes)
