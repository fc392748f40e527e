"""The benchmark's result as a table for the terminal (`supportbot benchmark` without --json)."""

from __future__ import annotations


def format_table(results: dict[str, dict]) -> str:
    """One row per system, then each system's full name."""
    oos = any("oos_recall" in r for r in results.values())
    head = f"{'system':<17}{'accuracy':>9}{'macro-F1':>9}{'train s':>9}{'p50 ms':>8}{'p99 ms':>8}{'model MB':>9}{'RSS MB':>8}"
    head += f"{'in-scope':>9}{'OOS rec':>8}" if oos else ""
    lines = [head]
    for system, r in results.items():
        line = (f"{system:<17}{r['accuracy']:>9.4f}{r['macro_f1']:>9.4f}{r['train_s']:>9.1f}"
                f"{r['latency_ms']['p50']:>8.3f}{r['latency_ms']['p99']:>8.3f}{r['model_mb']:>9.2f}{r['peak_rss_mb']:>8.0f}")
        if oos:
            line += "".join(f"{'-' if r.get(k) is None else format(r[k], '.4f'):>{w}}"
                            for k, w in (("inscope_accuracy", 9), ("oos_recall", 8)))
        lines.append(line)
    lines += [f"  {system}: {r['name']}" for system, r in results.items()]
    return "\n".join(lines)
