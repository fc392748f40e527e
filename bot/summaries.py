"""Plain-text summaries of models and training runs, shared by the CLI and admin chats."""

from __future__ import annotations

from collections.abc import Mapping

from bot.actions import BreakerState, Circuit
from bot.usecases.models import Status
from storage.action_calls import EndpointFigures
from storage.runs import RunStatus
from training.serving import Canary


def _f1(metrics: dict | None) -> str:
    return f"{metrics['macro_f1']:.4f}" if metrics and metrics.get("macro_f1") is not None else "—"


def run_line(run: dict) -> str:
    m = run["metrics"] or {}
    line = f"run {run['id']} [{run['trigger']}] {run['status']}"
    if run["status"] == RunStatus.RUNNING:
        line += f" — {run['stage']}: {run['progress'] or ''}"
    elif m:
        line += f" — macro-F1 candidate {_f1(m.get('candidate'))} vs live {_f1(m.get('live'))}"
    if run["error"]:
        line += f" — {run['error']}"
    return f"{line} ({run['started_at'][:16]})"


def run_result(run: dict) -> str:
    """The message an admin gets when a run ends."""
    if run["status"] == RunStatus.FAILED:
        return f"Training run {run['id']} failed: {run['error']}"
    if run["status"] == RunStatus.SKIPPED:
        return f"Training run {run['id']} skipped: no new labels since the last run."
    m, counts = run["metrics"], run["counts"]
    new = counts.get("collect", {}).get("new", 0)
    learned = counts.get("train", {}).get("from_conversations", 0)
    verdict = {RunStatus.PROMOTED: f"promoted: {run['candidate_version']} is live",
               RunStatus.TESTING: f"passed the gate: {run['candidate_version']} is tested on some customers first (A/B)",
               }.get(run["status"], "rejected")
    return (
        f"Training run {run['id']} {verdict}.\n"
        f"macro-F1: live {_f1(m.get('live'))} → candidate {_f1(m.get('candidate'))}\n"
        f"Learned from {learned} conversation examples ({new} new labels).\n"
        f"{run['progress'] or ''}"
    ).strip()


def _schedule_line(status: Status) -> str:
    when = status.next_run.isoformat(timespec="minutes") if status.next_run else None
    if status.scheduled_here:
        return f"Next scheduled run: {when or 'none scheduled'}"
    return (f"Next nightly run: {when}, if the bot is running on Telegram then (`supportbot run` with "
            "TELEGRAM_BOT_TOKEN set); the local chat schedules nothing")


def status_text(status: Status, breakers: Mapping[str, BreakerState] | None = None) -> str:
    """What /status and `supportbot status` show; `breakers` only where the process calling the shop's
    system is the one asking (the running bot, not the terminal)."""
    lines = []
    if status.live:
        m = status.live["metrics"]
        lines.append(
            f"Live model {status.live['version']}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
            f"out-of-scope recall {m['oos_recall']:.4f}"
        )
    else:
        lines.append("No live model yet: `supportbot train` trains the starter model.")
    if status.problem:
        lines.append(f"NOT ANSWERING AS LIVE: {status.problem}")
    if status.canary:
        lines.append(_canary_line(status.canary))
    lines.append(f"Collected but not yet trained on: {status.untrained_labels} labelled examples")
    lines.append(f"Review queue: {status.review_queue} messages")
    lines.append(_handoff_line(status.handoffs))
    lines += _action_lines(status.actions, breakers or {})
    lines.append(_schedule_line(status))
    lines.append("Recent runs:" if status.recent_runs else "No training runs yet.")
    lines += [f"  {run_line(r)}" for r in status.recent_runs]
    return "\n".join(lines)


def _canary_line(canary: Canary) -> str:
    test = canary.experiment
    if canary.problem:
        return f"A/B TEST {test.id}: {canary.problem}"
    return (f"A/B test {test.id}: candidate {test.candidate_version} answers {test.share:.0%} of customers since "
            f"{test.started_at[:16]} (/ab or `supportbot ab` for its figures)")


def _action_lines(figures: list[EndpointFigures], breakers: Mapping[str, BreakerState]) -> list[str]:
    """Per endpoint of the shop's system: 7 days of calls by outcome, the median wait, and its circuit."""
    lines = []
    for f in figures:
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(f.outcomes.items()))
        lines.append(f"Shop system {f.endpoint} (7 days): {outcomes}; median {f.median_ms:.0f} ms")
    for endpoint, state in sorted(breakers.items()):
        if state.circuit != Circuit.CLOSED:
            until = f" until {state.open_until:%H:%M:%S} UTC" if state.open_until else ""
            lines.append(f"SHOP SYSTEM {endpoint}: circuit {state.circuit} after {state.failures} failures in a row{until}: "
                         "customers get the general answer and the offer of a person")
    return lines


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.0f} min"


def _handoff_line(figures: dict) -> str:
    contained = figures["containment_7d"]
    share = "—" if contained is None else f"{contained:.0%}"
    return (f"Handoffs to a person: {figures['handoffs_today']} today, {figures['handoffs_7d']} in 7 days; "
            f"median first staff reply {_minutes(figures['median_first_reply_seconds'])}; "
            f"customers helped without a person (7 days): {share}")


def handoff_line(row: dict) -> str:
    """One handoff in `supportbot handoffs`."""
    holder = f"held by {row['claimed_by']}" if row["claimed_by"] else "unclaimed"
    return (f"#{row['id']} customer {row['user_id']} {row['status']} ({row['reason']}) {holder}, "
            f"waited {_minutes(row['waited_seconds'])}, opened {row['opened_at'][:16]}"
            + (f", about {row['proposed_intent']}" if row.get("proposed_intent") else ""))
