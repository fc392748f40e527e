"""The written record of one retraining run: why a candidate was or was not promoted.

`write_report` fills `var/reports/<run>/` with `report.md`, two PNGs and `metrics.json`.
Every file is written under a temporary name and renamed into place, and `metrics.json`
comes last: a directory without it is an unfinished report, whatever else it holds.

Figures are drawn on `matplotlib.figure.Figure` objects directly (Agg canvas), never through
pyplot, so the bot process gains no global figure registry, no backend switch and no leak.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 150
MAX_ERRORS = 20
TOP_CONFUSED = 5
CURVE_PANELS = (("loss", "Loss"), ("accuracy", "Accuracy"))
STAGE_TITLES = {
    "collect": "collect (rows per source)",
    "clean": "clean (rows removed per rule)",
    "train": "train (examples used)",
}


# --- files ----------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write beside the target and rename, so readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _save_figure(fig: Figure, path: Path) -> Path:
    """Render to memory first: a crash while drawing must not leave a truncated PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    fig.clear()  # nothing holds the figure after this; clearing frees its artists now
    return _write_atomic(Path(path), buffer.getvalue())


def _json_default(value: object) -> object:
    """numpy scalars and arrays can slip into metrics from sklearn; store them as plain JSON."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- figures --------------------------------------------------------------------------


def _row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Share of each gold row, so rare intents are as visible as common ones."""
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)


def plot_confusion(confusion: dict, path: Path) -> Path:
    """Confusion-matrix PNG (rows gold, columns predicted), readable up to ~30 intents."""
    labels = list(confusion["labels"])
    matrix = np.asarray(confusion["matrix"], dtype=int).reshape(len(labels), len(labels))
    n = len(labels)
    side = max(5.0, 2.5 + 0.32 * n)
    font = 8 if n <= 15 else 6
    fig = Figure(figsize=(side + 1.2, side), layout="tight")
    ax = fig.add_subplot()
    if n == 0:
        ax.text(0.5, 0.5, "no gold examples", ha="center", va="center")
        ax.set_axis_off()
        return _save_figure(fig, path)
    shares = _row_normalised(matrix)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    for i, j in zip(*np.nonzero(matrix), strict=True):
        colour = "white" if shares[i, j] > 0.5 else "black"
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=font, color=colour)
    ax.set_xticks(range(n), labels, rotation=60, ha="right", rotation_mode="anchor", fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("gold intent")
    ax.set_title(f"Confusion on the gold set ({int(matrix.sum())} examples)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    return _save_figure(fig, path)


def plot_training_curve(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and accuracy per epoch, train vs validation; tolerates one epoch and missing keys."""
    fig = Figure(figsize=(10, 4), layout="tight")
    for ax, (key, title) in zip(fig.subplots(1, 2), CURVE_PANELS, strict=True):
        epochs = 0
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            values = history.get(name) or []
            if values:
                ax.plot(range(1, len(values) + 1), values, style, marker="o", markersize=3, label=name)
                epochs = max(epochs, len(values))
        if epochs:
            ax.legend()
            ax.set_xlim(0.5, epochs + 0.5)  # one epoch still gets a sensible axis
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        else:
            ax.text(0.5, 0.5, f"{key} not recorded", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    return _save_figure(fig, path)


# --- markdown -------------------------------------------------------------------------


def _num(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _delta(new: float | None, old: float | None, digits: int = 4) -> str:
    return "" if new is None or old is None else f"{new - old:+.{digits}f}"


def _cell(text: object) -> str:
    """Keep user text from breaking a Markdown table row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    """Markdown table; `align` holds one of 'l'/'r' per column."""
    rule = ["---:" if a == "r" else "---" for a in align]
    return [f"| {' | '.join(row)} |" for row in (header, rule, *rows)]


def _decision(promoted: bool, tested: bool, candidate_version: str, live_version: str | None,
              reasons: list[str]) -> list[str]:
    if tested:
        head = (f"**Decision: A/B test.** Candidate `{candidate_version}` passed the gate and answers some customers "
                f"first; `{live_version}` stays live for the others until the test decides.")
    elif promoted:
        head = f"**Decision: promoted.** Candidate `{candidate_version}` is live" + (
            f", replacing `{live_version}`." if live_version else " (first model)."
        )
    else:
        head = f"**Decision: rejected.** Candidate `{candidate_version}` was not promoted" + (
            f"; `{live_version}` stays live." if live_version else "."
        )
    return [head, "", "Reasons:", *[f"- {r}" for r in reasons or ["(none given)"]]]


def _comparison(candidate: dict, live: dict | None, candidate_version: str, live_version: str | None) -> list[str]:
    live = live or {}
    rows = [
        [label, _num(candidate.get(key)), _num(live.get(key)), _delta(candidate.get(key), live.get(key))]
        for key, label in (
            ("accuracy", "accuracy"),
            ("macro_f1", "macro-F1"),
            ("oos_recall", "out-of-scope recall"),
            ("inscope_accuracy", "in-scope accuracy"),
        )
    ]
    cand_lang, live_lang = candidate.get("per_language", {}), live.get("per_language", {})
    for lang in sorted(set(cand_lang) | set(live_lang)):
        for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            new, old = cand_lang.get(lang, {}).get(key), live_lang.get(lang, {}).get(key)
            rows.append([f"{lang} {label}", _num(new), _num(old), _delta(new, old)])
    live_head = f"live `{live_version}`" if live_version else "live (none)"
    return _table(["metric", f"candidate `{candidate_version}`", live_head, "change"], rows, "lrrr")


def _counts(counts: dict[str, dict[str, int]]) -> list[str]:
    rows = [
        [STAGE_TITLES.get(stage, stage) if i == 0 else "", _cell(name), str(value)]
        for stage, items in counts.items()
        for i, (name, value) in enumerate(items.items())
    ]
    return _table(["stage", "item", "count"], rows, "llr") if rows else ["(no counts recorded)"]


def _per_intent(candidate: dict, live: dict | None) -> list[str]:
    live_intents = (live or {}).get("per_intent", {})
    rows = []
    for name, r in sorted(candidate.get("per_intent", {}).items()):
        row = [_cell(name), _num(r["precision"], 3), _num(r["recall"], 3), _num(r["f1"], 3), str(r["support"])]
        if live is not None:
            row.append(_delta(r["f1"], live_intents.get(name, {}).get("f1"), 3) or "new")
        rows.append(row)
    header = ["intent", "precision", "recall", "F1", "support"] + (["ΔF1 vs live"] if live is not None else [])
    return _table(header, rows, "l" + "r" * (len(header) - 1))


def confused_pairs(confusion: dict, top: int = TOP_CONFUSED) -> list[tuple[str, str, int]]:
    """Largest off-diagonal cells as (gold, predicted, count): where the model mixes intents up."""
    labels, matrix = confusion.get("labels", []), confusion.get("matrix", [])
    cells = [
        (labels[i], labels[j], int(count))
        for i, row in enumerate(matrix)
        for j, count in enumerate(row)
        if i != j and count > 0
    ]
    return sorted(cells, key=lambda c: (-c[2], c[0], c[1]))[:top]


def _confused(candidate: dict) -> list[str]:
    pairs = confused_pairs(candidate.get("confusion", {}))
    if not pairs:
        return ["No gold example was confused with another intent."]
    return _table(["gold intent", "predicted as", "count"], [[_cell(g), _cell(p), str(c)] for g, p, c in pairs], "llr")


def _errors(candidate: dict) -> list[str]:
    errors = candidate.get("errors", [])
    if not errors:
        return ["None: every gold example was classified correctly."]
    shown = errors[:MAX_ERRORS]
    rows = [[_cell(e["text"]), _cell(e["intent"]), _cell(e["predicted"])] for e in shown]
    note = [f"Showing {len(shown)} of {len(errors)}.", ""] if len(errors) > len(shown) else []
    return note + _table(["text", "gold", "predicted"], rows, "lll")


def _training_line(history: dict[str, list[float]]) -> str:
    epochs = max((len(v) for v in history.values()), default=0)
    last = [f"{k} {_num(v[-1])}" for k, v in sorted(history.items()) if v]
    return f"Trained {epochs} epoch(s); last epoch: {', '.join(last) or 'nothing recorded'}."


def render_markdown(
    *, run_id: int, trigger: str, candidate_version: str, candidate: dict, live_version: str | None,
    live: dict | None, promoted: bool, reasons: list[str], counts: dict[str, dict[str, int]],
    history: dict[str, list[float]], files: dict[str, str], tested: bool = False,
) -> str:
    """The report text; decision first, because that is what an admin opens it for."""
    sections = [
        [f"# Training run {run_id} ({trigger})", ""],
        _decision(promoted, tested, candidate_version, live_version, reasons),
        ["", "## Candidate vs live (gold set)", ""],
        _comparison(candidate, live, candidate_version, live_version),
        ["", f"Gold examples: {candidate.get('n_gold', 'n/a')}, intents: {candidate.get('n_intents', 'n/a')}."],
        ["", "## Data per stage", ""],
        _counts(counts),
        ["", "## Per intent (candidate)", ""],
        _per_intent(candidate, live),
        ["", f"## Most confused intents (top {TOP_CONFUSED})", ""],
        _confused(candidate),
        ["", "## Misclassified gold examples", ""],
        _errors(candidate),
        ["", "## Figures", "", _training_line(history), ""],
        [f"![Confusion matrix]({files['confusion']})", "", f"![Training curve]({files['training_curve']})", ""],
    ]
    return "\n".join(line for section in sections for line in section)


# --- the report -----------------------------------------------------------------------


def write_report(
    directory: Path, *, run_id: int, trigger: str, candidate_version: str, candidate: dict,
    live_version: str | None, live: dict | None, promoted: bool, reasons: list[str],
    counts: dict[str, dict[str, int]], history: dict[str, list[float]], tested: bool = False,
) -> dict[str, str]:
    """Write the run's report into `directory`; returns {name: path} of every file written.

    metrics.json is removed first and written last, so its presence marks a finished report.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").unlink(missing_ok=True)
    names = {"confusion": "confusion.png", "training_curve": "training_curve.png"}
    confusion = candidate.get("confusion", {"labels": [], "matrix": []})
    paths = {
        "confusion": plot_confusion(confusion, directory / names["confusion"]),
        "training_curve": plot_training_curve(history, directory / names["training_curve"]),
    }
    text = render_markdown(
        run_id=run_id, trigger=trigger, candidate_version=candidate_version, candidate=candidate,
        live_version=live_version, live=live, promoted=promoted, reasons=reasons, counts=counts,
        history=history, files=names, tested=tested,
    )
    paths["report"] = _write_atomic(directory / "report.md", text.encode("utf-8"))
    record = {
        "run_id": run_id,
        "trigger": trigger,
        "decision": "testing" if tested else "promoted" if promoted else "rejected",
        "promoted": promoted,
        "reasons": list(reasons),
        "candidate": {"version": candidate_version, "metrics": candidate},
        "live": None if live is None else {"version": live_version, "metrics": live},
        "counts": counts,
        "history": history,
        "files": {**names, "report": "report.md"},
    }
    data = json.dumps(record, indent=2, ensure_ascii=False, default=_json_default).encode("utf-8")
    paths["metrics"] = _write_atomic(directory / "metrics.json", data)
    return {name: str(path) for name, path in paths.items()}
