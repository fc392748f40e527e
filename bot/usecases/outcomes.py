"""Is the bot helping? What became of its answers (bot/outcomes.py) per day and model version, what
customers ask about, and what it could not answer: the owner's to-do list. `supportbot stats` and /stats.

Every figure is a count of `outcomes` rows (storage/stats.py); the rates are shares of the decided ones
(a row whose window is still running is counted apart, as open).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.outcomes import Outcome
from storage.stats import Counted, Volume, outcome_counts, unanswered, volumes

DEFAULT_DAYS = 30
TOP_UNANSWERED = 10


@dataclass(frozen=True)
class Tally:
    """The answers of one day, one model version, or the whole period, by what became of them."""

    key: str  # the day, the model version, or "all"
    outcomes: dict[Outcome, int] = field(default_factory=dict)  # decided rows per outcome
    open: int = 0  # rows whose window is still running
    thumbs_up: int = 0
    thumbs_down: int = 0

    @property
    def decided(self) -> int:
        return sum(self.outcomes.values())

    @property
    def answered(self) -> int:
        return self.decided + self.open

    def rate(self, outcome: Outcome) -> float | None:
        """The share of decided answers with this outcome; None before any was decided."""
        return self.outcomes.get(outcome, 0) / self.decided if self.decided else None

    def rated(self, positive: bool) -> float | None:
        """The share of decided answers the customer rated 👍 (or 👎)."""
        return (self.thumbs_up if positive else self.thumbs_down) / self.decided if self.decided else None


@dataclass(frozen=True)
class Stats:
    since: date  # the first day counted, in [telegram] timezone
    until: date  # today there
    total: Tally
    days: list[Tally]  # oldest first; days without answers are left out
    versions: list[Tally]  # by model version, most answers first
    intents: list[tuple[str, dict[str, int]]]  # (intent, answers per language), most asked first
    languages: dict[str, int]
    unanswered: list[tuple[str, int]]  # (the message, normalised and redacted, how often), most frequent first


def resolve_quiet(runtime: Runtime) -> int:
    """Answers whose window passed with nothing after them are resolved (the bot's clock); how many."""
    return runtime.engine.outcomes.expire()


@audited(AuditAction.STATS, detail=lambda s, *_: f"{(s.until - s.since).days + 1} days, {s.total.answered} answers")
def stats(runtime: Runtime, actor: Actor, days: int = DEFAULT_DAYS) -> Stats:
    """The last `days` days, today included (ValueError below 1), after resolving what went quiet."""
    if days < 1:
        raise ValueError(f"days must be 1 or more, not {days}")
    runtime.engine.outcomes.expire()
    until = datetime.now(ZoneInfo(runtime.config.telegram.timezone)).date()
    since = until - timedelta(days=days - 1)
    counted = outcome_counts(runtime.db, since.isoformat())
    by_day, by_version = defaultdict(list), defaultdict(list)
    for c in counted:
        by_day[c.day].append(c)
        by_version[c.model_version].append(c)
    intents, languages = _asked(volumes(runtime.db, since.isoformat()))
    return Stats(since, until, _tally("all", counted), [_tally(day, rows) for day, rows in sorted(by_day.items())],
                 sorted((_tally(v, rows) for v, rows in by_version.items()), key=lambda t: (-t.answered, t.key)),
                 intents, languages, unanswered(runtime.db, since.isoformat(), TOP_UNANSWERED))


def _tally(key: str, counted: Iterable[Counted]) -> Tally:
    outcomes, open_, ratings = Counter(), 0, Counter()
    for c in counted:
        if c.outcome is None:
            open_ += c.n
        else:
            outcomes[c.outcome] += c.n
        if c.rating is not None:
            ratings[c.rating] += c.n
    return Tally(key, dict(outcomes), open_, ratings[1], ratings[0])


def _asked(counted: Iterable[Volume]) -> tuple[list[tuple[str, dict[str, int]]], dict[str, int]]:
    """Answers per intent (split by language), most asked first, and per language."""
    per_intent, languages = defaultdict(Counter), Counter()
    for v in counted:
        per_intent[v.intent][v.language] += v.n
        languages[v.language] += v.n
    ranked = sorted(per_intent.items(), key=lambda item: (-item[1].total(), item[0]))
    return [(intent, dict(split)) for intent, split in ranked], dict(languages)
