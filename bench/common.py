"""Helpers shared by the benchmark phases: paths, JSON out, percentiles, config files, RSS."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
BANKING77 = Path("/work/shared/datasets/banking77")
for path in (ROOT, TESTS):  # the bot's packages, and tests/ for harness + botapi (the local Bot API server)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from training.benchmark import peak_rss_mb, percentiles  # noqa: E402  (after sys.path)

__all__ = ["BANKING77", "ROOT", "TESTS", "config_text", "peak_rss_mb", "percentiles", "rss_mb", "write_json"]


def rss_mb() -> float:
    """This process's resident set size now (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


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
