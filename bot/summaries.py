"""Plain-text summaries of models and training runs, shared by the CLI and admin chats."""

from __future__ import annotations

from datetime import datetime

from storage.conversations import Conversations
from storage.registry import ModelRegistry
from storage.runs import Runs


def _f1(metrics: dict | None) -> str:
    return f"{metrics['macro_f1']:.4f}" if metrics and metrics.get("macro_f1") is not None else "—"


def run_line(run: dict) -> str:
    m = run["metrics"] or {}
    line = f"run {run['id']} [{run['trigger']}] {run['status']}"
    if run["status"] == "running":
        line += f" — {run['stage']}: {run['progress'] or ''}"
    elif m:
        line += f" — macro-F1 candidate {_f1(m.get('candidate'))} vs live {_f1(m.get('live'))}"
    if run["error"]:
        line += f" — {run['error']}"
    return f"{line} ({run['started_at'][:16]})"


def run_result(run: dict) -> str:
    """The message an admin gets when a run ends."""
    if run["status"] == "failed":
        return f"Training run {run['id']} failed: {run['error']}"
    if run["status"] == "skipped":
        return f"Training run {run['id']} skipped: no new labels since the last run."
    m, counts = run["metrics"], run["counts"]
    new = counts.get("collect", {}).get("new", 0)
    learned = counts.get("train", {}).get("from_conversations", 0)
    verdict = f"promoted: {run['candidate_version']} is live" if run["status"] == "promoted" else "rejected"
    return (
        f"Training run {run['id']} {verdict}.\n"
        f"macro-F1: live {_f1(m.get('live'))} → candidate {_f1(m.get('candidate'))}\n"
        f"Learned from {learned} conversation examples ({new} new labels).\n"
        f"{run['progress'] or ''}"
    ).strip()


def status_text(registry: ModelRegistry, runs: Runs, conversations: Conversations, next_run: datetime | None) -> str:
    live = registry.live()
    lines = []
    if live:
        m = live["metrics"]
        lines.append(
            f"Live model {live['version']}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
            f"out-of-scope recall {m['oos_recall']:.4f}"
        )
    else:
        lines.append("No live model.")
    pending = conversations.labels_since(runs.last_trained_at())
    lines.append(f"Collected but not yet trained on: {pending} labelled examples")
    lines.append(f"Review queue: {len(conversations.review_queue(limit=1000))} messages")
    lines.append(f"Next scheduled run: {next_run.isoformat(timespec='minutes') if next_run else 'not scheduled here'}")
    recent = runs.recent(5)
    lines.append("Recent runs:" if recent else "No training runs yet.")
    lines += [f"  {run_line(r)}" for r in recent]
    return "\n".join(lines)
