"""The simulation behind BENCHMARKS.md's A/B figures, short: the three cases decide as wanted, loosely, and the
bot's own query of the outcomes table gives the decision the same numbers the simulation keeps."""

from datetime import UTC, datetime

import numpy as np
import pytest

from bench.ab_simulation import CASES, Case, Questions, Simulation, share_of, simulate
from storage.db import now, open_db
from storage.experiments import Arm, Experiments
from storage.messages import Messages
from storage.outcomes import Answered, Outcome, Outcomes
from storage.registry import ModelRegistry
from tests.conftest import DATA
from training.ab_decision import Design, Measure, Verdict
from training.domain import load_domain
from training.experiment import figures_now

DESIGN = Design.of(share=0.1, margin=0.02, handoff_margin=0.02, thumbs_down_margin=0.02, alpha_promote=0.05,
                alpha_rollback=0.05, alpha_guards=0.01, max_days=28)
RUNS = 30  # per case; the bench runs 200


@pytest.fixture(scope="module")
def questions() -> Questions:
    return Questions.of(load_domain(DATA))


def test_customers_ask_the_starter_domains_questions_in_both_languages(questions):
    domain = load_domain(DATA)
    assert set(questions.intents) == set(domain.names) - {"out_of_scope"}
    assert set(questions.languages) == {"en", "zh"}
    assert len(questions.texts) > len(domain.gold)  # training examples and gold


def test_each_arm_resolves_the_share_of_answers_its_case_asks_for(questions):
    simulation = Simulation(Case("check", 0.80, 0.70), DESIGN, questions, seed=3)
    answers = [a for _ in range(10) for a in simulation.day()]
    for arm, wanted in ((Arm.LIVE, 0.80), (Arm.CANDIDATE, 0.70)):
        outcomes = [a.outcome for a in answers if a.arm == arm]
        assert np.mean([o == Outcome.RESOLVED for o in outcomes]) == pytest.approx(wanted, abs=0.04 if arm == Arm.CANDIDATE else 0.015)
    candidates = sum(a == Arm.CANDIDATE for a in simulation.arms)
    assert candidates / len(simulation.arms) == pytest.approx(0.1, abs=0.02)


def test_the_three_cases_decide_as_the_targets_ask_loosely_in_a_short_run(questions):
    worse, better, same = (simulate(case, DESIGN, questions, RUNS) for case in CASES)
    assert share_of(worse, Verdict.ROLLBACK) >= 0.8  # target 0.95 over 200 runs (make bench)
    assert share_of(better, Verdict.PROMOTE) >= 0.7  # target 0.80
    assert share_of(same, Verdict.ROLLBACK) <= 0.15  # target 0.05
    assert share_of(worse, Verdict.PROMOTE) == 0  # a worse candidate never goes live


def test_the_bots_query_of_the_outcomes_table_gives_the_simulations_numbers(tmp_path, questions):
    """Three simulated days written as the bot writes them (messages, outcome rows with model version and arm),
    then read back by the nightly look's query: the same tallies, so the same verdict."""
    db = open_db(tmp_path / "sim.db")
    registry = ModelRegistry(db, tmp_path / "models")
    for version in ("live-1", "candidate-2"):
        registry.register(version, {})
    test = Experiments(db).start("candidate-2", "live-1", {**DESIGN.as_dict(), "share": 0.3}, None)
    simulation = Simulation(Case("check", 0.80, 0.70), Design(**test.design), questions, seed=test.id)
    messages, outcomes, users = Messages(db), Outcomes(db), {}
    day = datetime.now(UTC).date().isoformat()
    for _ in range(3):
        for answer in simulation.day():
            stored = messages.add_incoming(channel="sim", user=str(answer.customer), chat_id=str(answer.customer),
                                           text=questions.texts[answer.question], language=questions.languages[answer.question])
            users[answer.customer] = stored.user_id
            version = "candidate-2" if answer.arm == Arm.CANDIDATE else "live-1"
            row = Answered(stored.id, stored.user_id, version, answer.arm, questions.intents[answer.question],
                           stored.language, day, now(), now())
            outcomes.add(row, answer.outcome)
    rows = Experiments(db).customer_outcomes(test)
    for arm in Arm:
        from_db = sorted((r.decided, r.resolved, r.handoff, r.thumbs_down) for r in rows if r.arm == arm)
        kept = simulation.tallies[[c for c, a in enumerate(simulation.arms) if a == arm and c in users]]
        assert from_db == sorted(tuple(int(x) for x in t) for t in kept if t[0] > 0)
    mine, bots = simulation.look(1), figures_now(Experiments(db), test, datetime.now(UTC))  # night 1: it started now
    assert (bots.customers, bots.verdict, bots.bounds) == (mine.customers, mine.verdict, mine.bounds)
    for measure in Measure:
        assert bots.estimates[measure].diff == pytest.approx(mine.estimates[measure].diff)
        assert bots.estimates[measure].se == pytest.approx(mine.estimates[measure].se)
