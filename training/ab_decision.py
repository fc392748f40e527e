"""The nightly look at an A/B test: promote the candidate, roll it back, keep testing, or give up.

**What is measured, per customer.** Customers, not messages, are assigned to an arm (training/assignment.py),
so the customer is the unit of analysis: one customer's answers are not independent (someone whose first
answer was wrong writes again, and often fails again), and counting answers as independent trials would
overstate what we know. An arm's rate of a measure (`resolved`, and the guards `handoff` and `thumbs_down`)
is the share of its decided answers that ended that way, Σ count / Σ decided over its customers
(storage/outcomes.py decides each answer), which is the resolved rate the outcomes define. Its variance
comes from the customers, by the delta method for a ratio of means (Deng, Knoblich & Lu, "Applying the
Delta Method in Metric Analytics", KDD 2018): each customer becomes one number, u_i = (x_i − R·n_i) / n̄,
their answers of that kind beyond what the arm's rate R predicts for their n_i answers (n̄ the arm's mean
answers per customer), and Var(R) ≈ s²_u / customers. Customers are independent, so this is right however
their answers depend on each other.

Tried first: the mean of each customer's share (one number per customer, every customer weighing the
same). In the simulation (bench/ab_simulation.py) it compressed a failing conversation (wrong, rephrased,
right: a share of 1/2) and rolled back a candidate 5 points worse in only 74.5% of 200 runs, against 95%
wanted (bench/experiments/ab_design.jsonl, `customer_mean`); the ratio keeps every answer's weight.

**The statistic.** The difference of the arms' rates over Welch's standard error √(se²_c + se²_l), as a
z statistic: with the tens of customers a night brings, the ratio is close to normal whatever the shape
of the per-customer numbers. A two-proportion test (statsmodels' `test_proportions_2indep`) would take
answers as independent Bernoulli trials, which they are not within a customer.

**The decision** at night k of at most `max_days` (training/sequential.py gives each night's boundary
b_k: O'Brien–Fleming-type alpha spending, so nightly looks do not inflate false decisions):

- *roll back* when the candidate's resolved rate is worse: (r_c − r_l) / se ≤ −b_k at `alpha_rollback`,
  or a guard (handoff or 👎 rate) is worse beyond its margin: (g_c − g_l − margin_g) / se_g ≥ b_k at
  `alpha_guards` each. Checked first: harm stops a test before anything else.
- *promote* when the candidate is not worse than live by more than `margin` (non-inferiority):
  (r_c − r_l + margin) / se ≥ b_k at `alpha_promote`.
- *expire* at `max_days` without either: the live model is kept.

Equivalently, with the sequential interval [d − b_P·se, d + b_R·se] around the difference d: promote once
its lower end is above −margin, roll back once its upper end is below 0. That interval is what /ab shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Any

import numpy as np

from training.config import PromotionSettings

MIN_CUSTOMERS = 20  # per arm with a decided outcome before any verdict: fewer, and the normal approximation is not trusted


class Verdict(StrEnum):
    """What a look decides."""

    CONTINUE = "continue"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    EXPIRE = "expire"  # max_days without a decision: the live model is kept


class Measure(StrEnum):
    """A per-customer share: the primary measure and the two guards (lower is better for the guards)."""

    RESOLVED = "resolved"
    HANDOFF = "handoff"
    THUMBS_DOWN = "thumbs_down"


GUARDS = (Measure.HANDOFF, Measure.THUMBS_DOWN)
BOUNDED = ("promote", "rollback", "guards")  # the three one-sided tests, each with its alpha and boundaries


@dataclass(frozen=True)
class Design:
    """A test's rules, boundaries included, fixed when it starts and stored with it: editing config.toml
    mid-test changes nothing, and the bot's nightly look needs no statistics library (training/sequential.py
    computes the boundaries with scipy, in the training process that starts the test)."""

    share: float
    margin: float
    handoff_margin: float
    thumbs_down_margin: float
    alpha_promote: float
    alpha_rollback: float
    alpha_guards: float
    max_days: int
    bounds: dict[str, list[float]]  # per test (promote, rollback, guards), its z boundary of each night

    @classmethod
    def of(cls, **rules: Any) -> Design:
        """A design from its rules (every field but `bounds`), its boundaries computed."""
        from training.sequential import boundaries  # scipy: where a test is designed, never in the bot process

        bounds = {test: list(boundaries(rules[f"alpha_{test}"], rules["max_days"])) for test in BOUNDED}
        return cls(**rules, bounds=bounds)

    @classmethod
    def from_settings(cls, p: PromotionSettings) -> Design:
        return cls.of(share=p.canary_share, margin=p.ab_margin, handoff_margin=p.ab_handoff_margin,
                      thumbs_down_margin=p.ab_thumbs_down_margin, alpha_promote=p.ab_alpha_promote,
                      alpha_rollback=p.ab_alpha_rollback, alpha_guards=p.ab_alpha_guards, max_days=p.ab_max_days)

    def rules(self) -> dict:
        """Every field but the boundaries, which follow from them."""
        return {k: v for k, v in asdict(self).items() if k != "bounds"}

    def as_dict(self) -> dict:
        return asdict(self)

    def guard_margin(self, measure: Measure) -> float:
        return self.handoff_margin if measure == Measure.HANDOFF else self.thumbs_down_margin


@dataclass(frozen=True)
class Tallies:
    """One arm's customers: decided outcomes each, and how many of them ended as each measure."""

    decided: np.ndarray
    counts: dict[Measure, np.ndarray]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]] | np.ndarray) -> Tallies:
        """From (decided, resolved, handoff, thumbs_down) per customer; customers with nothing decided are left out."""
        table = np.asarray(rows, dtype=float).reshape(-1, 4)
        table = table[table[:, 0] > 0]
        return cls(table[:, 0], dict(zip(Measure, (table[:, 1], table[:, 2], table[:, 3]))))

    @property
    def customers(self) -> int:
        return len(self.decided)


@dataclass(frozen=True)
class Rate:
    """One arm's rate of a measure and its standard error, customers as the unit (the delta method)."""

    mean: float
    se: float

    @classmethod
    def of(cls, counts: np.ndarray, decided: np.ndarray) -> Rate:
        n = len(decided)
        if n < 2:
            return cls(float(counts.sum() / decided.sum()) if n else math.nan, math.nan)
        rate = float(counts.sum() / decided.sum())
        per_customer = (counts - rate * decided) / decided.mean()
        return cls(rate, float(per_customer.std(ddof=1) / math.sqrt(n)))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        half = NormalDist().inv_cdf((1 + level) / 2) * self.se
        return self.mean - half, self.mean + half


@dataclass(frozen=True)
class Estimate:
    """Candidate against live on one measure: each arm's rate and the difference (candidate − live)."""

    live: Rate
    candidate: Rate

    @property
    def diff(self) -> float:
        return self.candidate.mean - self.live.mean

    @property
    def se(self) -> float:
        """Welch's standard error of the difference."""
        return math.hypot(self.live.se, self.candidate.se)

    def z(self, shift: float = 0.0) -> float:
        """(diff − shift) / se; ±inf when every customer of both arms had the same share and they differ."""
        gap = self.diff - shift
        if self.se > 0:
            return gap / self.se
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)


@dataclass(frozen=True)
class Look:
    """One night's look: the verdict, why, and the figures it was made on."""

    day: int
    verdict: Verdict
    reason: str
    customers: tuple[int, int]  # (live, candidate) with a decided outcome
    estimates: dict[Measure, Estimate]
    bounds: dict[str, float]  # the z boundaries of this night: promote, rollback, guards

    def interval(self) -> tuple[float, float]:
        """The sequential interval of the resolved-rate difference: promote above −margin, roll back below 0."""
        e = self.estimates[Measure.RESOLVED]
        return e.diff - self.bounds["promote"] * e.se, e.diff + self.bounds["rollback"] * e.se


def night_bounds(design: Design, day: int) -> dict[str, float]:
    """Each test's z boundary at night `day` (1-based; capped at max_days)."""
    k = min(max(day, 1), design.max_days) - 1
    return {test: design.bounds[test][k] for test in BOUNDED}


def look(design: Design, day: int, live: Tallies, candidate: Tallies) -> Look:
    """The verdict of night `day` on the outcomes so far."""
    estimates = {m: Estimate(Rate.of(live.counts[m], live.decided), Rate.of(candidate.counts[m], candidate.decided))
                 for m in Measure}
    bounds = night_bounds(design, day)
    customers = (live.customers, candidate.customers)
    verdict, reason = _verdict(design, day, estimates, bounds, customers)
    return Look(day, verdict, reason, customers, estimates, bounds)


def _verdict(design: Design, day: int, estimates: dict[Measure, Estimate], bounds: dict[str, float],
             customers: tuple[int, int]) -> tuple[Verdict, str]:
    if min(customers) >= MIN_CUSTOMERS:
        resolved = estimates[Measure.RESOLVED]
        if resolved.z() <= -bounds["rollback"]:
            return Verdict.ROLLBACK, f"the candidate resolves fewer customers' questions ({_points(resolved.diff)})"
        for guard in GUARDS:
            margin = design.guard_margin(guard)
            if estimates[guard].z(margin) >= bounds["guards"]:
                return Verdict.ROLLBACK, (f"the candidate's {guard.replace('_', ' ')} rate is worse by more than "
                                          f"{100 * margin:g} points ({_points(estimates[guard].diff)})")
        if resolved.z(-design.margin) >= bounds["promote"]:
            return Verdict.PROMOTE, (f"the candidate is not worse than live by more than {100 * design.margin:g} points "
                                     f"({_points(resolved.diff)})")
    if day >= design.max_days:
        return Verdict.EXPIRE, f"no decision after {design.max_days} days: the live model stays"
    if min(customers) < MIN_CUSTOMERS:
        return Verdict.CONTINUE, f"fewer than {MIN_CUSTOMERS} customers with an outcome in an arm"
    return Verdict.CONTINUE, "no boundary crossed yet"


def _points(diff: float) -> str:
    return f"{100 * diff:+.1f} points"
