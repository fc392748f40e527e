"""The learning loop with canary_share above 0: a candidate that passes the gate starts an A/B test instead of
going live, and the next one, while that test runs, is trained and reported but neither tested nor made live."""

import json
from pathlib import Path

import pytest

from bot.summaries import run_result
from storage.db import open_db
from storage.experiments import Experiments
from storage.registry import ModelRegistry
from storage.runs import Runs, RunTrigger
from training.config import load_config
from training.pipeline import execute

pytestmark = pytest.mark.slow  # two trainings


def retrain(config, db) -> dict:
    run_id = Runs(db).start(RunTrigger.CLI, "test")
    try:
        return execute(config, db, run_id)
    finally:
        Runs(db).release(run_id)


def test_a_passing_candidate_is_tested_first_and_no_second_test_starts_while_it_runs(trained_config):
    source = trained_config.source
    source.write_text(source.read_text() + "\n[promotion]\ntolerance = 0.05\nrecall_floor = 0.3\ncanary_share = 0.1\n")
    config = load_config(source)
    db = open_db(config.db_path)
    registry = ModelRegistry(db, config.models_dir)
    live = registry.live()["version"]
    first = retrain(config, db)
    assert first["status"] == "testing", first
    test = Experiments(db).running()
    assert (test.candidate_version, test.live_version, test.run_id) == (first["candidate_version"], live, first["id"])
    assert registry.live()["version"] == live  # still answering the other 90%
    assert "an A/B test starts instead of promoting: the candidate answers 10% of customers" in first["progress"]
    assert "tested on some customers first" in run_result(first)
    record = json.loads((Path(first["report_path"]) / "metrics.json").read_text())
    assert record["decision"] == "testing"
    assert "**Decision: A/B test.**" in (Path(first["report_path"]) / "report.md").read_text()
    second = retrain(config, db)
    assert second["status"] == "rejected" and "A/B test 1 is still running" in second["progress"]
    assert Experiments(db).running().id == test.id and registry.live()["version"] == live
    assert registry.get(second["candidate_version"])["status"] == "rejected"
