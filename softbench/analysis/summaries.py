"""Summaries of one result file: medians per regime, the Two-Pass (and online) speedup over
each Three-Pass, and scaling with threads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from softbench.analysis.points import index_points, user_kernel_names
from softbench.bench import stats
from softbench.results.naming import ALGORITHM_ORDER
from softbench.results.naming import ISA_ORDER
from softbench.results.naming import REGIME_ORDER
from softbench.results.naming import order_key
from softbench.results.naming import record_series
from softbench.results.naming import series_name
from softbench.results.schema import Record, ResultFile


THREE_PASS = ("three-pass-recompute", "three-pass-reload")
FAST_ALGORITHMS = ("two-pass", "online")  # the ones whose speedup over Three-Pass is reported
# The Two-Pass paper (Dukhan & Ablavatski), Skylake-X, out of cache: up to this speedup of
# Two-Pass over Three-Pass.
PAPER_SPEEDUP = {"avx2": 1.18, "avx512f": 1.28}


def _median(values: Iterable[float]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else None


def geomean_or_none(values: Iterable[float]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x) and x > 0]
    return stats.geometric_mean(v) if v else None


@dataclass
class RegimeCell:
    """One machine's figures for one (algorithm, isa, regime): medians over the regime's points."""

    isa: str
    points: int
    n_min: int
    n_max: int
    ns_per_element: float
    gbps_effective: float  # 8 bytes per element / ns_per_element
    gbps_actual: float  # the algorithm's traffic model total / ns_per_element
    roofline_efficiency: float | None  # median over points that have one
    max_rel_error: float | None  # worst over the points (None: no point was checked, imported)


def _cell(records: list[Record]) -> RegimeCell:
    ns = float(np.median([r.ns_per_element for r in records]))
    total = records[0].bytes_per_element.get("total", 8.0)
    return RegimeCell(
        isa=records[0].isa, points=len(records), n_min=min(r.n for r in records), n_max=max(r.n for r in records),
        ns_per_element=ns, gbps_effective=8.0 / ns if ns > 0 else math.nan,
        gbps_actual=total / ns if ns > 0 else math.nan,
        roofline_efficiency=_median(r.roofline_efficiency for r in records),
        max_rel_error=max((r.max_rel_error for r in records if r.max_rel_error is not None), default=None),
    )  # fmt: skip


def regime_summary(rf: ResultFile) -> list[tuple[str, str, str, RegimeCell]]:
    """(algorithm, isa, regime, cell) for every combination in the file, in display order."""
    return regime_cells(index_points(rf).values())


def regime_cells(records: Iterable[Record]) -> list[tuple[str, str, str, RegimeCell]]:
    """(algorithm, isa, regime, cell) for every combination among the records, in display order:
    the per-regime medians of a file (regime_summary) and of the run just measured alike."""
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        # variants, tiles, batches and multi-threaded points are separate rows: "two-pass[nt] batch x4"
        key = (record_series(r), r.isa, r.regime)
        groups.setdefault(key, []).append(r)
    keys = sorted(groups, key=lambda k: (order_key(k[0], ALGORITHM_ORDER), order_key(k[1], ISA_ORDER), order_key(k[2], REGIME_ORDER)))
    return [(a, i, g, _cell(groups[(a, i, g)])) for a, i, g in keys]


@dataclass
class SpeedupPoint:
    algorithm: str  # two-pass or online
    baseline: str  # a three-pass algorithm
    isa: str
    n: int
    regime: str
    speedup: float  # baseline time / algorithm time: > 1 means the algorithm is faster


def speedup_points(rf: ResultFile) -> list[SpeedupPoint]:
    """Two-Pass's, online's and every user kernel's speedup over each Three-Pass at every (isa, n)
    measured for both, on single rows with one thread, default store variant and default tile
    (scaling_points has the others)."""
    idx = {k: r for k, r in index_points(rf).items() if k[3] == 1 and not k[4] and k[5] == 1 and not k[6]}
    fast = (*FAST_ALGORITHMS, *user_kernel_names(rf))
    out = []
    for (alg, isa, n, _, _, _, _), r in idx.items():
        if alg not in fast:
            continue
        for base in THREE_PASS:
            b = idx.get((base, isa, n, 1, None, 1, None))
            if b is not None and r.ns_per_element > 0:
                out.append(SpeedupPoint(alg, base, isa, n, r.regime, b.ns_per_element / r.ns_per_element))
    out.sort(key=lambda s: (order_key(s.algorithm, ALGORITHM_ORDER), order_key(s.baseline, ALGORITHM_ORDER), order_key(s.isa, ISA_ORDER), s.n))
    return out


@dataclass
class ScalingRow:
    """One algorithm at one point (a row of n, or a batch of `rows` rows) with several thread counts."""

    algorithm: str  # with its store variant: "two-pass", "two-pass[nt]"
    isa: str
    n: int
    rows: int
    regime: str
    by_threads: dict[int, Record]  # ascending thread counts


def scaling_rows(records: Iterable[Record]) -> list[ScalingRow]:
    """Every (algorithm, variant, tile, isa, point) measured with two or more thread counts."""
    groups: dict[tuple, dict[int, Record]] = {}
    for r in records:
        groups.setdefault((r.algorithm, r.variant, r.tile, r.isa, r.n, r.rows), {}).setdefault(r.threads, r)
    out = [ScalingRow(series_name(a, v, tile=t), isa, n, rows, next(iter(g.values())).regime, dict(sorted(g.items())))
           for (a, v, t, isa, n, rows), g in groups.items() if len(g) >= 2]  # fmt: skip
    out.sort(key=lambda s: (order_key(s.isa, ISA_ORDER), s.rows > 1, s.n, s.rows, order_key(s.algorithm, ALGORITHM_ORDER), s.algorithm))
    return out


@dataclass
class ScalingSpeedup:
    """Two-Pass's (or online's) speedup over a Three-Pass at one point, per thread count: does
    its lead hold when more cores share the memory bandwidth?"""

    algorithm: str
    baseline: str
    isa: str
    n: int
    rows: int
    by_threads: dict[int, float]  # baseline time / algorithm time


def scaling_speedups(rows: Sequence[ScalingRow]) -> list[ScalingSpeedup]:
    at = {(s.algorithm, s.isa, s.n, s.rows): s for s in rows}
    out = []
    for s in rows:
        if s.algorithm not in FAST_ALGORITHMS:
            continue
        for base in THREE_PASS:
            b = at.get((base, s.isa, s.n, s.rows))
            if b is not None:
                common = [t for t in s.by_threads if t in b.by_threads]
                out.append(ScalingSpeedup(s.algorithm, base, s.isa, s.n, s.rows,
                                          {t: b.by_threads[t].ns_per_element / s.by_threads[t].ns_per_element for t in common}))  # fmt: skip
    return out
