"""The group-sequential boundaries: the spending function, published values, the joint normal law, and the
alpha they keep when a test is looked at every night."""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from training.sequential import boundaries, spent


@pytest.mark.parametrize("alpha, looks", [(0, 5), (1, 5), (-0.1, 5), (0.05, 0)])
def test_an_alpha_outside_zero_and_one_or_no_looks_is_refused(alpha, looks):
    with pytest.raises(ValueError, match="alpha must be in"):
        boundaries(alpha, looks)


def test_the_spending_function_spends_nothing_at_the_start_alpha_at_the_end_and_grows_in_between():
    alpha = 0.05
    assert spent(0, alpha) == 0 and spent(1, alpha) == pytest.approx(alpha)
    assert spent(0.5, alpha) == pytest.approx(2 * norm.sf(norm.isf(alpha / 2) / math.sqrt(0.5)))
    values = [spent(k / 28, alpha) for k in range(1, 29)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[0] < 1e-20  # O'Brien-Fleming: the first night spends practically nothing


def test_five_looks_match_the_published_lan_demets_obrien_fleming_boundaries():
    """gsDesign's sfLDOF, one-sided alpha 0.025, five equally spaced looks (Jennison & Turnbull's Table 2.x)."""
    assert boundaries(0.025, 5) == pytest.approx((4.877, 3.357, 2.680, 2.290, 2.031), abs=2e-3)


def test_each_look_spends_its_share_of_alpha_under_the_joint_normal_law():
    """Three looks: P(cross first at look k) from scipy's multivariate normal equals the spending increment."""
    alpha, k = 0.05, 3
    b = boundaries(alpha, k)
    cov = np.array([[math.sqrt(min(i, j) / max(i, j)) for j in range(1, k + 1)] for i in range(1, k + 1)])
    below = [multivariate_normal(np.zeros(n), cov[:n, :n]).cdf(np.array(b[:n])) for n in range(1, k + 1)]
    crossed_by = [1 - p for p in below]
    for n in range(k):
        assert crossed_by[n] == pytest.approx(spent((n + 1) / k, alpha), abs=2e-4)


def test_twenty_eight_nights_boundaries_fall_night_after_night_and_end_near_a_fixed_tests():
    b = boundaries(0.05, 28)
    finite = [x for x in b if math.isfinite(x)]
    assert b[0] == math.inf and len(finite) >= 26
    assert all(x > y for x, y in zip(finite, finite[1:]))
    assert norm.isf(0.05) < b[-1] < 2.0  # a little above the fixed-sample 1.645: the price of 28 looks


def test_looking_every_night_keeps_the_chance_of_a_false_decision_at_alpha():
    """Under the null hypothesis, 200,000 simulated tests looked at on each of 28 nights."""
    rng = np.random.default_rng(7)
    alpha, nights = 0.05, 28
    paths = np.cumsum(rng.standard_normal((200_000, nights)), axis=1) / np.sqrt(np.arange(1, nights + 1))
    crossed = (paths >= np.array(boundaries(alpha, nights))).any(axis=1).mean()
    assert crossed == pytest.approx(alpha, abs=0.003)
    naive = (paths >= norm.isf(alpha)).any(axis=1).mean()  # each night at a fixed 5%
    assert naive > 3 * alpha
