"""bench/run.py's bookkeeping, without running a phase: the commands it measures with, the starter's
seed spread, and where a section measured alone lands in bench/results.json."""

from __future__ import annotations

import pytest

from bench.run import COMMANDS, DATA_SETS, HOLD_OUT, OOS_LABEL, SECTIONS, one_phase, over_seeds, record_section


def test_each_data_set_runs_against_both_baselines_and_once_with_intents_held_out():
    for name, data in DATA_SETS.items():
        assert COMMANDS[name] == ["benchmark", "--train", str(data / "train.csv"), "--test", str(data / "test.csv"),
                                  "--baselines", "--json"]
        held = COMMANDS[f"oos_{name}"]
        assert held[held.index("--hold-out") + 1] == str(HOLD_OUT[name])
        assert held[held.index("--oos-label") + 1] == OOS_LABEL
        assert "--baselines" in held


def test_over_seeds_is_the_minimum_and_mean_of_each_figure_in_each_language():
    def seed(accuracy: float, en: float, zh: float) -> dict:
        return {"accuracy": accuracy, "macro_f1": accuracy - 0.01,
                "per_language": {"en": {"accuracy": en, "macro_f1": en}, "zh": {"accuracy": zh, "macro_f1": zh}}}

    spread = over_seeds([seed(0.96, 0.95, 0.97), seed(0.94, 0.93, 0.98), seed(0.95, 0.97, 0.96)])
    assert spread["all"]["accuracy"] == {"min": 0.94, "mean": pytest.approx(0.95)}
    assert spread["all"]["macro_f1"]["min"] == pytest.approx(0.93)
    assert spread["en"]["accuracy"] == {"min": 0.93, "mean": pytest.approx(0.95)}
    assert spread["zh"]["macro_f1"] == {"min": 0.96, "mean": pytest.approx(0.97)}


def test_a_section_measured_alone_keeps_its_shape_and_says_how_in_meta():
    """hwu64 must keep banking77's keys (one per system), so the note goes to meta; the commands that ran too."""
    results = {"meta": {"commands": {"banking77": "supportbot benchmark …"}}, "hwu64": {"old": {}}}
    note = {"command": ".venv/bin/python -m bench.run --phase oos", "phase_seconds": {"oos_banking77": 1.0, "oos_hwu64": 2.0}}
    record_section(results, "oos", {"banking77": {"supportbot": {}}, "hwu64": {"supportbot": {}}}, note)
    assert results["oos"] == {"banking77": {"supportbot": {}}, "hwu64": {"supportbot": {}}}
    assert results["meta"]["measured_alone"] == {"oos": note}
    assert set(results["meta"]["commands"]) == {"banking77", "oos_banking77", "oos_hwu64"}
    assert results["meta"]["commands"]["oos_hwu64"] == "supportbot " + " ".join(COMMANDS["oos_hwu64"])

    record_section(results, "starter", {"accuracy": 0.9, "model_dir": "/tmp/gone", "seeds": []},
                   {"phase_seconds": {"starter": 1.0, "starter_seed_1": 1.0}})
    assert results["starter"] == {"accuracy": 0.9, "seeds": []}  # a temporary directory is not a result


def test_only_the_phases_and_sections_that_can_run_alone_are_accepted():
    assert {"starter", "banking77", "hwu64", "oos"} <= set(SECTIONS)
    with pytest.raises(SystemExit, match="--phase runs .*hwu64.*oos"):
        one_phase("serving")


def test_a_phase_the_run_can_go_without_fails_into_the_record_and_one_it_needs_ends_the_run(tmp_path):
    """A real child process that exits 3: `attempt` records why and returns nothing, `run` stops the run."""
    from bench.run import Phases

    phases = Phases(tmp_path)
    failing = ["-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
    assert phases.attempt("distributed", failing, tmp_path / "out.json") is None
    assert phases.failed == {"distributed": "failed (exit 3)"}
    assert "boom" in (tmp_path / "distributed.log").read_text()
    with pytest.raises(SystemExit, match="starter failed"):
        phases.run("starter", failing, tmp_path / "out.json")
    ok = ["-c", f"import json; open({str(tmp_path / 'ok.json')!r}, 'w').write(json.dumps({{'x': 1}}))"]
    assert phases.attempt("ab", ok, tmp_path / "ok.json") == {"x": 1} and "ab" not in phases.failed
