"""The nightly verdict on controlled tallies: each customer's answers as the outcomes table would give them."""

import math

import numpy as np
import pytest

from training.ab_decision import MIN_CUSTOMERS, Design, Measure, Rate, Tallies, Verdict, look

DESIGN = Design.of(share=0.1, margin=0.02, handoff_margin=0.02, thumbs_down_margin=0.02, alpha_promote=0.05,
                alpha_rollback=0.05, alpha_guards=0.01, max_days=28)


def customers(n: int, resolved: float, handoff: float = 0.0, thumbs_down: float = 0.0, answers: int = 1) -> Tallies:
    """`n` customers with `answers` decided answers each, in the given shares (rounded per arm, spread evenly)."""
    rows = np.zeros((n, 4), dtype=int)
    rows[:, 0] = answers
    total = n * answers
    flat = np.zeros(total, dtype=int)  # 0 rephrased, 1 resolved, 2 handoff, 3 thumbs_down
    counts = [round(resolved * total), round(handoff * total), round(thumbs_down * total)]
    flat[:counts[0]] = 1
    flat[counts[0]:counts[0] + counts[1]] = 2
    flat[counts[0] + counts[1]:sum(counts)] = 3
    np.random.default_rng(n).shuffle(flat)
    per_customer = flat.reshape(n, answers)
    for column, code in ((1, 1), (2, 2), (3, 3)):
        rows[:, column] = (per_customer == code).sum(axis=1)
    return Tallies.from_rows(rows)


def test_customers_without_a_decided_answer_are_left_out():
    tallies = Tallies.from_rows([(0, 0, 0, 0), (2, 1, 0, 1), (1, 1, 0, 0)])
    assert tallies.customers == 2


def test_the_rate_is_answers_over_answers_and_its_error_comes_from_customers():
    one_each = customers(400, 0.8)
    rate = Rate.of(one_each.counts[Measure.RESOLVED], one_each.decided)
    assert rate.mean == pytest.approx(0.8)
    assert rate.se == pytest.approx(math.sqrt(0.8 * 0.2 / 399), rel=1e-6)  # one answer each: the Bernoulli error
    # the same answers, but each customer's all alike: 100 customers of 4 answers carry 100 customers' evidence
    alike = Tallies.from_rows([(4, 4, 0, 0)] * 80 + [(4, 0, 0, 0)] * 20)
    clustered = Rate.of(alike.counts[Measure.RESOLVED], alike.decided)
    assert clustered.mean == pytest.approx(0.8) and clustered.se == pytest.approx(math.sqrt(0.8 * 0.2 / 99), rel=1e-6)


def test_too_few_customers_in_an_arm_decide_nothing_however_large_the_difference():
    seen = look(DESIGN, 20, customers(500, 0.9), customers(MIN_CUSTOMERS - 1, 0.1))
    assert seen.verdict == Verdict.CONTINUE and "fewer than" in seen.reason


def test_a_clearly_worse_candidate_is_rolled_back():
    seen = look(DESIGN, 14, customers(3000, 0.80), customers(400, 0.65))
    assert seen.verdict == Verdict.ROLLBACK and "resolves fewer" in seen.reason
    assert seen.interval()[1] < 0  # the upper end of the sequential interval is below 0


def test_a_candidate_not_worse_than_the_margin_is_promoted():
    seen = look(DESIGN, 14, customers(3000, 0.80), customers(400, 0.86))
    assert seen.verdict == Verdict.PROMOTE and "not worse" in seen.reason
    assert seen.interval()[0] > -DESIGN.margin


def test_a_guard_rolls_back_a_candidate_that_resolves_as_much_but_hands_over_more():
    seen = look(DESIGN, 14, customers(3000, 0.80, handoff=0.05), customers(400, 0.80, handoff=0.20))
    assert seen.verdict == Verdict.ROLLBACK and "handoff rate is worse by more than 2 points" in seen.reason


def test_harm_is_checked_before_promotion():
    """Resolving as much (promotable) while 👎 rises far beyond its margin: rolled back."""
    seen = look(DESIGN, 20, customers(3000, 0.80, thumbs_down=0.02), customers(800, 0.80, thumbs_down=0.15))
    assert seen.verdict == Verdict.ROLLBACK and "thumbs down" in seen.reason


def test_early_nights_cannot_decide_what_later_nights_would():
    """The same evidence: night 1 spends no alpha, night 20 does."""
    live, candidate = customers(3000, 0.80), customers(400, 0.74)
    assert look(DESIGN, 1, live, candidate).verdict == Verdict.CONTINUE
    assert look(DESIGN, 20, live, candidate).verdict == Verdict.ROLLBACK


def test_the_last_night_without_a_decision_expires_and_keeps_the_live_model():
    live, candidate = customers(3000, 0.80), customers(300, 0.79)
    assert look(DESIGN, 27, live, candidate).verdict == Verdict.CONTINUE
    last = look(DESIGN, 28, live, candidate)
    assert last.verdict == Verdict.EXPIRE and "live model stays" in last.reason
    assert look(DESIGN, 31, live, candidate).verdict == Verdict.EXPIRE  # a night missed at the end: still over


def test_identical_arms_with_no_spread_neither_divide_by_zero_nor_decide():
    every_one = Tallies.from_rows([(1, 1, 0, 0)] * 50)
    seen = look(DESIGN, 28, every_one, every_one)
    assert seen.estimates[Measure.RESOLVED].z() == 0
    assert seen.verdict == Verdict.PROMOTE  # zero difference, zero error: not worse than the margin
