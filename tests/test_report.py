"""The run report: real metrics from evaluate(), real PNGs, a Markdown record an admin can trust."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

import training.report as report
from training.domain import OUT_OF_SCOPE, Example
from training.evaluate import evaluate
from training.report import confused_pairs, plot_confusion, plot_training_curve, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

GOLD = [
    Example("hello there", "greet", "en"),
    Example("hi", "greet", "en"),
    Example("你好", "greet", "zh"),
    Example("cancel my order", "cancel_order", "en"),
    Example("please cancel it", "cancel_order", "en"),
    Example("取消订单", "cancel_order", "zh"),
    Example("I want my money back", "refund", "en"),
    Example("退款", "refund", "zh"),
    Example("where is my parcel", "track_order", "en"),
    Example("what is the weather | tomorrow", OUT_OF_SCOPE, "en"),
    Example("讲个笑话", OUT_OF_SCOPE, "zh"),
]

# The candidate mixes up cancelling and refunds twice and answers one out-of-scope question.
CANDIDATE_MISTAKES = {
    "cancel my order": "refund",
    "取消订单": "refund",
    "what is the weather | tomorrow": "greet",
}
LIVE_MISTAKES = {"where is my parcel": "cancel_order"}

HISTORY = {
    "loss": [1.6, 0.9, 0.5, 0.3],
    "val_loss": [1.5, 1.0, 0.7, 0.6],
    "accuracy": [0.3, 0.6, 0.85, 0.95],
    "val_accuracy": [0.35, 0.55, 0.7, 0.75],
}
COUNTS = {
    "collect": {"feedback": 4, "review": 3, "total": 7, "new": 5},
    "clean": {"unknown_intent": 1, "too_short": 2, "gold_overlap": 1},
    "train": {"examples": 120, "from_conversations": 3},
}
REASONS = [
    "macro-F1 0.6000 is below the live model's 0.9000 minus tolerance 0.02",
    "recall of cancel_order collapsed to 0.33 (floor 0.5)",
]


def _metrics(mistakes: dict[str, str]) -> dict:
    by_text = {e.text: e.intent for e in GOLD}
    return evaluate(lambda text: mistakes.get(text, by_text[text]), GOLD, {"en": 80, "zh": 40})


@pytest.fixture(scope="module")
def candidate() -> dict:
    return _metrics(CANDIDATE_MISTAKES)


@pytest.fixture(scope="module")
def live() -> dict:
    return _metrics(LIVE_MISTAKES)


def _rejected(directory: Path, candidate: dict, live: dict, **overrides) -> dict[str, str]:
    args = dict(
        run_id=7, trigger="nightly", candidate_version="20250101-020000", candidate=candidate,
        live_version="20241231-020000", live=live, promoted=False, reasons=REASONS, counts=COUNTS,
        history=HISTORY,
    )
    return write_report(directory, **{**args, **overrides})


def assert_png(path: Path | str, min_side: int = 300) -> tuple[int, int]:
    path = Path(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert width >= min_side and height >= min_side
    return width, height


def table_row(markdown: str, first_cell: str) -> list[str]:
    """Cells of the table row whose first cell is `first_cell` (fails if there is none)."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row for {first_cell!r}")


# --- evaluate() ------------------------------------------------------------------------


def test_evaluate_adds_confusion_over_gold_and_predicted_labels() -> None:
    metrics = evaluate(lambda text: "smalltalk" if text == "hi" else "greet", GOLD[:3] + GOLD[3:4])
    confusion = metrics["confusion"]
    assert confusion["labels"] == ["cancel_order", "greet", "smalltalk"]
    assert confusion["matrix"] == [[0, 1, 0], [0, 2, 1], [0, 0, 0]]
    assert all(type(v) is int for row in confusion["matrix"] for v in row)
    # 2 of 4 right; greet F1 2/3 (2 of its 3 answers, 2 of its 3 messages), cancel_order and smalltalk 0
    assert (metrics["accuracy"], metrics["inscope_accuracy"], metrics["oos_recall"]) == (0.5, 0.5, None)
    assert metrics["macro_f1"] == pytest.approx(2 / 9)
    assert {lang: m["accuracy"] for lang, m in metrics["per_language"].items()} == {"en": 1 / 3, "zh": 1.0}
    assert metrics["errors"] == [{"text": "hi", "intent": "greet", "predicted": "smalltalk"},
                                 {"text": "cancel my order", "intent": "cancel_order", "predicted": "greet"}]


def test_confusion_rows_sum_to_support(candidate: dict) -> None:
    labels, matrix = candidate["confusion"]["labels"], candidate["confusion"]["matrix"]
    for label, row in zip(labels, matrix, strict=True):
        support = candidate["per_intent"].get(label, {}).get("support", 0)
        assert sum(row) == support


def test_confused_pairs_are_off_diagonal_and_largest_first(candidate: dict) -> None:
    pairs = confused_pairs(candidate["confusion"])
    assert pairs == [("cancel_order", "refund", 2), (OUT_OF_SCOPE, "greet", 1)]
    assert confused_pairs({"labels": ["a", "b"], "matrix": [[5, 0], [0, 3]]}) == []
    many = {"labels": list("abcd"), "matrix": [[0, 1, 2, 3], [4, 0, 5, 6], [7, 8, 0, 9], [1, 1, 1, 0]]}
    assert [c for _, _, c in confused_pairs(many)] == [9, 8, 7, 6, 5]


# --- figures ---------------------------------------------------------------------------


def test_plot_confusion_writes_a_png(tmp_path: Path, candidate: dict) -> None:
    path = plot_confusion(candidate["confusion"], tmp_path / "c.png")
    assert path == tmp_path / "c.png"
    assert_png(path)
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]  # no temporary file left behind


def test_plot_confusion_grows_with_thirty_intents(tmp_path: Path) -> None:
    labels = [f"intent_number_{i:02d}" for i in range(30)]
    matrix = [[(10 if i == j else (1 if (i + j) % 7 == 0 else 0)) for j in range(30)] for i in range(30)]
    few = {"labels": labels[:3], "matrix": [row[:3] for row in matrix[:3]]}
    small = assert_png(plot_confusion(few, tmp_path / "s.png"))
    large = assert_png(plot_confusion({"labels": labels, "matrix": matrix}, tmp_path / "l.png"), min_side=1200)
    assert large[0] > small[0] and large[1] > small[1]


def test_plot_confusion_survives_an_empty_matrix(tmp_path: Path) -> None:
    assert_png(plot_confusion({"labels": [], "matrix": []}, tmp_path / "e.png"))


@pytest.mark.parametrize(
    "history",
    [
        HISTORY,
        {"loss": [0.7], "val_loss": [0.8], "accuracy": [0.5], "val_accuracy": [0.4]},  # one epoch
        {"loss": [0.9, 0.4], "accuracy": [0.5, 0.8]},  # no validation split
        {},  # nothing recorded at all
    ],
    ids=["four-epochs", "one-epoch", "no-val", "empty"],
)
def test_plot_training_curve(tmp_path: Path, history: dict) -> None:
    assert_png(plot_training_curve(history, tmp_path / "t.png"))


def test_plots_leave_no_pyplot_figures_open(tmp_path: Path, candidate: dict) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_confusion(candidate["confusion"], tmp_path / "c.png")
    plot_training_curve(HISTORY, tmp_path / "t.png")
    assert plt.get_fignums() == before


# --- write_report ----------------------------------------------------------------------


def test_rejected_report_files(tmp_path: Path, candidate: dict, live: dict) -> None:
    directory = tmp_path / "reports" / "7"
    paths = _rejected(directory, candidate, live)
    assert set(paths) == {"report", "metrics", "confusion", "training_curve"}
    names = {"report.md", "metrics.json", "confusion.png", "training_curve.png"}
    assert {Path(p).name for p in paths.values()} == names
    assert all(Path(p).parent == directory for p in paths.values())
    assert sorted(p.name for p in directory.iterdir()) == sorted(Path(p).name for p in paths.values())
    assert_png(paths["confusion"])
    assert_png(paths["training_curve"])


def test_rejected_report_markdown(tmp_path: Path, candidate: dict, live: dict) -> None:
    md = Path(_rejected(tmp_path, candidate, live)["report"]).read_text(encoding="utf-8")
    lines = md.splitlines()
    decision = next(i for i, line in enumerate(lines) if line.startswith("**Decision:"))
    assert lines[decision].startswith("**Decision: rejected.**")
    assert decision < md.splitlines().index("## Candidate vs live (gold set)")
    assert "20250101-020000" in lines[decision] and "20241231-020000" in lines[decision]
    for reason in REASONS:
        assert f"- {reason}" in lines
    assert "promoted." not in lines[decision]

    assert table_row(md, "accuracy")[1:] == [
        f"{candidate['accuracy']:.4f}", f"{live['accuracy']:.4f}", f"{candidate['accuracy'] - live['accuracy']:+.4f}"
    ]
    assert table_row(md, "out-of-scope recall")[1:3] == ["0.5000", "1.0000"]
    assert table_row(md, "zh accuracy")[1] == f"{candidate['per_language']['zh']['accuracy']:.4f}"

    cancel = table_row(md, "cancel_order")
    scores = candidate["per_intent"]["cancel_order"]
    assert cancel[1:5] == [f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}", "3"]
    assert cancel[5] == f"{scores['f1'] - live['per_intent']['cancel_order']['f1']:+.3f}"
    for intent in candidate["per_intent"]:
        table_row(md, intent)

    assert table_row(md, "gold intent") == ["gold intent", "predicted as", "count"]
    confused = [line for line in lines if re.fullmatch(r"\| cancel_order \| refund \| 2 \|", line)]
    assert confused, "the worst-confused pair is listed"

    assert "| collect (rows per source) | feedback | 4 |" in lines
    assert "| train (examples used) | examples | 120 |" in lines
    assert "|  | too_short | 2 |" in lines  # stage named once, on its first row
    assert "](confusion.png)" in md and "](training_curve.png)" in md


def test_misclassified_examples_escape_pipes_and_are_capped(tmp_path: Path, candidate: dict, live: dict) -> None:
    md = Path(_rejected(tmp_path / "a", candidate, live)["report"]).read_text(encoding="utf-8")
    row = table_row(md, r"what is the weather \| tomorrow")
    assert row[1:] == [OUT_OF_SCOPE, "greet"]
    assert "| 取消订单 | cancel_order | refund |" in md

    many = dict(candidate, errors=[{"text": f"msg {i}", "intent": "refund", "predicted": "greet"} for i in range(45)])
    md = Path(_rejected(tmp_path / "b", many, live)["report"]).read_text(encoding="utf-8")
    assert "Showing 20 of 45." in md
    assert "| msg 19 |" in md and "| msg 20 |" not in md


def test_metrics_json_round_trips(tmp_path: Path, candidate: dict, live: dict) -> None:
    record = json.loads(Path(_rejected(tmp_path, candidate, live)["metrics"]).read_text(encoding="utf-8"))
    assert record["decision"] == "rejected" and record["promoted"] is False
    assert record["reasons"] == REASONS
    assert record["run_id"] == 7 and record["trigger"] == "nightly"
    assert record["candidate"] == {"version": "20250101-020000", "metrics": candidate}
    assert record["live"] == {"version": "20241231-020000", "metrics": live}
    assert record["counts"] == COUNTS
    assert record["history"] == HISTORY


def test_first_model_without_live(tmp_path: Path, candidate: dict) -> None:
    paths = write_report(
        tmp_path, run_id=1, trigger="manual", candidate_version="v1", candidate=candidate,
        live_version=None, live=None, promoted=True, reasons=["no live model"], counts={},
        history={"loss": [0.9], "accuracy": [0.4]},
    )
    md = Path(paths["report"]).read_text(encoding="utf-8")
    assert "**Decision: promoted.** Candidate `v1` is live (first model)." in md
    assert "- no live model" in md
    assert table_row(md, "macro-F1")[1:] == [f"{candidate['macro_f1']:.4f}", "n/a", ""]
    assert "ΔF1" not in md and len(table_row(md, "refund")) == 5
    assert "(no counts recorded)" in md
    assert json.loads(Path(paths["metrics"]).read_text())["live"] is None
    assert_png(paths["training_curve"])


def test_promoted_over_live(tmp_path: Path, candidate: dict, live: dict) -> None:
    paths = _rejected(tmp_path, candidate, live, promoted=True, reasons=["macro-F1 0.9 vs live 0.8"])
    md = Path(paths["report"]).read_text(encoding="utf-8")
    assert "**Decision: promoted.** Candidate `20250101-020000` is live, replacing `20241231-020000`." in md


def test_perfect_candidate_says_so(tmp_path: Path, live: dict) -> None:
    md = Path(_rejected(tmp_path, _metrics({}), live)["report"]).read_text(encoding="utf-8")
    assert "No gold example was confused with another intent." in md
    assert "None: every gold example was classified correctly." in md


def test_metrics_json_is_written_last(
    tmp_path: Path, candidate: dict, live: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real = report._write_atomic
    monkeypatch.setattr(report, "_write_atomic", lambda path, data: written.append(path.name) or real(path, data))
    _rejected(tmp_path, candidate, live)
    assert written[-1] == "metrics.json"
    assert set(written) == {"confusion.png", "training_curve.png", "report.md", "metrics.json"}


def test_interrupted_rewrite_leaves_no_finished_marker(
    tmp_path: Path, candidate: dict, live: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rejected(tmp_path, candidate, live)
    assert (tmp_path / "metrics.json").exists()

    def crash(history: dict, path: Path) -> Path:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "plot_training_curve", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        _rejected(tmp_path, candidate, live)
    assert not (tmp_path / "metrics.json").exists()  # the stale marker is gone: not mistaken for finished
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
