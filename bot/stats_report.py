"""What `supportbot stats` and /stats say: the outcome figures as plain text, or as one JSON object.

The figures are the use case's (bot/usecases/outcomes.py); this only words them. Rates are shares of the
decided answers; containment is the share resolved (helped without a person, a rephrase, a 👎 or a fallback).
"""

from __future__ import annotations

from bot.usecases.outcomes import Stats, Tally
from storage.outcomes import Outcome

# How each outcome is named in the text, in the order shown.
SHOWN = {Outcome.RESOLVED: "contained", Outcome.REPHRASED: "rephrased", Outcome.THUMBS_DOWN: "👎",
         Outcome.HANDOFF: "handoff", Outcome.FALLBACK: "fallback"}


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def tally_line(t: Tally) -> str:
    """One day's, one version's or the period's answers: how many, and the share of each outcome."""
    shares = " · ".join(f"{name} {_pct(t.rate(outcome))}" for outcome, name in SHOWN.items())
    still = f", {t.open} still open" if t.open else ""
    return (f"{t.answered} answered{still}: {shares} · rated 👍 {_pct(t.rated(True))} "
            f"👎 {_pct(t.rated(False))}")


def stats_text(s: Stats) -> str:
    period = f"{s.since.isoformat()} to {s.until.isoformat()}"
    if not s.total.answered:
        return f"No answers from {period} yet: outcomes are counted from the bot's first answer."
    lines = [f"Outcomes of the bot's answers, {period}:", f"  {tally_line(s.total)}", "By model version:"]
    lines += [f"  {t.key}: {tally_line(t)}" for t in s.versions]
    lines.append("By day:")
    lines += [f"  {t.key}: {tally_line(t)}" for t in s.days]
    lines.append("Asked about (answers per intent): " + " · ".join(
        f"{intent} {sum(split.values())} ({', '.join(f'{lang} {n}' for lang, n in sorted(split.items()))})"
        for intent, split in s.intents))
    lines.append("Languages: " + " · ".join(f"{lang} {n}" for lang, n in sorted(s.languages.items())))
    if s.unanswered:
        lines.append("The bot could not answer (most frequent first, as stored: your to-do list):")
        lines += [f"  {n}× {' '.join(text.split())}" for text, n in s.unanswered]  # one line each
    return "\n".join(lines)


def _tally_json(t: Tally) -> dict:
    return {"key": t.key, "answered": t.answered, "decided": t.decided, "open": t.open,
            "outcomes": {o.value: t.outcomes.get(o, 0) for o in Outcome},
            "rates": {o.value: t.rate(o) for o in Outcome}, "containment": t.rate(Outcome.RESOLVED),
            "thumbs_up": t.thumbs_up, "thumbs_down": t.thumbs_down,
            "thumbs_up_rate": t.rated(True), "thumbs_down_rate": t.rated(False)}


def stats_json(s: Stats) -> dict:
    return {
        "since": s.since.isoformat(), "until": s.until.isoformat(), "total": _tally_json(s.total),
        "days": [_tally_json(t) for t in s.days], "versions": [_tally_json(t) for t in s.versions],
        "intents": [{"intent": intent, "answered": sum(split.values()), "languages": split} for intent, split in s.intents],
        "languages": s.languages,
        "unanswered": [{"text": text, "count": n} for text, n in s.unanswered],
    }
