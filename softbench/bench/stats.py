"""Statistics over timing samples: pure functions, no I/O.

Benchmark samples are skewed (interrupts and frequency changes only ever make a sample slower),
so the summaries centre on the median and the quartiles, and the intervals and the significance
test are distribution-free.
"""

from __future__ import annotations

import math
from functools import lru_cache
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
    "RatioEstimate",
    "ratio_estimate",
    "CORRECTIONS",
    "adjust_p_values",
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
    # exact p-values for small samples without ties: the normal approximation's smallest p for 9
    # vs 9 samples is ~10x the exact one, too coarse once corrected for many points
    small = x.size * y.size <= _EXACT_LIMIT and np.unique(np.concatenate([x, y])).size == x.size + y.size
    res = mannwhitneyu(x, y, alternative="two-sided", method="exact" if small else "asymptotic")
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


# --- the ratio of two sets of timings, and many points at once ---------------------------------


class RatioEstimate(NamedTuple):
    """Hodges-Lehmann estimate of the time ratio candidate / baseline with its distribution-free
    interval: the median, and order statistics, of the m*n pairwise ratios b_j / a_i. `confidence`
    is the coverage the interval really has (below the one asked for with very few samples)."""

    ratio: float
    low: float
    high: float
    confidence: float


@lru_cache(maxsize=256)
def _u_lower_tail(m: int, n: int) -> tuple[float, ...]:
    """P(U <= u) for u = 0 .. m*n//2 under the null, U the Mann-Whitney statistic of samples of
    m and n without ties: exact counts (coefficients of the Gaussian binomial [m+n, m]_q)."""
    top = m * n // 2
    counts = [1] + [0] * top  # the polynomial, truncated to degree top
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i)), then divide by (1 - q^i): a running sum with stride i
        shift = n + i
        for u in range(top, shift - 1, -1):
            counts[u] -= counts[u - shift]
        for u in range(i, top + 1):
            counts[u] += counts[u - i]
    total = math.comb(m + n, m)
    out, acc = [], 0
    for c in counts:
        acc += c
        out.append(acc / total)
    return tuple(out)


_EXACT_LIMIT = 2500  # m*n up to this: exact null distribution; beyond, the normal approximation


def _order_index(m: int, n: int, confidence: float) -> tuple[int, float]:
    """(k, coverage): the interval [d_(k), d_(mn+1-k)] (1-based) of the sorted pairwise
    differences covers the shift with probability `coverage` >= confidence, k as large as that
    allows (k >= 1; with too few samples coverage is then below confidence)."""
    alpha = 1.0 - confidence
    if m * n <= _EXACT_LIMIT:
        tail = _u_lower_tail(m, n)
        k = 1
        while k < len(tail) and tail[k] <= alpha / 2:  # P(U <= k) <= alpha/2: d_(k+1) still covers
            k += 1
        return k, 1.0 - 2.0 * tail[k - 1]
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1.0 - alpha / 2)
    k = max(1, int(math.floor(m * n / 2.0 - z * math.sqrt(m * n * (m + n + 1) / 12.0))))
    return k, confidence


def ratio_estimate(baseline, candidate, confidence: float = 0.95) -> RatioEstimate:
    """Hodges-Lehmann ratio candidate / baseline of positive timings, with its interval.

    Computed on logarithms, so the estimate is a ratio and the interval is not skewed by the
    direction of the comparison: ratio_estimate(b, a) is the inverse of ratio_estimate(a, b)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a = _as_samples(baseline, "baseline")
    b = _as_samples(candidate, "candidate")
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("timings must be positive")
    d = np.sort((np.log(b)[None, :] - np.log(a)[:, None]).ravel())
    k, coverage = _order_index(a.size, b.size, confidence)
    k = min(k, d.size)
    return RatioEstimate(
        float(np.exp(np.median(d))), float(np.exp(d[k - 1])), float(np.exp(d[d.size - k])), float(coverage)
    )


CORRECTIONS = ("holm", "bh", "none")


def adjust_p_values(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """p-values adjusted for testing many points at once, in the input's order.

    "holm": Holm's step-down (the chance of calling any unchanged point changed stays <= alpha);
    "bh": Benjamini-Hochberg (the expected share of false calls among the calls stays <= alpha);
    "none": as they are."""
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {method!r}")
    p = [float(x) for x in p_values]
    m = len(p)
    if method == "none" or m == 0:
        return p
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    if method == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[i]))
            out[i] = running
    else:
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, m * p[i] / (rank + 1))
            out[i] = min(1.0, running)
    return out
