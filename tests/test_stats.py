import math

import numpy as np
import pytest

from softbench.bench import stats


def test_summarize_known_values():
    s = stats.summarize(np.array([5.0, 1.0, 3.0, 2.0, 4.0]))
    assert s["median"] == 3.0
    assert s["min"] == 1.0 and s["max"] == 5.0
    assert s["mean"] == 3.0
    assert s["stdev"] == pytest.approx(math.sqrt(2.5))
    assert s["q1"] == 2.0 and s["q3"] == 4.0
    assert s["iqr"] == 2.0
    assert s["rel_spread"] == pytest.approx(2.0 / 3.0)
    assert s["n"] == 5
    assert all(type(v) in (float, int) for v in s.values())  # JSON-able, not numpy scalars


def test_summarize_single_sample_and_zero_median():
    s = stats.summarize([7])
    assert s["median"] == 7.0 and s["stdev"] == 0.0 and s["iqr"] == 0.0 and s["n"] == 1
    assert math.isnan(stats.summarize([0.0, 0.0, 0.0])["rel_spread"])


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, float("inf")]])
def test_summarize_rejects_empty_or_non_finite(bad):
    with pytest.raises(ValueError):
        stats.summarize(bad)


def test_median_ci_order_statistics():
    # n=9: the classic 96.1% interval is [x_(2), x_(8)].
    ci = stats.median_ci(np.arange(1.0, 10.0))
    assert (ci.low, ci.high) == (2.0, 8.0)
    assert ci.confidence == pytest.approx(1 - 2 * 10 / 512)
    # n=5 cannot reach 95%: [min, max] with its true coverage.
    ci5 = stats.median_ci([3.0, 1.0, 2.0, 5.0, 4.0])
    assert (ci5.low, ci5.high) == (1.0, 5.0)
    assert ci5.confidence == pytest.approx(0.9375)
    # The interval always contains the median.
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=50)
    ci50 = stats.median_ci(x)
    assert ci50.low <= np.median(x) <= ci50.high and ci50.confidence >= 0.95


def test_bootstrap_ci_is_seeded_and_contains_median():
    rng = np.random.default_rng(2)
    x = rng.normal(100.0, 5.0, size=30)
    a = stats.bootstrap_ci(x, seed=3)
    b = stats.bootstrap_ci(x, seed=3)
    assert a == b
    assert a.low <= np.median(x) <= a.high
    assert a.confidence == 0.95
    with pytest.raises(ValueError):
        stats.bootstrap_ci(x, confidence=1.5)


def test_mann_whitney_separates_distinct_samples():
    a = [10.0, 10.1, 10.2, 10.05, 10.15, 10.12, 10.08]
    b = [12.0, 12.1, 12.2, 12.05, 12.15, 12.12, 12.08]
    r = stats.mann_whitney(a, b)
    assert r.p_value < 0.01 and r.enough_samples


def test_mann_whitney_same_distribution_and_identical_samples():
    r = stats.mann_whitney([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.5, 3.5, 4.5, 5.5])
    assert r.p_value > 0.3
    same = stats.mann_whitney([2.0] * 6, [2.0] * 6)
    assert same.p_value == 1.0 and same.enough_samples


def test_mann_whitney_flags_too_few_samples():
    r = stats.mann_whitney([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0])
    assert not r.enough_samples
    assert 0.0 <= r.p_value <= 1.0


def test_geometric_mean():
    assert stats.geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert stats.geometric_mean(np.array([1.25])) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        stats.geometric_mean([1.0, 0.0])
    with pytest.raises(ValueError):
        stats.geometric_mean([])
