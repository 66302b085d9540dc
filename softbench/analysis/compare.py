"""Comparing result files: pure logic over loaded `ResultFile`s, returning plain data; no printing.

Two kinds of comparison:

* **Same machine** (run B against baseline run A on one box, e.g. before/after a change): per
  (algorithm, isa, n, threads, variant) the ratio of the median time per element (B / A; above 1
  means B is slower), a two-sided Mann-Whitney U test on the raw per-element samples, and a
  geometric mean of the ratios per algorithm. `regressions()` applies a CI threshold.
* **Across machines**: per algorithm and regime (L1, L2, L3, transition, DRAM) each machine's
  ns/element, GB/s and roofline efficiency, the Two-Pass (and online) speedup over each
  Three-Pass, and the machines' context side by side. Points are matched by *regime*, not by N,
  because machines run different sizes and the same N falls in different caches on each.

The same-machine rule (`same_machine`): two files come from the same machine when their CPU model
(`context.cpu.model_name`) and their hostname (`context.hostname`, else `context.os.hostname`) are
both known (not missing, not "unknown") and equal. Anything else is treated as different machines,
because a rank test between two CPUs answers nothing useful. Callers can force either mode
(`compare(..., mode="same"|"cross")`); forcing "same" on files that fail the rule adds a note.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from softbench.bench import stats
from softbench.errors import InputError, ResultFileError
from softbench.results import files as results
from softbench.results.files import Record, ResultFile
from softbench.results.naming import ALGORITHM_ORDER
from softbench.results.naming import ISA_ORDER
from softbench.results.naming import REGIME_ORDER
from softbench.results.naming import best_isa
from softbench.results.naming import order_key
from softbench.results.naming import record_series
from softbench.results.naming import series_name
from softbench.results.naming import sort_key

__all__ = [
    "THREE_PASS",
    "FAST_ALGORITHMS",
    "PAPER_SPEEDUP",
    "DEFAULT_ALPHA",
    "load_files",
    "file_labels",
    "file_notes",
    "hostname",
    "cpu_model",
    "machine_name",
    "same_machine",
    "all_same_machine",
    "machine_groups",
    "cache_sizes",
    "regime_bounds",
    "per_element_samples",
    "geomean_or_none",
    "PointComparison",
    "AlgorithmGeomean",
    "PairComparison",
    "SameMachineComparison",
    "RegimeCell",
    "CrossRow",
    "SpeedupCell",
    "SpeedupRow",
    "CrossMachineComparison",
    "Crossover",
    "SpeedupPoint",
    "compare",
    "compare_same_machine",
    "compare_cross_machine",
    "regressions",
    "untestable_above",
    "shown_isas",
    "regime_summary",
    "speedup_points",
    "ScalingRow",
    "ScalingSpeedup",
    "scaling_rows",
    "scaling_speedups",
    "crossovers",
    "context_table",
    "to_plain",
]

THREE_PASS = ("three-pass-recompute", "three-pass-reload")
FAST_ALGORITHMS = ("two-pass", "online")  # the ones whose speedup over Three-Pass is reported
# The Two-Pass paper (Dukhan & Ablavatski), Skylake-X, out of cache: up to this speedup of
# Two-Pass over Three-Pass.
PAPER_SPEEDUP = {"avx2": 1.18, "avx512f": 1.28}
DEFAULT_ALPHA = 0.05

_UNKNOWN = ("", "unknown", None)


# --------------------------------------------------------------------------------------------
# Loading and naming


def load_files(paths: Sequence[str | Path]) -> tuple[list[ResultFile], list[str]]:
    """Load every path; return the files that loaded and one error line per file that did not.

    Nothing is skipped silently: the caller either stops on the errors or shows each one.
    """
    files, errors = [], []
    for p in paths:
        try:
            files.append(results.load(p))
        except ResultFileError as e:
            errors.append(str(e))
    return files, errors


def _known(v: Any) -> bool:
    return isinstance(v, str) and v.strip() not in _UNKNOWN


def hostname(ctx: dict[str, Any]) -> str:
    h = ctx.get("hostname")
    if not _known(h):
        osd = ctx.get("os")
        h = osd.get("hostname") if isinstance(osd, dict) else None
    return h if _known(h) else "unknown"


def cpu_model(ctx: dict[str, Any]) -> str:
    cpu = ctx.get("cpu")
    m = cpu.get("model_name") if isinstance(cpu, dict) else None
    return " ".join(m.split()) if _known(m) else "unknown"


def machine_name(ctx: dict[str, Any]) -> str:
    """'hostname (CPU model)', for titles."""
    return f"{hostname(ctx)} ({cpu_model(ctx)})"


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same-machine rule: CPU model and hostname both known and equal (see module doc)."""
    ma, mb, ha, hb = cpu_model(a), cpu_model(b), hostname(a), hostname(b)
    return "unknown" not in (ma, mb, ha, hb) and ma == mb and ha == hb


def all_same_machine(files: Sequence[ResultFile]) -> bool:
    return len(files) >= 1 and all(same_machine(files[0].context, f.context) for f in files[1:])


def machine_groups(files: Sequence[ResultFile]) -> list[list[int]]:
    """Indices of `files` grouped by the same-machine rule, in order of first appearance."""
    groups: list[list[int]] = []
    for i, f in enumerate(files):
        for g in groups:
            if same_machine(files[g[0]].context, f.context):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def file_labels(files: Sequence[ResultFile]) -> list[str]:
    """A short unique label per file (its name without .json; parent folder added on clashes)."""
    stems = [f.path.stem for f in files]
    labels = []
    for i, f in enumerate(files):
        label = stems[i]
        if stems.count(label) > 1:
            label = f"{f.path.parent.name}/{label}" if f.path.parent.name else label
        labels.append(label)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def file_notes(rf: ResultFile, label: str | None = None) -> list[str]:
    """What a reader must know about a file before trusting it: incomplete, failed kernels,
    the run's own warnings, no records, synthetic data. One line each."""
    name = label or rf.path.name
    notes = []
    if rf.context.get("fixture") is True:
        notes.append(f"{name}: synthetic test data (fixture), not a measurement")
    if not rf.complete:
        where = getattr(rf, "in_progress", None)
        notes.append(
            f"{name}: the run did not finish" + (f" (it was measuring {where})" if where else "")
            + f"; {len(rf.results)} finished points are used"
        )
    if not rf.results:
        notes.append(f"{name}: holds no measured points")
    for f in rf.failures:
        kernel = f.get("kernel", "?")
        msg = " ".join(str(f.get("message", "")).split())
        notes.append(f"{name}: kernel {kernel} failed and has no figures: {msg}")
    for w in rf.warnings:
        notes.append(f"{name}: run warning: {w}")
    seen = set()
    for r in rf.results:
        k = _key(r)
        if k in seen:
            notes.append(f"{name}: duplicate point {_key_text(k)}; the first one is used")
        seen.add(k)
    return notes


# --------------------------------------------------------------------------------------------
# Small helpers


def _key(r: Record) -> tuple[str, str, int, int, str | None, int]:
    """A point: (algorithm, isa, n, threads, variant, rows); one row when the record has no shape."""
    return (r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows)


def _key_text(k: tuple) -> str:
    alg, isa, n, threads, variant, rows = k
    text = f"{alg}{'[' + variant + ']' if variant else ''}/{isa} " + (f"n={n}" if rows == 1 else f"shape={rows}x{n // rows}")
    return text + (f" threads={threads}" if threads != 1 else "")


def _index(rf: ResultFile) -> dict[tuple, Record]:
    out: dict[tuple, Record] = {}
    for r in rf.results:
        out.setdefault(_key(r), r)
    return out


def per_element_samples(r: Record) -> np.ndarray:
    """Raw samples as ns per element per call."""
    return np.asarray(r.samples_ns, dtype=np.float64) / (r.calls_per_sample * r.n)


def cache_sizes(ctx: dict[str, Any]) -> dict[str, int]:
    """{"L1": bytes, "L2": ..., "L3": ...} for the data/unified caches the context knows."""
    out: dict[str, int] = {}
    caches = ctx.get("caches")
    if not isinstance(caches, list):
        return out
    for c in caches:
        if not isinstance(c, dict) or c.get("type") == "Instruction":
            continue
        level, size = c.get("level"), c.get("size_bytes")
        if isinstance(level, int) and isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0:
            out.setdefault(f"L{level}", int(size))
    return dict(sorted(out.items()))


def regime_bounds(ctx: dict[str, Any]) -> list[tuple[str, float]]:
    """N (float32 elements) at each regime boundary, for plots: a cache level ends where the
    working set (input + output, 8 bytes per element) fills it; DRAM starts where the input alone
    (4 bytes per element) reaches 4x the last-level cache."""
    sizes = cache_sizes(ctx)
    out = [(f"{lvl}{'d' if lvl == 'L1' else ''} {_bytes_text(size)}", size / 8.0) for lvl, size in sizes.items()]
    if sizes:
        llc = sizes[max(sizes)]
        out.append(("DRAM (input >= 4x LLC)", float(llc)))
    return out


def _bytes_text(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} B"


def _median(values: Iterable[float]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else None


def geomean_or_none(values: Iterable[float]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x) and x > 0]
    return stats.geometric_mean(v) if v else None


def to_plain(obj: Any) -> Any:
    """Dataclasses/tuples/numpy to JSON-ready Python; non-finite floats to None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --------------------------------------------------------------------------------------------
# Same machine


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
    significant: bool  # enough_samples and p_value < alpha
    verdict: str  # "slower", "faster", "no change" (not significant) or "untested" (too few samples)
    rows: int = 1  # > 1: a batch of rows of n / rows


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


def _compare_pair(base: ResultFile, cand: ResultFile, labels: tuple[str, str], alpha: float, notes: list[str]) -> PairComparison:
    ia, ib = _index(base), _index(cand)
    points = []
    for k in sorted(set(ia) & set(ib), key=lambda k: sort_key(*k)):
        ra, rb = ia[k], ib[k]
        xa, xb = per_element_samples(ra), per_element_samples(rb)
        ma, mb = float(np.median(xa)), float(np.median(xb))
        ratio = mb / ma if ma > 0 else math.inf
        mw = stats.mann_whitney(xa, xb)
        significant = mw.enough_samples and mw.p_value < alpha
        if not mw.enough_samples:
            verdict = "untested"
        elif not significant:
            verdict = "no change"
        else:
            verdict = "slower" if ratio > 1 else "faster"
        if ra.regime != rb.regime:
            notes.append(
                f"{_key_text(k)}: regime {ra.regime} in {labels[0]} but {rb.regime} in {labels[1]} "
                "(the cache sizes recorded differ); the candidate's is shown"
            )
        points.append(PointComparison(
            algorithm=k[0], isa=k[1], n=k[2], threads=k[3], variant=k[4], rows=k[5], regime=rb.regime,
            baseline_ns_per_element=ma, candidate_ns_per_element=mb, ratio=ratio,
            change_pct=(ratio - 1.0) * 100.0, p_value=mw.p_value,
            baseline_samples=int(xa.size), candidate_samples=int(xb.size),
            enough_samples=mw.enough_samples, significant=significant, verdict=verdict,
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
    only_a = [_key_text(k) for k in sorted(set(ia) - set(ib), key=lambda k: sort_key(*k))]
    only_b = [_key_text(k) for k in sorted(set(ib) - set(ia), key=lambda k: sort_key(*k))]
    if only_a:
        notes.append(f"{len(only_a)} points only in {labels[0]} (not compared): {_few(only_a)}")
    if only_b:
        notes.append(f"{len(only_b)} points only in {labels[1]} (not compared): {_few(only_b)}")
    if not points:
        notes.append(f"{labels[1]} and {labels[0]} have no point (algorithm, isa, n, threads, shape) in common")
    return PairComparison(
        baseline=labels[0], candidate=labels[1], points=points, geomeans=geomeans,
        overall_geomean_ratio=geomean_or_none(p.ratio for p in points),
        only_in_baseline=only_a, only_in_candidate=only_b,
    )  # fmt: skip


def _few(items: list[str], k: int = 6) -> str:
    return ", ".join(items[:k]) + (f", ... ({len(items) - k} more)" if len(items) > k else "")


def compare_same_machine(files: Sequence[ResultFile], alpha: float = DEFAULT_ALPHA) -> SameMachineComparison:
    """Every file after the first against the first (the baseline)."""
    _check_files(files)
    if not 0.0 < alpha < 1.0:
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), got {alpha}")
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
    pairs = [_compare_pair(files[0], f, (labels[0], label), alpha, notes) for f, label in zip(files[1:], labels[1:])]
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
    limit = 1.0 + fail_above_pct / 100.0
    return [(pair.candidate, p) for pair in result.pairs for p in pair.points if p.significant and p.ratio > limit]


def untestable_above(result: SameMachineComparison, fail_above_pct: float) -> list[tuple[str, PointComparison]]:
    limit = 1.0 + fail_above_pct / 100.0
    return [(pair.candidate, p) for pair in result.pairs for p in pair.points if not p.enough_samples and p.ratio > limit]


# --------------------------------------------------------------------------------------------
# One file's summaries (used across machines and by the report)


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
    max_rel_error: float  # worst over the points


def _cell(records: list[Record]) -> RegimeCell:
    ns = float(np.median([r.ns_per_element for r in records]))
    total = records[0].bytes_per_element.get("total", 8.0)
    return RegimeCell(
        isa=records[0].isa, points=len(records), n_min=min(r.n for r in records), n_max=max(r.n for r in records),
        ns_per_element=ns, gbps_effective=8.0 / ns if ns > 0 else math.nan,
        gbps_actual=total / ns if ns > 0 else math.nan,
        roofline_efficiency=_median(r.roofline_efficiency for r in records),
        max_rel_error=max(r.max_rel_error for r in records),
    )  # fmt: skip


def regime_summary(rf: ResultFile) -> list[tuple[str, str, str, RegimeCell]]:
    """(algorithm, isa, regime, cell) for every combination in the file, in display order."""
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in _index(rf).values():
        # variants, batches and multi-threaded points are separate rows: "two-pass[nt] batch x4"
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
    """Two-Pass's and online's speedup over each Three-Pass at every (isa, n) measured for both,
    on single rows with one thread (scaling_points has the others)."""
    idx = {k: r for k, r in _index(rf).items() if k[3] == 1 and not k[4] and k[5] == 1}
    out = []
    for (alg, isa, n, _, _, _), r in idx.items():
        if alg not in FAST_ALGORITHMS:
            continue
        for base in THREE_PASS:
            b = idx.get((base, isa, n, 1, None, 1))
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
    """Every (algorithm, variant, isa, point) measured with two or more thread counts."""
    groups: dict[tuple, dict[int, Record]] = {}
    for r in records:
        groups.setdefault((r.algorithm, r.variant, r.isa, r.n, r.rows), {}).setdefault(r.threads, r)
    out = [ScalingRow(series_name(a, v), isa, n, rows, next(iter(g.values())).regime, dict(sorted(g.items())))
           for (a, v, isa, n, rows), g in groups.items() if len(g) >= 2]  # fmt: skip
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


@dataclass
class Crossover:
    """Where `algorithm` starts to beat `baseline` for good, on one file and ISA.

    status: "crosses" (slower below `n`, faster at `n` and every larger N measured; `n_below` is
    the last N where it lost), "always" (faster at every N measured), "never" (slower at the
    largest N measured; it may win somewhere in between, see `wins_at`).
    """

    algorithm: str
    baseline: str
    isa: str
    status: str
    n: int | None
    n_below: int | None
    wins_at: list[int]
    n_measured: list[int]


def crossovers(rf: ResultFile) -> list[Crossover]:
    groups: dict[tuple[str, str, str], list[SpeedupPoint]] = {}
    for s in speedup_points(rf):
        groups.setdefault((s.algorithm, s.baseline, s.isa), []).append(s)
    out = []
    for (alg, base, isa), pts in groups.items():
        pts.sort(key=lambda s: s.n)
        ns = [s.n for s in pts]
        wins = [s.speedup > 1.0 for s in pts]
        losing = [i for i, w in enumerate(wins) if not w]
        if not losing:
            c = Crossover(alg, base, isa, "always", ns[0], None, ns, ns)
        elif losing[-1] == len(pts) - 1:
            c = Crossover(alg, base, isa, "never", None, None, [n for n, w in zip(ns, wins) if w], ns)
        else:
            k = losing[-1]
            c = Crossover(alg, base, isa, "crosses", ns[k + 1], ns[k], [n for n, w in zip(ns, wins) if w], ns)
        out.append(c)
    return out


# --------------------------------------------------------------------------------------------
# Across machines


@dataclass
class CrossRow:
    algorithm: str
    regime: str
    isa: str | None  # None when each machine shows its best ISA (see the cells' isa)
    cells: dict[str, RegimeCell | None]  # label -> figures (None: not measured there)


@dataclass
class SpeedupCell:
    isa: str
    speedup: float  # geometric mean over the regime's points
    points: int


@dataclass
class SpeedupRow:
    algorithm: str
    baseline: str
    regime: str
    isa: str | None
    cells: dict[str, SpeedupCell | None]


@dataclass
class CrossMachineComparison:
    kind: str  # "cross-machine"
    files: list[str]  # labels
    paths: list[str]
    machines: list[str]  # machine_name per file
    isa: str  # "best", "all" or an ISA name
    rows: list[CrossRow]
    speedups: list[SpeedupRow]
    crossovers: dict[str, list[Crossover]]  # label -> that file's crossovers (for the shown ISAs)
    context: list[tuple[str, list[str]]]  # (field, value per file)
    paper_speedup: dict[str, float]
    notes: list[str]


def _best_isa(rf: ResultFile) -> str | None:
    isas = {r.isa for r in rf.results}
    return best_isa(isas) or (min(isas) if isas else None)


def shown_isas(rf: ResultFile, isa: str) -> list[str]:
    """The ISAs of `rf` that an `isa` choice ("best", "all" or a name) shows."""
    present = {r.isa for r in rf.results}
    if isa == "best":
        b = _best_isa(rf)
        return [b] if b else []
    if isa == "all":
        return sorted(present, key=lambda i: order_key(i, ISA_ORDER))
    return [isa] if isa in present else []


def compare_cross_machine(files: Sequence[ResultFile], isa: str = "best") -> CrossMachineComparison:
    """Each file as one machine: per algorithm and regime, the medians over the regime's points.

    isa: "best" (each machine's widest ISA in its file, named in every cell), "all" (one row
    per ISA) or an ISA name (machines that did not run it get empty cells, with a note).
    """
    _check_files(files)
    labels = file_labels(files)
    notes: list[str] = []
    for f, label in zip(files, labels):
        notes.extend(file_notes(f, label))
    for i, a in enumerate(files):
        for j in range(i + 1, len(files)):
            if same_machine(a.context, files[j].context):
                notes.append(
                    f"{labels[i]} and {labels[j]} are from the same machine: a same-machine comparison "
                    f"('softbench compare {a.path.name} {files[j].path.name}') tests their differences"
                )
    shown = {label: shown_isas(f, isa) for f, label in zip(files, labels)}
    for f, label in zip(files, labels):
        if f.results and not shown[label]:
            have = ", ".join(sorted({r.isa for r in f.results}, key=lambda i: order_key(i, ISA_ORDER)))
            notes.append(f"{label}: has no {isa} results (it has {have}); its cells are empty")
    if isa == "best" and len({tuple(v) for v in shown.values() if v}) > 1:
        notes.append(
            "each machine is shown with its widest ISA (" + ", ".join(f"{l}: {v[0]}" for l, v in shown.items() if v)
            + "); use --isa NAME or --isa all to compare one ISA"
        )
    notes.append(
        "points are matched by regime (working set = input + output; DRAM only when the input alone is "
        ">= 4x the last-level cache, 'transition' in between), figures are medians over each regime's points"
    )
    summaries = {label: regime_summary(f) for f, label in zip(files, labels)}
    row_isa = isa != "best"
    rows_keys: set[tuple[str, str, str | None]] = set()
    for label, summ in summaries.items():
        for alg, i, regime, _ in summ:
            if i in shown[label]:
                rows_keys.add((alg, regime, i if row_isa else None))
    rows = []
    for alg, regime, i in sorted(rows_keys, key=lambda k: (order_key(k[0], ALGORITHM_ORDER), order_key(k[2] or "", ISA_ORDER), order_key(k[1], REGIME_ORDER))):
        cells: dict[str, RegimeCell | None] = {}
        for label in labels:
            cell = None
            for a2, i2, g2, c in summaries[label]:
                if a2 == alg and g2 == regime and i2 in shown[label] and (i is None or i2 == i):
                    cell = c
                    break
            cells[label] = cell
        rows.append(CrossRow(alg, regime, i, cells))
    # Speedups per regime: geometric mean of the per-N speedups.
    sp_groups: dict[tuple[str, str, str, str | None], dict[str, list[SpeedupPoint]]] = {}
    for f, label in zip(files, labels):
        for s in speedup_points(f):
            if s.isa in shown[label]:
                key = (s.algorithm, s.baseline, s.regime, s.isa if row_isa else None)
                sp_groups.setdefault(key, {}).setdefault(label, []).append(s)
    speedups = []
    for key in sorted(sp_groups, key=lambda k: (order_key(k[0], ALGORITHM_ORDER), order_key(k[1], ALGORITHM_ORDER), order_key(k[3] or "", ISA_ORDER), order_key(k[2], REGIME_ORDER))):
        cells_s: dict[str, SpeedupCell | None] = {}
        for label in labels:
            pts = sp_groups[key].get(label)
            cells_s[label] = SpeedupCell(pts[0].isa, geomean_or_none(p.speedup for p in pts), len(pts)) if pts else None
        speedups.append(SpeedupRow(key[0], key[1], key[2], key[3], cells_s))
    cross = {label: [c for c in crossovers(f) if c.isa in shown[label]] for f, label in zip(files, labels)}
    return CrossMachineComparison(
        kind="cross-machine", files=labels, paths=[str(f.path) for f in files],
        machines=[machine_name(f.context) for f in files], isa=isa, rows=rows, speedups=speedups,
        crossovers=cross, context=context_table(files, labels), paper_speedup=dict(PAPER_SPEEDUP), notes=notes,
    )  # fmt: skip


def _check_files(files: Sequence[ResultFile]) -> None:
    if len(files) < 2:
        raise InputError(f"compare needs at least two result files, got {len(files)}")


def compare(
    files: Sequence[ResultFile], mode: str = "auto", alpha: float = DEFAULT_ALPHA, isa: str = "best"
) -> SameMachineComparison | CrossMachineComparison:
    """mode "auto": same-machine comparison when every file passes `same_machine` with the
    first, else across machines; "same" or "cross" force one."""
    if mode not in ("auto", "same", "cross"):
        raise InputError(f"unknown compare mode {mode!r}; choose auto, same or cross")
    _check_files(files)
    if mode == "same" or (mode == "auto" and all_same_machine(files)):
        return compare_same_machine(files, alpha)
    return compare_cross_machine(files, isa)


# --------------------------------------------------------------------------------------------
# Machine context side by side


def _g(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _text(v: Any) -> str:
    if v is None or v == "":
        return "unknown"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) if v else "none"
    return " ".join(str(v).split())


def _flags(v: Any) -> str:
    return " ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else _text(v)


def context_table(files: Sequence[ResultFile], labels: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
    """(field, value per file) rows: file, machine, CPU, caches, compiler, flags per ISA, ..."""
    labels = list(labels) if labels is not None else file_labels(files)
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, fn) -> None:
        rows.append((name, [fn(f) for f in files]))

    def caches(f: ResultFile, level: str) -> str:
        for c in f.context.get("caches") or []:
            if not isinstance(c, dict) or c.get("type") == "Instruction" or f"L{c.get('level')}" != level:
                continue
            size = c.get("size_bytes")
            text = _bytes_text(size) if isinstance(size, (int, float)) else _text(size)
            shared = c.get("shared_by")
            return text + (f", shared by {shared}" if isinstance(shared, int) and shared > 1 else "")
        return "unknown"

    def ua(f: ResultFile) -> str:
        m = _g(f.context, "cpu", "microarchitecture")
        if not isinstance(m, dict):
            return _text(m)
        return _text(m.get("name"))

    def cores(f: ResultFile) -> str:
        c = f.context.get("cores")
        if isinstance(c, dict):
            return f"{_text(c.get('physical'))} physical, {_text(c.get('logical'))} logical"
        return _text(c)

    def memory(f: ResultFile) -> str:
        t = _g(f.context, "memory", "total_bytes")
        return _bytes_text(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else "unknown"

    def os_text(f: ResultFile) -> str:
        o = f.context.get("os")
        if isinstance(o, dict):
            parts = [o.get("distro"), o.get("system"), o.get("release")]
            return " / ".join(_text(p) for p in parts if _known(p)) or "unknown"
        return _text(o)

    def compiler(f: ResultFile) -> str:
        c = f.context.get("compiler")
        if isinstance(c, dict):
            return f"{_text(c.get('name'))} {_text(c.get('version'))}"
        return _text(c)

    def samples(f: ResultFile) -> str:
        if not f.results:
            return "none"
        counts = [len(r.samples_ns) for r in f.results]
        lo, hi = min(counts), max(counts)
        return str(lo) if lo == hi else f"{lo}-{hi}"

    rows.append(("file", [f.path.name for f in files]))
    row("hostname", lambda f: hostname(f.context))
    row("CPU", lambda f: cpu_model(f.context))
    row("vendor", lambda f: _text(_g(f.context, "cpu", "vendor")))
    row("microarchitecture", ua)
    row("ISAs run", lambda f: _text(_g(f.context, "isas", "runs")))
    row("ISAs measured", lambda f: _text(sorted({r.isa for r in f.results}, key=lambda i: order_key(i, ISA_ORDER))))
    for level in sorted({lvl for f in files for lvl in cache_sizes(f.context)}):
        row(f"{level}{'d' if level == 'L1' else ''} cache", lambda f, level=level: caches(f, level))
    row("cores", cores)
    row("memory", memory)
    row("OS", os_text)
    row("compiler", compiler)
    isas = sorted({r.isa for f in files for r in f.results}, key=lambda i: order_key(i, ISA_ORDER))
    for i in isas:
        row(f"flags ({i})", lambda f, i=i: _flags(_g(f.context, "compiler", "per_isa", i, "flags")) if _g(f.context, "compiler", "per_isa", i) else "-")
    row("suite", lambda f: _text(_g(f.context, "suite", "name")))
    row("created (UTC)", lambda f: _text(f.context.get("created")))
    row("points", lambda f: str(len(f.results)))
    row("samples per point", samples)
    row("complete", lambda f: "yes" if f.complete else "no (stopped)")
    row("run warnings", lambda f: str(len(f.warnings)))
    if any(f.context.get("fixture") is True for f in files):
        row("synthetic test data", lambda f: "yes" if f.context.get("fixture") is True else "no")
    return rows
