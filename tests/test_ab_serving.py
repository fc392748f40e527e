"""Canary serving: where a candidate goes after the gate, who it answers (sticky per customer), and what happens
when it does not load. Real SQLite, the session's trained model and copies of it."""

import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.replies import Incoming
from bot.runtime import open_runtime
from bot.summaries import status_text
from bot.usecases import models
from bot.usecases.access import Actor
from storage.experiments import Arm, Experiments, ExperimentStatus
from storage.registry import ModelStatus
from storage.runs import RunStatus
from tests.conftest import ROOT, copy_live
from training.assignment import arm_of
from training.canary import Placement, carry_out, plan

ADMIN = Actor("cli:test", admin=True)


@pytest.fixture
def runtime(trained_config):
    runtime = open_runtime(trained_config)
    yield runtime
    runtime.close()


def place(runtime, share: float, passed: bool = True) -> tuple[str, Placement, RunStatus]:
    """A new candidate (a copy of the live model) through plan and carry_out, as the pipeline does after the gate."""
    candidate, live = copy_live(runtime.registry), runtime.registry.live()["version"]
    promotion = replace(runtime.config.promotion, canary_share=share)
    experiments = Experiments(runtime.db)
    placement, _ = plan(experiments, promotion, live, passed)
    return candidate, placement, carry_out(placement, runtime.registry, experiments, promotion, candidate, live, run_id=None)


def ask(runtime, user: str, text: str = "where is my order") -> dict:
    reply = runtime.engine.handle(Incoming("console", user, f"chat-{user}", text))
    return runtime.engine.messages.prediction(reply.message_id)


def user_id(runtime, user: str) -> int:
    return runtime.engine.messages.user_id_of("console", user)


def test_canary_share_zero_keeps_promoting_a_candidate_that_passes_at_once(runtime):
    candidate, placement, status = place(runtime, share=0.0)
    assert (placement, status) == (Placement.LIVE, RunStatus.PROMOTED)
    assert runtime.registry.live()["version"] == candidate and Experiments(runtime.db).running() is None


def test_a_candidate_that_fails_the_gate_is_rejected_whatever_the_share(runtime):
    candidate, placement, status = place(runtime, share=0.1, passed=False)
    assert (placement, status) == (Placement.REJECTED, RunStatus.REJECTED)
    assert runtime.registry.get(candidate)["status"] == ModelStatus.REJECTED and Experiments(runtime.db).running() is None


def test_with_a_share_a_candidate_that_passes_starts_a_test_and_the_live_model_stays(runtime):
    live = runtime.registry.live()["version"]
    candidate, placement, status = place(runtime, share=0.1)
    assert (placement, status) == (Placement.TEST, RunStatus.TESTING)
    test = Experiments(runtime.db).running()
    assert (test.candidate_version, test.live_version, test.share) == (candidate, live, 0.1)
    assert test.design["max_days"] == runtime.config.promotion.ab_max_days  # the rules are fixed at the start
    assert runtime.registry.live()["version"] == live and runtime.registry.get(candidate)["status"] == ModelStatus.CANDIDATE


@pytest.mark.parametrize("share", [0.1, 0.0])
def test_a_second_candidate_while_a_test_runs_is_neither_tested_nor_made_live(runtime, share):
    first, _, _ = place(runtime, share=0.1)
    live = runtime.registry.live()["version"]
    second, placement, status = place(runtime, share=share)  # canary_share set to 0 meanwhile: still not live
    assert (placement, status) == (Placement.HELD, RunStatus.REJECTED)
    assert Experiments(runtime.db).running().candidate_version == first
    assert runtime.registry.live()["version"] == live and runtime.registry.get(second)["status"] == ModelStatus.REJECTED
    reason = plan(Experiments(runtime.db), runtime.config.promotion, live, passed=True)[1]
    assert "A/B test 1 is still running" in reason


def test_the_share_of_customers_on_the_candidate_is_the_configured_one():
    for share in (0.1, 0.5):
        on_candidate = sum(arm_of(7, customer, share) == Arm.CANDIDATE for customer in range(20_000))
        assert on_candidate / 20_000 == pytest.approx(share, abs=0.01)
    assert [arm_of(1, c, 0.5) for c in range(50)] != [arm_of(2, c, 0.5) for c in range(50)]  # a new test, a new draw


def test_each_customer_keeps_their_arm_and_model_across_restarts(trained_config):
    runtime = open_runtime(trained_config)
    candidate, _, _ = place(runtime, share=0.5)
    runtime.model.refresh()  # as the running bot's model check does
    live = runtime.registry.live()["version"]
    customers = [f"c{i}" for i in range(30)]
    first = {c: ask(runtime, c) for c in customers}
    runtime.close()
    again = open_runtime(trained_config)  # a restart: the arm is a hash, nothing to reload
    second = {c: ask(again, c, "my parcel has not arrived") for c in customers}
    test = Experiments(again.db).running()
    for c in customers:
        arm = arm_of(test.id, user_id(again, c), 0.5)
        assert first[c]["arm"] == second[c]["arm"] == arm
        assert first[c]["model_version"] == second[c]["model_version"] == (candidate if arm == Arm.CANDIDATE else live)
    assert {first[c]["arm"] for c in customers} == {Arm.LIVE, Arm.CANDIDATE}
    again.close()


def test_without_a_test_predictions_have_no_arm(runtime):
    assert ask(runtime, "ann")["arm"] is None


def test_a_candidate_that_does_not_load_leaves_everyone_on_the_live_model_and_says_so(trained_config, caplog):
    runtime = open_runtime(trained_config)
    candidate, _, _ = place(runtime, share=0.5)
    (Path(runtime.registry.get(candidate)["path"]) / "model.tflite").write_bytes(b"not a model")
    runtime.close()
    with caplog.at_level(logging.ERROR):
        runtime = open_runtime(trained_config)
    assert f"candidate {candidate} of A/B test 1 does not load" in caplog.text
    live = runtime.registry.live()["version"]
    predictions = [ask(runtime, f"c{i}") for i in range(20)]
    assert {p["model_version"] for p in predictions} == {live}
    assert {p["arm"] for p in predictions} == {Arm.LIVE, None}  # the candidate's customers are not in the test
    status = status_text(models.status(runtime, ADMIN, None, False))
    assert f"A/B TEST 1: candidate {candidate} of A/B test 1 does not load" in status
    assert "everyone gets the live model" in status
    runtime.close()


def test_a_running_bot_picks_up_a_test_started_and_ended_by_another_process(runtime, trained_config):
    assert runtime.model.canary is None
    other = open_runtime(trained_config)  # the nightly training process, or the CLI
    candidate, _, _ = place(other, share=0.5)
    assert runtime.model.refresh() is False  # the live model did not change
    assert runtime.model.canary.classifier.version == candidate
    Experiments(other.db).end(1, ExperimentStatus.STOPPED, "cli:test", "stopped")
    runtime.model.refresh()
    assert runtime.model.canary is None
    assert {ask(runtime, f"c{i}")["arm"] for i in range(10)} == {None}
    other.close()


def test_the_bot_looks_at_a_test_without_loading_a_statistics_library():
    """Its boundaries were computed (scipy) when the test was designed, in the training process: the bot's
    nightly look, /ab and the canary serving add no scipy to the bot process's memory."""
    code = ("import sys, bot.runtime, bot.usecases.ab, bot.ab_summary, training.experiment; "
            "print(sorted(m for m in ('scipy', 'sklearn', 'statsmodels') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
