"""Same machine (run B against baseline run A on one box, e.g. before/after a change): per
(algorithm, isa, n, threads, variant) the ratio of the median time per element (B / A; above 1
means B is slower), a two-sided Mann-Whitney U test on the raw per-element samples, and a
geometric mean of the ratios per algorithm. `regressions()` applies a CI threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from softbench.analysis.machines import check_files, file_labels, file_notes, machine_name, same_machine
from softbench.analysis.points import index_points, per_element_samples, point_text
from softbench.analysis.summaries import geomean_or_none
from softbench.bench import stats
from softbench.errors import InputError
from softbench.results.naming import ALGORITHM_ORDER, order_key, sort_key
from softbench.results.schema import ResultFile


DEFAULT_ALPHA = 0.05


@dataclass
class PointComparison:
    algorithm: str
    isa: str
    n: int
    threads: int
    variant: str | None
    regime: str
    baseline_ns_per_element: float  # median of the raw per-element samples
    candidate_ns_per_element: float
    ratio: float  # candidate / baseline time: > 1 means the candidate is slower
    change_pct: float  # (ratio - 1) * 100
    p_value: float  # two-sided Mann-Whitney U on the per-element samples
    baseline_samples: int
    candidate_samples: int
    enough_samples: bool  # both sides have >= stats.MIN_SAMPLES_FOR_TEST samples
    significant: bool  # enough_samples and p_adjusted < alpha
    verdict: str  # "slower", "faster", "no change" (not significant) or "untested" (too few samples)
    rows: int = 1  # > 1: a batch of rows of n / rows
    # Hodges-Lehmann estimate of the time ratio (median of the pairwise ratios) and its
    # distribution-free interval of coverage ci_confidence (stats.ratio_estimate)
    hl_ratio: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    tile: str | None = None  # None: the ISA's default tile
    ci_confidence: float = math.nan
    # p_value adjusted for the number of points of the pair (PairComparison.correction)
    p_adjusted: float = math.nan
    # the interval at the Bonferroni level 1 - (1 - confidence) / points: all of them hold at once
    simultaneous_low: float = math.nan
    simultaneous_high: float = math.nan


@dataclass
class AlgorithmGeomean:
    algorithm: str
    geomean_ratio: float  # geometric mean of the candidate/baseline time ratios
    change_pct: float
    points: int
    slower: int  # significant slowdowns
    faster: int  # significant speedups
    untested: int


@dataclass
class PairComparison:
    baseline: str  # label
    candidate: str
    points: list[PointComparison]
    geomeans: list[AlgorithmGeomean]
    overall_geomean_ratio: float | None
    only_in_baseline: list[str]
    only_in_candidate: list[str]
    correction: str = "holm"
    # every point's ratio lies within 1 +- bound_pct / 100 (simultaneous 95% intervals); None: no points
    bound_pct: float | None = None


@dataclass
class SameMachineComparison:
    kind: str  # "same-machine"
    machine: str
    files: list[str]  # labels, baseline first
    paths: list[str]
    alpha: float
    min_samples: int
    pairs: list[PairComparison]  # every later file against the first
    notes: list[str]


CONFIDENCE = 0.95


def _compare_pair(base: ResultFile, cand: ResultFile, labels: tuple[str, str], alpha: float, notes: list[str],
                  correction: str = "holm") -> PairComparison:  # fmt: skip
    ia, ib = index_points(base), index_points(cand)
    points = []
    keys = sorted(set(ia) & set(ib), key=lambda k: sort_key(*k))
    tests = {k: stats.mann_whitney(per_element_samples(ia[k]), per_element_samples(ib[k])) for k in keys}
    tested = [k for k in keys if tests[k].enough_samples]
    adjusted = dict(zip(tested, stats.adjust_p_values([tests[k].p_value for k in tested], correction)))
    joint = 1.0 - (1.0 - CONFIDENCE) / max(len(keys), 1)
    for k in keys:
        ra, rb = ia[k], ib[k]
        xa, xb = per_element_samples(ra), per_element_samples(rb)
        ma, mb = float(np.median(xa)), float(np.median(xb))
        ratio = mb / ma if ma > 0 else math.inf
        mw = tests[k]
        p_adj = adjusted.get(k, 1.0)
        est = stats.ratio_estimate(xa, xb, CONFIDENCE)
        sim = stats.ratio_estimate(xa, xb, joint)
        significant = mw.enough_samples and p_adj < alpha
        if not mw.enough_samples:
            verdict = "untested"
        elif not significant:
            verdict = "no change"
        else:
            verdict = "slower" if ratio > 1 else "faster"
        if ra.regime != rb.regime:
            notes.append(
                f"{point_text(k)}: regime {ra.regime} in {labels[0]} but {rb.regime} in {labels[1]} "
                "(the cache sizes recorded differ); the candidate's is shown"
            )
        points.append(PointComparison(
            algorithm=k[0], isa=k[1], n=k[2], threads=k[3], variant=k[4], rows=k[5], tile=k[6], regime=rb.regime,
            baseline_ns_per_element=ma, candidate_ns_per_element=mb, ratio=ratio,
            change_pct=(ratio - 1.0) * 100.0, p_value=mw.p_value,
            baseline_samples=int(xa.size), candidate_samples=int(xb.size),
            enough_samples=mw.enough_samples, significant=significant, verdict=verdict,
            hl_ratio=est.ratio, ci_low=est.low, ci_high=est.high, ci_confidence=est.confidence, p_adjusted=p_adj,
            simultaneous_low=sim.low, simultaneous_high=sim.high,
        ))  # fmt: skip
    untested = [p for p in points if not p.enough_samples]
    if untested:
        fewest = min(min(p.baseline_samples, p.candidate_samples) for p in untested)
        notes.append(
            f"{labels[1]} vs {labels[0]}: {len(untested)} of {len(points)} points have too few samples "
            f"(as few as {fewest}; the rank test needs >= {stats.MIN_SAMPLES_FOR_TEST} per side) and "
            "are marked 'untested'; re-run with 'softbench run --repetitions 9' to test differences"
        )
    geomeans = []
    for alg in sorted({p.algorithm for p in points}, key=lambda a: order_key(a, ALGORITHM_ORDER)):
        ps = [p for p in points if p.algorithm == alg]
        g = geomean_or_none(p.ratio for p in ps)
        geomeans.append(AlgorithmGeomean(
            algorithm=alg, geomean_ratio=g if g is not None else math.nan,
            change_pct=((g - 1.0) * 100.0) if g is not None else math.nan, points=len(ps),
            slower=sum(p.verdict == "slower" for p in ps), faster=sum(p.verdict == "faster" for p in ps),
            untested=sum(p.verdict == "untested" for p in ps),
        ))  # fmt: skip
    only_a = [point_text(k) for k in sorted(set(ia) - set(ib), key=lambda k: sort_key(*k))]
    only_b = [point_text(k) for k in sorted(set(ib) - set(ia), key=lambda k: sort_key(*k))]
    if only_a:
        notes.append(f"{len(only_a)} points only in {labels[0]} (not compared): {_few(only_a)}")
    if only_b:
        notes.append(f"{len(only_b)} points only in {labels[1]} (not compared): {_few(only_b)}")
    if not points:
        notes.append(f"{labels[1]} and {labels[0]} have no point (algorithm, isa, n, threads, shape) in common")
    return PairComparison(
        baseline=labels[0], candidate=labels[1], points=points, geomeans=geomeans,
        overall_geomean_ratio=geomean_or_none(p.ratio for p in points),
        only_in_baseline=only_a, only_in_candidate=only_b, correction=correction,
        bound_pct=max((max(p.simultaneous_high - 1.0, 1.0 - p.simultaneous_low) * 100.0 for p in points), default=None),
    )  # fmt: skip


def _same_file(a: ResultFile, b: ResultFile) -> bool:
    try:
        if a.path.resolve() == b.path.resolve():
            return True
    except OSError:
        pass
    created = a.context.get("created")
    return created is not None and created == b.context.get("created") and [r.samples_ns for r in a.results] == [
        r.samples_ns for r in b.results
    ]


def _few(items: list[str], k: int = 6) -> str:
    return ", ".join(items[:k]) + (f", ... ({len(items) - k} more)" if len(items) > k else "")


def compare_same_machine(files: Sequence[ResultFile], alpha: float = DEFAULT_ALPHA, correction: str = "holm") -> SameMachineComparison:
    """Every file after the first against the first (the baseline). A point is significant when
    its Mann-Whitney p-value, adjusted over the pair's points by `correction` (stats.CORRECTIONS),
    is below alpha."""
    check_files(files)
    if not 0.0 < alpha < 1.0:
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), got {alpha}")
    if correction not in stats.CORRECTIONS:
        raise InputError(f"--correction must be one of {', '.join(stats.CORRECTIONS)}, got {correction!r}")
    labels = file_labels(files)
    notes: list[str] = []
    for f, label in zip(files, labels):
        notes.extend(file_notes(f, label))
    for f, label in zip(files[1:], labels[1:]):
        if not same_machine(files[0].context, f.context):
            notes.append(
                f"{label} is from {machine_name(f.context)}, {labels[0]} from {machine_name(files[0].context)}: "
                "compared as the same machine because that was forced; the ratios mix machine and code"
            )
    for f, label in zip(files[1:], labels[1:]):
        if _same_file(files[0], f):
            notes.append(f"{label} and {labels[0]} are the same run (same file, or the same creation time and "
                         "samples): the comparison shows nothing")  # fmt: skip
    pairs = [_compare_pair(files[0], f, (labels[0], label), alpha, notes, correction) for f, label in zip(files[1:], labels[1:])]
    return SameMachineComparison(
        kind="same-machine", machine=machine_name(files[0].context), files=labels,
        paths=[str(f.path) for f in files], alpha=alpha, min_samples=stats.MIN_SAMPLES_FOR_TEST,
        pairs=pairs, notes=notes,
    )  # fmt: skip


def regressions(result: SameMachineComparison, fail_above_pct: float) -> list[tuple[str, PointComparison]]:
    """(candidate label, point) for every point significantly slower by more than the threshold.

    Points with too few samples to test are not counted (they cannot be shown to differ); see
    `untestable_above` for those, which callers should report.
    """
    return [(pair.candidate, p) for pair in result.pairs for p in pair.points if is_regression(p, fail_above_pct)]


def is_regression(p: PointComparison, limit_pct: float) -> bool:
    """Significantly slower (after the correction for many points), by more than limit_pct by the
    Hodges-Lehmann estimate of the ratio."""
    return p.significant and p.hl_ratio > 1.0 + limit_pct / 100.0


def untestable_above(result: SameMachineComparison, fail_above_pct: float) -> list[tuple[str, PointComparison]]:
    limit = 1.0 + fail_above_pct / 100.0
    return [(pair.candidate, p) for pair in result.pairs for p in pair.points if not p.enough_samples and p.ratio > limit]
