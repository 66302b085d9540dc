"""Statistics over timing samples: pure functions, no I/O.

Benchmark samples are skewed (interrupts and frequency changes only ever make a sample slower),
so the summaries centre on the median and the quartiles, and the intervals and the significance
test are distribution-free.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

__all__ = [
    "MIN_SAMPLES_FOR_TEST",
    "ConfidenceInterval",
    "MannWhitney",
    "summarize",
    "median_ci",
    "bootstrap_ci",
    "mann_whitney",
    "geometric_mean",
]

# Below this many samples per side the Mann-Whitney U test cannot reach p < 0.05 reliably
# (with 4 vs 4 the smallest two-sided p is 0.029, and any tie wipes that out).
MIN_SAMPLES_FOR_TEST = 5


class ConfidenceInterval(NamedTuple):
    """An interval [low, high] for a statistic and the coverage it actually achieves."""

    low: float
    high: float
    confidence: float


class MannWhitney(NamedTuple):
    """Result of a two-sided Mann-Whitney U test."""

    p_value: float
    statistic: float
    enough_samples: bool


def _as_samples(samples, what: str = "samples") -> np.ndarray:
    """A 1-D float64 copy of `samples`; ValueError when empty or not finite (a caller bug)."""
    a = np.asarray(samples, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{what}: need at least one sample")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what}: samples must be finite numbers")
    return a


def summarize(samples) -> dict:
    """Median, min, max, mean, stdev, quartiles, IQR, relative spread (IQR / median) and n.

    Quartiles use numpy's default (linear) interpolation. `stdev` is the sample standard
    deviation (ddof=1), 0.0 for a single sample. `rel_spread` is NaN when the median is 0.
    """
    a = _as_samples(samples)
    q1, median, q3 = (float(v) for v in np.percentile(a, [25.0, 50.0, 75.0]))
    iqr = q3 - q1
    return {
        "median": median,
        "min": float(a.min()),
        "max": float(a.max()),
        "mean": float(a.mean()),
        "stdev": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "q1": q1,
        "q3": q3,
        "iqr": iqr,
        "rel_spread": iqr / median if median != 0 else math.nan,
        "n": int(a.size),
    }


def _binom_half_cdf(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2), exact (n is small: it counts samples)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return math.fsum(math.comb(n, i) for i in range(k + 1)) / 2.0**n


def median_ci(samples, confidence: float = 0.95) -> ConfidenceInterval:
    """Distribution-free confidence interval of the median from order statistics.

    Returns the narrowest symmetric interval [x_(j), x_(n+1-j)] whose exact binomial coverage
    is at least `confidence`. With few samples no such interval exists (n=5 reaches at most
    93.75%); then the interval is [min, max] and `confidence` reports the coverage it really has,
    so callers can tell the user rather than overstate it.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a = np.sort(_as_samples(samples))
    n = a.size
    # Coverage of [x_(j), x_(n+1-j)] (1-based) is P(j <= B <= n-j) = 1 - 2 P(B <= j-1).
    best_j, best_cov = 1, 1.0 - 2.0 * _binom_half_cdf(0, n)
    for j in range(2, n // 2 + 1):
        cov = 1.0 - 2.0 * _binom_half_cdf(j - 1, n)
        if cov < confidence:
            break
        best_j, best_cov = j, cov
    if n == 1:
        best_cov = 0.0  # one sample says nothing about the spread
    return ConfidenceInterval(float(a[best_j - 1]), float(a[n - best_j]), float(best_cov))


def bootstrap_ci(
    samples,
    confidence: float = 0.95,
    seed: int = 0,
    resamples: int = 2000,
    statistic=np.median,
) -> ConfidenceInterval:
    """Percentile bootstrap confidence interval of `statistic` (default: the median).

    Seeded so that a report rebuilt from the same result file shows the same interval.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    a = _as_samples(samples)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(resamples, a.size))
    stats = np.asarray(statistic(a[idx], axis=1), dtype=np.float64)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return ConfidenceInterval(float(low), float(high), float(confidence))


def mann_whitney(a, b) -> MannWhitney:
    """Two-sided Mann-Whitney U test of whether samples `a` and `b` come from one distribution.

    `enough_samples` is False when either side has fewer than MIN_SAMPLES_FOR_TEST samples: the
    p-value is still computed, but callers should not call a difference significant on it.
    When every sample on both sides is identical the test is undefined; p is then 1.0.
    """
    from scipy.stats import mannwhitneyu  # scipy is slow to import; only this needs it

    x = _as_samples(a, "a")
    y = _as_samples(b, "b")
    enough = x.size >= MIN_SAMPLES_FOR_TEST and y.size >= MIN_SAMPLES_FOR_TEST
    if np.all(x == x[0]) and np.all(y == x[0]):
        return MannWhitney(1.0, float(x.size * y.size) / 2.0, enough)
    res = mannwhitneyu(x, y, alternative="two-sided")
    p = float(res.pvalue)
    if math.isnan(p):
        p = 1.0
    return MannWhitney(p, float(res.statistic), enough)


def geometric_mean(ratios: Sequence[float] | np.ndarray) -> float:
    """Geometric mean of positive ratios (the right average for speedups)."""
    r = _as_samples(ratios, "ratios")
    if np.any(r <= 0):
        raise ValueError("ratios: geometric mean needs positive values")
    return float(np.exp(np.mean(np.log(r))))
