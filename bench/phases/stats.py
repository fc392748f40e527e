"""Phase: how long `supportbot stats` and /stats take on a database of a million messages.

    python -m bench.phases.stats WORK_DIR OUT.json

A database is built with the real schema (storage.db.open_db's migrations, every index) and filled in
one transaction of plain INSERTs: CUSTOMERS customers write ANSWERED messages spread over DAYS days,
each answered by the bot (2 × ANSWERED = a million messages), each with its prediction and its outcome
row. Outcomes are drawn at the rates in SHARES; answers of the last window are still open (the newest of
each customer's, as the engine keeps one open row per customer). Fallbacks' texts come from the starter
domain's out-of-scope examples (so the to-do list groups repeats), the others' from their intent's
examples; two model versions, the second live from the middle of the period. The stats window
(DEFAULT_DAYS) covers all of it: every row is counted, the worst case for the default /stats.

Timed on the real runtime (bot.runtime.open_runtime) over that file:
- `stats_ms`: the use case /stats and `supportbot stats` call (bot/usecases/outcomes.py: resolving what
  went quiet, the three queries, the tallies), RUNS times; its median is the figure held to a second;
- `text_ms`: the text made of it; `chart_ms`: the PNG (`chart_first_ms`, the first, imports matplotlib);
- `bookkeeping_ms`: what one answer adds for its outcome there (OutcomeTracker.replied: the customer's open
  row found and decided, a row added), over NEW_ANSWERS answers;
- `expire_ms`: the clock's job resolving EXPIRING rows whose window passed, found through their index.
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.files import config_text, write_json
from bot.outcomes import fingerprint
from bot.replies import Incoming, Reply
from bot.runtime import Runtime, open_runtime
from bot.stats_chart import chart_png
from bot.stats_report import stats_text
from bot.usecases import outcomes
from bot.usecases.access import Actor
from storage.db import open_db, stamp
from storage.outcomes import Outcome
from training.benchmark.serving import percentiles
from training.config import load_config
from training.domain import OUT_OF_SCOPE, Domain, load_domain
from training.policy import Action

ANSWERED = 500_000  # customer messages, each answered: a million messages
CUSTOMERS = 50_000
DAYS = outcomes.DEFAULT_DAYS
SHARES = {Outcome.RESOLVED: 0.66, Outcome.REPHRASED: 0.10, Outcome.THUMBS_DOWN: 0.03, Outcome.HANDOFF: 0.06,
          Outcome.FALLBACK: 0.15}
THUMBS_UP = 0.12  # of the resolved rows
ZH = 0.3  # the share of messages in Chinese
WINDOW = timedelta(minutes=10)  # config.toml's [outcomes] window_minutes
RUNS = 7
CHART_RUNS = 5
NEW_ANSWERS = 2_000
EXPIRING = 5_000
ADMIN = Actor("bench", admin=True)


def _rows(domain: Domain, now: datetime, rng: random.Random) -> tuple[list, list, list]:
    """(messages, predictions, outcomes) rows, newest first, one open outcome per customer at most."""
    intents = [name for name in domain.names if name != OUT_OF_SCOPE]
    # From a minute into the first day of the window ([telegram] timezone: UTC), so all of it is counted.
    first_day = datetime.combine(now.date() - timedelta(days=DAYS - 1), datetime.min.time(), UTC) + timedelta(minutes=1)
    step = (now - first_day) / ANSWERED
    messages, predictions, rows, open_for = [], [], [], set()
    for i in range(ANSWERED):
        at, message_id = now - (i + 1) * step, 2 * (ANSWERED - i) - 1  # newest first
        user, lang = rng.randint(1, CUSTOMERS), "zh" if rng.random() < ZH else "en"
        outcome = rng.choices(list(SHARES), list(SHARES.values()))[0]
        if now - at < WINDOW and user not in open_for:
            outcome = None
            open_for.add(user)
        intent = OUT_OF_SCOPE if outcome == Outcome.FALLBACK else rng.choice(intents)
        text = rng.choice(domain.intents[intent].examples[lang])
        version, created, due = "bench-1" if i >= ANSWERED // 2 else "bench-2", stamp(at), stamp(at + WINDOW)
        messages += [(message_id + 1, user, str(user), "telegram", "out", "…", lang, message_id, created),  # reversed later
                     (message_id, user, str(user), "telegram", "in", text, lang, None, created)]
        action = Action.FALLBACK if outcome == Outcome.FALLBACK else Action.ANSWER
        predictions.append((message_id, version, intent, 0.9, "[]", action, created))
        up = outcome == Outcome.RESOLVED and rng.random() < THUMBS_UP
        rating = 0 if outcome == Outcome.THUMBS_DOWN else 1 if up else None
        said = fingerprint(text) if outcome == Outcome.FALLBACK else None
        rows.append((message_id, user, version, None, intent, lang, at.date().isoformat(), outcome, 0, rating, said,
                     created, due, None if outcome is None else due))
    return messages, predictions, rows


def build(path: Path, domain: Domain, rng: random.Random) -> dict:
    """The million-message database, in one transaction of plain INSERTs."""
    started, now = time.perf_counter(), datetime.now(UTC)
    messages, predictions, rows = _rows(domain, now, rng)
    db = open_db(path)
    db.execute("PRAGMA synchronous = OFF")
    conn = db.conn
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO users (id, channel, external_id, language, created_at) VALUES (?, 'telegram', ?, 'en', ?)",
                     ((i, str(i), stamp(now - timedelta(days=DAYS))) for i in range(1, CUSTOMERS + 1)))
    conn.executemany("INSERT INTO messages (id, user_id, chat_id, channel, direction, text, language, reply_to, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", reversed(messages))
    conn.executemany("INSERT INTO predictions (message_id, model_version, intent, confidence, topk, action, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", reversed(predictions))
    conn.executemany("INSERT INTO outcomes (message_id, user_id, model_version, arm, intent, language, day, outcome, asked, "
                     "rating, said, answered_at, due_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     reversed(rows))
    conn.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return {"messages": len(messages), "answered": len(rows), "customers": CUSTOMERS, "days": DAYS,
            "open": sum(1 for r in rows if r[7] is None), "fallbacks": sum(1 for r in rows if r[7] == Outcome.FALLBACK),
            "build_s": round(time.perf_counter() - started, 1), "db_mb": round(path.stat().st_size / 2**20, 1)}


def _ms(fn, runs: int) -> tuple[list[float], object]:
    """Each run's milliseconds, and the last run's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def _summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": [round(t, 1) for t in times]}


def bookkeeping(runtime: Runtime, rng: random.Random) -> dict:
    """What NEW_ANSWERS answers (a customer each, at random) add for their outcomes, and the clock's job."""
    times = []
    for _ in range(NEW_ANSWERS):
        user = str(rng.randint(1, CUSTOMERS))
        stored = runtime.engine.record(Incoming("telegram", user, user, "how much is shipping"))
        reply = Reply("…", stored.id, action=Action.ANSWER, intent="shipping_cost")
        started = time.perf_counter()
        runtime.engine.outcomes.replied(stored, reply, {"model_version": "bench-2", "action": Action.ANSWER})
        times.append((time.perf_counter() - started) * 1000)
    runtime.db.execute("UPDATE outcomes SET due_at = ? WHERE message_id IN (SELECT message_id FROM outcomes "
                       "WHERE outcome IS NULL LIMIT ?)", [stamp(datetime.now(UTC) - WINDOW), EXPIRING])
    expiring, started = runtime.db.execute("SELECT COUNT(*) FROM outcomes WHERE outcome IS NULL AND due_at <= ?",
                                           [stamp(datetime.now(UTC))]).fetchone()[0], time.perf_counter()
    resolved = runtime.engine.outcomes.expire()
    return {"bookkeeping_ms": percentiles(times), "expire_ms": (time.perf_counter() - started) * 1000,
            "expired": resolved, "expiring": expiring}


def main(work: Path, out: Path) -> None:
    logging.basicConfig(level=logging.WARNING)
    config_path = work / "stats.toml"
    config_path.write_text(config_text(work / "stats-var"))
    config = load_config(config_path)
    rng = random.Random(1234)
    built = build(config.db_path, load_domain(config.data_dir), rng)
    print(f"stats: built {built['messages']:,} messages in {built['build_s']} s ({built['db_mb']} MB)", file=sys.stderr)
    runtime = open_runtime(config)
    try:
        stats_times, figures = _ms(lambda: outcomes.stats(runtime, ADMIN, DAYS), RUNS)
        text_times, _ = _ms(lambda: stats_text(figures), RUNS)
        chart_times, png = _ms(lambda: chart_png(figures), CHART_RUNS + 1)
        counted = {"counted": figures.total.answered, "unanswered_listed": len(figures.unanswered),
                   "chart_bytes": len(png)}
        booked = bookkeeping(runtime, rng)
    finally:
        runtime.close()
    print(f"stats: median {statistics.median(stats_times):.0f} ms over {RUNS} runs; chart "
          f"{statistics.median(chart_times[1:]):.0f} ms", file=sys.stderr)
    write_json(out, {**built, **counted, "stats_ms": _summary(stats_times), "text_ms": _summary(text_times),
                     "chart_first_ms": chart_times[0], "chart_ms": _summary(chart_times[1:]), **booked})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
