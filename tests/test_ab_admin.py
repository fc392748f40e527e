"""The A/B test decided and acted on: the nightly look on controlled outcomes, an admin's /ab and `supportbot ab`,
their audit, and /forget. Real SQLite, the session's model and a copy of it as the candidate."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.ab_summary import ab_text
from bot.cli import main
from bot.replies import Incoming
from bot.runtime import open_runtime
from bot.usecases import ab, conversation
from bot.usecases.access import Actor, NotAllowed
from storage.db import now, stamp
from storage.experiments import Arm, Experiments, ExperimentStatus
from storage.outcomes import Answered, Outcome, Outcomes
from storage.registry import ModelStatus
from tests.conftest import copy_live, promote_copy
from training.ab_decision import Verdict
from training.assignment import arm_of
from training.canary import Placement, carry_out
from training.experiment import Ending

ADMIN, NIGHTLY, EVE = Actor("cli:test", admin=True), Actor("nightly", admin=True), Actor("telegram:666")


@pytest.fixture
def runtime(trained_config):
    runtime = open_runtime(trained_config)
    yield runtime
    runtime.close()


def start(runtime, share: float = 0.5) -> str:
    """A candidate (a copy of the live model) in a running test, as the pipeline starts one; the bot picks it up."""
    candidate = copy_live(runtime.registry)
    promotion = replace(runtime.config.promotion, canary_share=share)
    carry_out(Placement.TEST, runtime.registry, Experiments(runtime.db), promotion, candidate,
              runtime.registry.live()["version"], run_id=None)
    runtime.model.refresh()
    return candidate


def nights_ago(runtime, nights: float) -> None:
    """As if the running test had started `nights` nights ago."""
    started = stamp(datetime.now(UTC) - timedelta(days=nights))
    runtime.db.execute("UPDATE experiments SET started_at = ? WHERE status = ?", [started, ExperimentStatus.RUNNING])


def outcomes(runtime, per_arm: int, resolved: dict[Arm, float]) -> None:
    """`per_arm` customers in each arm with one decided answer each, by their arm's model: the first
    `resolved[arm]` share of them resolved, the others 👎."""
    test, messages, rows = Experiments(runtime.db).running(), runtime.engine.messages, Outcomes(runtime.db)
    written = {arm: 0 for arm in Arm}
    customer = 0
    while min(written.values()) < per_arm:
        customer += 1
        stored = messages.add_incoming(channel="console", user=f"c{customer}", chat_id=f"c{customer}",
                                       text="where is my order", language="en")
        arm = arm_of(test.id, stored.user_id, test.share)
        if written[arm] == per_arm:
            continue
        good = written[arm] < round(resolved[arm] * per_arm)
        written[arm] += 1
        version = test.candidate_version if arm == Arm.CANDIDATE else test.live_version
        row = Answered(stored.id, stored.user_id, version, arm, "order_status", "en", now()[:10], now(), now())
        rows.add(row, Outcome.RESOLVED if good else Outcome.THUMBS_DOWN)


def audit(runtime) -> list[tuple[str, str, str, int]]:
    return [(r["actor"], r["action"], r["detail"], r["allowed"]) for r in runtime.db["audit"].rows]


@pytest.mark.parametrize("action", list(ab.AbAction))
def test_acting_with_no_running_test_is_a_clear_refusal(runtime, action):
    with pytest.raises(ab.NoTest, match="no A/B test is running"):
        ab.ACTIONS[action](runtime, ADMIN)
    assert audit(runtime)[-1][1:] == (f"ab-{action}", "failed: no A/B test is running", 1)


@pytest.mark.parametrize("action", list(ab.AbAction))
def test_the_command_says_so_and_exits_1_with_no_running_test(trained_config, capsys, action):
    assert main(["ab", action.value, "--config", str(trained_config.source)]) == 1
    assert f"{action} refused: no A/B test is running" in capsys.readouterr().err


def test_showing_with_no_test_ever_says_so(runtime):
    assert ab_text(ab.show(runtime, ADMIN)).startswith("No A/B test has run.")


def test_non_admins_are_refused_and_audited(runtime):
    start(runtime)
    for use_case in (ab.show, *ab.ACTIONS.values()):
        with pytest.raises(NotAllowed):
            use_case(runtime, EVE)
    assert Experiments(runtime.db).running() is not None
    assert {(actor, allowed) for actor, _, _, allowed in audit(runtime)} == {("telegram:666", 0)}


def test_the_running_test_is_shown_with_arms_customers_rates_and_what_it_says(runtime, capsys):
    candidate = start(runtime)
    outcomes(runtime, 30, {Arm.LIVE: 0.9, Arm.CANDIDATE: 0.5})
    nights_ago(runtime, 3)
    text = ab_text(ab.show(runtime, ADMIN))
    assert f"A/B test 1: candidate {candidate}" in text and "50% of customers on the candidate" in text
    assert "night 3 now" in text and "Customers with a decided answer: live 30, candidate 30" in text
    assert "Resolved: live 90.0% (95% " in text and "candidate 50.0%" in text and "difference -40.0 points" in text
    assert "Sequential interval of the resolved difference" in text and "So far: " in text
    assert main(["ab", "--config", str(runtime.config.source)]) == 0
    assert "Customers with a decided answer: live 30, candidate 30" in capsys.readouterr().out
    assert ("cli:test", "ab", "test 1 running", 1) in audit(runtime)


def test_promote_makes_the_candidate_live_for_everyone_at_once(runtime):
    candidate = start(runtime)
    ending = ab.promote(runtime, ADMIN)
    assert ending.status == ExperimentStatus.PROMOTED
    assert runtime.registry.live()["version"] == candidate == runtime.model.current.version
    assert runtime.model.canary is None and Experiments(runtime.db).running() is None
    assert ("cli:test", "ab-promote", f"test 1 promoted: {candidate}", 1) in audit(runtime)


@pytest.mark.parametrize("action, status", [(ab.rollback, ExperimentStatus.ROLLED_BACK), (ab.stop, ExperimentStatus.STOPPED)])
def test_rollback_and_stop_keep_the_live_model_and_set_the_candidate_aside(runtime, action, status):
    live = runtime.registry.live()["version"]
    candidate = start(runtime)
    assert action(runtime, ADMIN).status == status
    assert runtime.registry.live()["version"] == live and runtime.registry.get(candidate)["status"] == ModelStatus.REJECTED
    assert runtime.model.canary is None
    assert Experiments(runtime.db).latest().ended_by == "cli:test"
    assert f"Ended {now()[:10]}" in ab_text(ab.show(runtime, ADMIN))


def test_no_look_without_a_test_or_before_its_first_night(runtime):
    assert ab.look_tonight(runtime, NIGHTLY) is None
    start(runtime)
    outcomes(runtime, 25, {Arm.LIVE: 1.0, Arm.CANDIDATE: 0.0})
    assert ab.look_tonight(runtime, NIGHTLY) is None  # it started moments ago
    assert Experiments(runtime.db).looks(1) == []


def test_a_clearly_worse_candidate_is_rolled_back_by_the_nightly_look(runtime):
    live = runtime.registry.live()["version"]
    candidate = start(runtime)
    outcomes(runtime, 30, {Arm.LIVE: 0.9, Arm.CANDIDATE: 0.2})
    nights_ago(runtime, 14)
    ending = ab.look_tonight(runtime, NIGHTLY)
    assert isinstance(ending, Ending) and ending.status == ExperimentStatus.ROLLED_BACK
    assert runtime.registry.live()["version"] == live and runtime.registry.get(candidate)["status"] == ModelStatus.REJECTED
    assert runtime.model.canary is None
    [look] = Experiments(runtime.db).looks(1)
    assert look["day"] == 14 and look["verdict"] == Verdict.ROLLBACK and look["figures"]["customers"] == [30, 30]
    assert ("nightly", "ab-look", f"test 1 rolled_back: {candidate}", 1) in audit(runtime)


def test_a_candidate_not_worse_is_promoted_by_the_nightly_look(runtime):
    candidate = start(runtime)
    outcomes(runtime, 40, {Arm.LIVE: 0.8, Arm.CANDIDATE: 1.0})
    nights_ago(runtime, 14)
    assert ab.look_tonight(runtime, NIGHTLY).status == ExperimentStatus.PROMOTED
    assert runtime.model.current.version == candidate == runtime.registry.live()["version"]


def test_the_test_looks_once_a_night_and_expires_undecided_with_the_live_model_kept(runtime):
    live = runtime.registry.live()["version"]
    start(runtime)
    outcomes(runtime, 25, {Arm.LIVE: 0.8, Arm.CANDIDATE: 0.8})
    nights_ago(runtime, 5)
    assert ab.look_tonight(runtime, NIGHTLY).verdict == Verdict.CONTINUE
    assert ab.look_tonight(runtime, NIGHTLY) is None  # night 5 again: no second look
    nights_ago(runtime, runtime.config.promotion.ab_max_days)
    ending = ab.look_tonight(runtime, NIGHTLY)
    assert ending.status == ExperimentStatus.EXPIRED and "no decision after 28 days" in ending.reason
    assert runtime.registry.live()["version"] == live
    assert [look["day"] for look in Experiments(runtime.db).looks(1)] == [5, 28]


def test_a_test_whose_live_model_was_replaced_meanwhile_is_stopped(runtime):
    start(runtime)
    replaced = promote_copy(runtime.registry)  # an admin's rollback or promotion elsewhere
    nights_ago(runtime, 2)
    ending = ab.look_tonight(runtime, NIGHTLY)
    assert ending.status == ExperimentStatus.STOPPED and f"to {replaced}" in ending.reason


def test_status_names_the_running_test(trained_config, capsys):
    runtime = open_runtime(trained_config)
    candidate = start(runtime, share=0.1)
    runtime.close()
    assert main(["status", "--config", str(trained_config.source)]) == 0
    assert f"A/B test 1: candidate {candidate} answers 10% of customers" in capsys.readouterr().out


def test_forget_leaves_nothing_of_a_customer_in_a_test(runtime):
    start(runtime)
    for customer in ("ann", "bob"):
        for text in ("where is my order", "thanks"):
            runtime.engine.handle(Incoming("console", customer, f"chat-{customer}", text))
    ann = runtime.engine.messages.user_id_of("console", "ann")
    arms = runtime.db.execute("SELECT COUNT(*) FROM predictions WHERE arm IS NOT NULL").fetchone()[0]
    assert arms == 4
    conversation.forget(runtime, Actor("console"), "console", "ann")
    assert runtime.db.execute("SELECT COUNT(*) FROM predictions WHERE arm IS NOT NULL").fetchone()[0] == 2
    assert runtime.db.execute("SELECT COUNT(*) FROM outcomes WHERE user_id = ?", [ann]).fetchone()[0] == 0
    for table in ("experiments", "experiment_looks"):  # the test's own tables hold no customer at all
        assert not {"user_id", "user", "customer", "chat_id"} & set(runtime.db[table].columns_dict)
