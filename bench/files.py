"""Where the bench reads and writes: the repository and dataset paths, JSON out, config files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BANKING77 = Path("/work/shared/datasets/banking77")
HWU64 = Path("/work/shared/datasets/hwu64")  # read in place, never copied into the repository
RESULTS = BENCH / "results.json"  # the last `make bench`: the project guide names this path
BENCHMARKS = ROOT / "BENCHMARKS.md"
FIGURES = BENCH / "figures"
TUNE_RECORD = BENCH / "experiments" / "tune.jsonl"  # one line per bench/experiments/tune.py run
STARTER_CV_RECORD = BENCH / "experiments" / "starter_cv.jsonl"  # one line per bench/experiments/starter_cv.py run
AB_DESIGN_RECORD = BENCH / "experiments" / "ab_design.jsonl"  # one line per bench/experiments/ab_design.py run
SERVING_VARIANTS_RECORD = BENCH / "experiments" / "serving_variants.jsonl"  # one line per export variant served


def write_json(path: str | Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # [actions.endpoints]: an inline table
        return "{" + ", ".join(f"{key} = {_toml_value(v)}" for key, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def config_text(var_dir: Path, overrides: dict[str, dict[str, Any]] | None = None,
                base: Path = ROOT / "config.toml") -> str:
    """config.toml with its paths made absolute (state in `var_dir`) and some keys overridden.

    The bench's configs are config.toml itself, so the starter model, policy and limits are the
    shipped ones; only what a benchmark must change (where state lives, the Telegram server) differs.
    """
    with base.open("rb") as fh:
        raw = tomllib.load(fh)
    raw.setdefault("paths", {})
    raw["paths"]["var_dir"] = str(var_dir)
    raw["paths"]["data_dir"] = str((base.parent / raw["paths"].get("data_dir", "data")).resolve())
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)
