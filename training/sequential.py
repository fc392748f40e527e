"""Stopping boundaries of a group-sequential test: O'Brien–Fleming-type alpha spending (Lan–DeMets).

An A/B test of a candidate model is looked at every night for up to K nights. Testing each night at a
fixed 5% would decide falsely far more often than 5% of the time (every look is another chance); a
group-sequential test spends its alpha over the looks instead, so that the chance of ever crossing the
boundary under the null hypothesis is alpha, whenever the crossing happens.

- **Spending function** (Lan & DeMets 1983, O'Brien–Fleming type), one-sided:
  α(t) = 2 · (1 − Φ(z_{1−α/2} / √t)) at information fraction t ∈ (0, 1]. Early looks spend almost
  nothing (a test stops in its first nights only on overwhelming evidence), the last look gets nearly the
  whole alpha, so the final boundary is close to a fixed-sample test's and little power is lost.
- **Looks** are nights 1..K and information grows with the days: t_k = k / K. A night without a look (the
  bot was down) simply spends its share unused, which keeps the test valid (conservative).
- **Boundaries** b_k solve P(Z_1 < b_1, …, Z_{k−1} < b_{k−1}, Z_k ≥ b_k) = α(t_k) − α(t_{k−1}) under
  H0, where Z_k = S_k / √k and the score S_k has independent N(0, 1) increments per night. The joint law
  is a multivariate normal with corr(Z_i, Z_j) = √(i/j); its K-dimensional CDF (scipy's
  `multivariate_normal.cdf`, Genz's quasi-Monte Carlo) is slow and noisy at K = 28, so the
  probabilities are computed instead by the Armitage–McPherson–Rowe recursion (Jennison & Turnbull,
  *Group Sequential Methods*, ch. 19): the density of S_k on the paths that have not stopped, carried
  from look to look on a grid by convolving with `scipy.stats.norm`'s density, each b_k found with
  `scipy.optimize.brentq`. tests/test_ab_boundaries.py checks it against `multivariate_normal` for a
  few looks and against published O'Brien–Fleming values.

Nothing here knows about models or customers: training/ab_decision.py turns outcomes into the Z statistic.
Boundaries are computed once, when a test is designed (`Design.of`, in the training process that starts it),
and stored with the test: the bot process that looks at it every night never imports scipy.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

GRID_STEP = 0.05  # of the score's scale, where one night adds a standard deviation of 1: trapezoid error ~1e-4
GRID_SDS = 8.0  # the grid reaches 8 standard deviations of S_k below the boundary (the density there is < 1e-15)
NEGLIGIBLE = 1e-15  # a look that may spend less than this gets no finite boundary


def spent(t: float, alpha: float) -> float:
    """Alpha spent up to information fraction `t`: the O'Brien–Fleming-type function of Lan and DeMets."""
    if t <= 0:
        return 0.0
    return float(2 * norm.sf(norm.isf(alpha / 2) / np.sqrt(min(t, 1.0))))


@lru_cache(maxsize=64)
def boundaries(alpha: float, looks: int) -> tuple[float, ...]:
    """The upper z boundary of each of `looks` equally spaced looks of a one-sided test at level `alpha`.

    Look k rejects H0 when Z_k ≥ boundaries[k − 1]; a look allowed to spend (almost) nothing gets +inf.
    """
    if not 0 < alpha < 1 or looks < 1:
        raise ValueError(f"alpha must be in (0, 1) and looks at least 1, got {alpha}, {looks}")
    running = _Paths(top=0.0, mass=np.ones(1))  # before the first night, S_0 = 0
    found, previous = [], 0.0
    for k in range(1, looks + 1):
        target = spent(k / looks, alpha) - previous
        previous += target
        bound = _solve(running, k, target)
        found.append(bound)
        running = running.after_night(min(bound * np.sqrt(k), GRID_SDS * np.sqrt(k)), k)
    return tuple(found)


class _Paths:
    """The paths of the score that have not crossed yet: their density times trapezoid weights (`mass`) on
    the points top, top − h, top − 2h, … (h = GRID_STEP)."""

    def __init__(self, top: float, mass: np.ndarray) -> None:
        self.top, self.mass = top, mass
        self.points = top - GRID_STEP * np.arange(len(mass))

    def crossing(self, score: float) -> float:
        """P(not stopped yet, and next night's score ≥ `score`): one N(0, 1) increment away."""
        return float(self.mass @ norm.sf(score - self.points))

    def after_night(self, top: float, k: int) -> _Paths:
        """The running paths after night k, cut at `top` (the boundary, on the score's scale).

        The density at s is Σ_j mass_j φ(s − u_j); on equally spaced points s − u_j depends on i − j only
        (a Toeplitz matrix), so it is one correlation of the mass with a kernel, never a full matrix.
        """
        n = int((top + GRID_SDS * np.sqrt(k)) / GRID_STEP) + 1
        shift = top - self.top
        kernel = norm.pdf(shift + GRID_STEP * np.arange(-(n - 1), len(self.mass)))
        density = np.correlate(kernel, self.mass, mode="valid")[::-1]
        weights = np.full(n, GRID_STEP)
        weights[[0, -1]] /= 2
        return _Paths(top, density * weights)


def _solve(running: _Paths, k: int, target: float) -> float:
    """The z boundary at look k whose crossing probability, on the paths still running, is `target`."""
    if target < NEGLIGIBLE:
        return float("inf")
    root_k = np.sqrt(k)
    upper = running.top + GRID_SDS + 1
    return float(brentq(lambda b: running.crossing(b * root_k) - target, 0.0, upper / root_k, xtol=1e-7))
