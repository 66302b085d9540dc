"""Format-neutral tables for `compare` and `report`: titles, headers and rows of display strings.

The terminal, Markdown and HTML reporters all render these, so the three show the same numbers
with the same rounding. Units live in the headers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from softbench.analysis import cross_machine, crossovers, same_machine, summaries
from softbench.results import naming
from softbench.results.schema import ResultFile


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    align: list[str]  # "l" or "r" per column
    notes: list[str] = field(default_factory=list)  # lines shown under the table
    # For narrow terminals (reporters/fit.py): a shorter header per column, and each column's
    # rank (higher: kept longer; columns are left out lowest rank first). None: not needed.
    short_headers: list[str] | None = None
    keep: list[int] | None = None


# ---------------------------------------------------------------------------------------------
# Number formats


def fmt_n(n: int) -> str:
    """Element counts: 4Ki, 1Mi, 64Mi for exact binary multiples, else the plain integer."""
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def fmt_shape(n: int, rows: int = 1) -> str:
    """A point: N of one row ("4Ki"), or a batch as rows x columns ("4096x8192")."""
    return fmt_n(n) if rows == 1 else f"{rows}x{n // rows}"


def fmt_ns(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v:.3g}" if v >= 0.001 else f"{v:.2e}"


def fmt_gbps(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.1f}"


def fmt_pct(v: float | None) -> str:
    """A fraction as a percentage: 0.873 -> 87%."""
    return "-" if v is None or not math.isfinite(v) else f"{v * 100:.0f}%"


def fmt_ratio(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.3f}x"


def fmt_speedup(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}x"


def fmt_change(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:+.1f}%"


def fmt_interval(ratio: float, low: float, high: float) -> str:
    if not all(math.isfinite(v) for v in (ratio, low, high)):
        return "-"
    return f"{ratio:.3f} [{low:.3f}, {high:.3f}]"


def fmt_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_err(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.1e}"


def fmt_range(lo: int, hi: int) -> str:
    return fmt_n(lo) if lo == hi else f"{fmt_n(lo)}-{fmt_n(hi)}"


# ---------------------------------------------------------------------------------------------
# compare, same machine


def same_machine_tables(result: same_machine.SameMachineComparison, changed_only: bool = False) -> list[Table]:
    """Per later file: every point (or, changed_only, only the significant changes), then the
    geometric means per algorithm."""
    out = []
    for pair in result.pairs:
        rows = []
        shown = [p for p in pair.points if p.verdict in ("slower", "faster")] if changed_only else pair.points
        for p in shown:
            rows.append([
                naming.series_name(p.algorithm, p.variant, p.threads, p.rows, p.tile), p.isa, fmt_shape(p.n, p.rows), p.regime, fmt_ns(p.baseline_ns_per_element), fmt_ns(p.candidate_ns_per_element),
                fmt_ratio(p.ratio), fmt_change(p.change_pct), fmt_interval(p.hl_ratio, p.ci_low, p.ci_high),
                fmt_p(p.p_value), fmt_p(p.p_adjusted) if p.enough_samples else "-",
                f"{p.baseline_samples}/{p.candidate_samples}", p.verdict,
            ])  # fmt: skip
        correction = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "none"}.get(pair.correction, pair.correction)
        notes = [f"significant: {correction}-adjusted p < {result.alpha:g} over the {len(pair.points)} points, with >= "
                 f"{result.min_samples} samples per side; HL: the Hodges-Lehmann ratio (median of the pairwise sample "
                 "ratios) with its distribution-free 95% interval"]  # fmt: skip
        if pair.bound_pct is not None:
            notes.append(f"no change beyond +-{pair.bound_pct:.1f}% at any point (simultaneous 95% intervals, "
                         f"Bonferroni over {len(pair.points)} points)")  # fmt: skip
        out.append(Table(
            title=f"{pair.candidate} against {pair.baseline} (baseline): time per element, ratio = {pair.candidate} / {pair.baseline} (above 1: slower)"
                  + (f"; only the significant changes ({len(shown)} of {len(pair.points)} points)" if changed_only else ""),
            headers=["algorithm", "isa", "N", "regime", f"{pair.baseline} ns/elem", f"{pair.candidate} ns/elem",
                     "ratio", "change", "HL ratio [95% CI]", "p (Mann-Whitney)", "p adjusted", "samples", "verdict"],
            rows=rows, align=list("llllrrrrrrrrl"),
            notes=notes,
            short_headers=["algorithm", "isa", "N", "regime", "base ns/el", "new ns/el", "ratio", "change", "HL [CI]", "p", "p adj", "n", "verdict"],
            keep=[9, 7, 9, 2, 5, 6, 3, 8, 5, 2, 4, 1, 9],
        ))  # fmt: skip
        g_rows = [
            [g.algorithm, str(g.points), fmt_ratio(g.geomean_ratio), fmt_change(g.change_pct), str(g.slower), str(g.faster), str(g.untested)]
            for g in pair.geomeans
        ]
        if pair.overall_geomean_ratio is not None:
            o = pair.overall_geomean_ratio
            g_rows.append(["all", str(len(pair.points)), fmt_ratio(o), fmt_change((o - 1) * 100), str(sum(g.slower for g in pair.geomeans)),
                           str(sum(g.faster for g in pair.geomeans)), str(sum(g.untested for g in pair.geomeans))])  # fmt: skip
        out.append(Table(
            title=f"{pair.candidate} against {pair.baseline}: geometric mean of the time ratios per algorithm",
            headers=["algorithm", "points", "geomean ratio", "change", "slower", "faster", "untested"],
            rows=g_rows, align=list("lrrrrrr"),
            short_headers=["algorithm", "points", "ratio", "change", "slower", "faster", "untested"],
            keep=[9, 2, 5, 8, 4, 4, 3],
        ))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# compare, across machines


def context_table(rows: Sequence[tuple[str, list[str]]], labels: Sequence[str], title: str = "machines side by side") -> Table:
    return Table(title=title, headers=["", *labels], rows=[[name, *values] for name, values in rows], align=["l"] * (len(labels) + 1))


def cross_machine_tables(result: cross_machine.CrossMachineComparison) -> list[Table]:
    out = [context_table(result.context, result.files)]
    algs = []
    for row in result.rows:
        if row.algorithm not in algs:
            algs.append(row.algorithm)
    for alg in algs:
        rows = []
        for row in (r for r in result.rows if r.algorithm == alg):
            for label in result.files:
                c = row.cells[label]
                if c is None:
                    rows.append([row.regime, label, "-", "-", "not measured", "", "", "", ""])
                    continue
                rows.append([row.regime, label, c.isa, fmt_range(c.n_min, c.n_max), fmt_ns(c.ns_per_element),
                             fmt_gbps(c.gbps_effective), fmt_gbps(c.gbps_actual), fmt_pct(c.roofline_efficiency),
                             fmt_err(c.max_rel_error)])  # fmt: skip
        out.append(Table(
            title=f"{alg}: each machine per regime (medians over the regime's points)",
            headers=["regime", "machine", "isa", "N", "ns/elem", "GB/s eff. (8 B/elem)", "GB/s actual (model)", "roofline eff.", "max rel. error"],
            rows=rows, align=list("lllrrrrrr"),
            short_headers=["regime", "machine", "isa", "N", "ns/el", "GB/s", "GB/s act.", "roofline", "max err"],
            keep=[9, 9, 6, 4, 8, 7, 2, 5, 3],
        ))  # fmt: skip
    rows = []
    for s in result.speedups:
        cells = []
        for label in result.files:
            c = s.cells[label]
            cells.append("-" if c is None else f"{fmt_speedup(c.speedup)} ({c.isa})")
        rows.append([f"{s.algorithm} over {s.baseline}", s.regime, *cells])
    paper = ", ".join(f"{v:.2f}x {k}" for k, v in result.paper_speedup.items())
    out.append(Table(
        title="speedup over Three-Pass (Three-Pass time / this algorithm's time; geometric mean over the regime's points)",
        headers=["algorithm", "regime", *result.files], rows=rows, align=["l", "l"] + ["r"] * len(result.files),
        notes=[f"the Two-Pass paper reports up to {paper} out of cache (Skylake-X)"],
    ))  # fmt: skip
    out.append(crossover_table(
        [(label, c) for label in result.files for c in result.crossovers.get(label, [])], with_file=True))
    return out


# ---------------------------------------------------------------------------------------------
# one file (report)


def crossover_text(c: crossovers.Crossover) -> str:
    if c.status == "always":
        return f"faster at every N measured (from {fmt_n(c.n)})"
    if c.status == "never":
        where = f"; faster only at {', '.join(fmt_n(n) for n in c.wins_at)}" if c.wins_at else ""
        return f"not faster at the largest N ({fmt_n(max(c.n_measured))}){where}"
    return f"{fmt_n(c.n)} (slower at {fmt_n(c.n_below)})"


def crossover_sentence(c) -> str:
    """One line: "two-pass beats three-pass-reload from N = 3,000,000 on (slower at 1,000,000)"."""
    if c.status == "always":
        return f"{c.algorithm} beats {c.baseline} at every N measured ({c.n_measured[0]:,} .. {c.n_measured[-1]:,})"
    if c.status == "never":
        return f"{c.algorithm} ties {c.baseline} at the largest N ({c.n_measured[-1]:,})"
    return f"{c.algorithm} beats {c.baseline} from N = {c.n:,} on (slower at {c.n_below:,})"


def crossover_table(items: Sequence[tuple[str, crossovers.Crossover]], with_file: bool = False) -> Table:
    rows = []
    for label, c in items:
        row = [c.isa, c.algorithm, c.baseline, crossover_text(c)]
        rows.append([label, *row] if with_file else row)
    headers = ["isa", "algorithm", "over", "crossover N (faster from here on)"]
    return Table(
        title="crossover: the N from which the algorithm is faster than Three-Pass at every larger N measured",
        headers=["machine", *headers] if with_file else headers, rows=rows,
        align=["l"] * (len(headers) + (1 if with_file else 0)),
    )  # fmt: skip


def regime_table(rf: ResultFile) -> Table:
    rows = [
        [alg, isa, regime, fmt_range(c.n_min, c.n_max), str(c.points), fmt_ns(c.ns_per_element), fmt_gbps(c.gbps_effective),
         fmt_gbps(c.gbps_actual), fmt_pct(c.roofline_efficiency), fmt_err(c.max_rel_error)]
        for alg, isa, regime, c in summaries.regime_summary(rf)
    ]  # fmt: skip
    return Table(
        title="per regime (medians over the regime's points)",
        headers=["algorithm", "isa", "regime", "N", "points", "ns/elem", "GB/s eff. (8 B/elem)", "GB/s actual (model)", "roofline eff.", "max rel. error"],
        rows=rows, align=list("llllrrrrrr"),
    )  # fmt: skip


def speedup_regime_table(rf: ResultFile) -> Table:
    groups: dict[tuple[str, str, str, str], list[float]] = {}
    for s in summaries.speedup_points(rf):
        groups.setdefault((s.isa, s.algorithm, s.baseline, s.regime), []).append(s.speedup)
    keys = sorted(groups, key=lambda k: (naming.order_key(k[0], naming.ISA_ORDER), naming.order_key(k[1], naming.ALGORITHM_ORDER),
                                         naming.order_key(k[2], naming.ALGORITHM_ORDER), naming.order_key(k[3], naming.REGIME_ORDER)))  # fmt: skip
    rows = []
    for isa, alg, base, regime in keys:
        v = groups[(isa, alg, base, regime)]
        paper = summaries.PAPER_SPEEDUP.get(isa) if alg == "two-pass" and regime == "DRAM" else None
        rows.append([isa, alg, base, regime, str(len(v)), fmt_speedup(summaries.geomean_or_none(v)), fmt_speedup(min(v)), fmt_speedup(max(v)),
                     fmt_speedup(paper) if paper else ""])  # fmt: skip
    return Table(
        title="speedup over Three-Pass per regime (Three-Pass time / this algorithm's time)",
        headers=["isa", "algorithm", "over", "regime", "points", "geomean", "min", "max", "paper (up to)"],
        rows=rows, align=list("llllrrrrr"),
    )  # fmt: skip


def points_table(rf: ResultFile) -> Table:
    recs = sorted(rf.results, key=lambda r: naming.sort_key(r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows, r.tile))
    rows = []
    for r in recs:
        rows.append([naming.record_series(r), r.isa, fmt_shape(r.n, r.rows), r.regime, str(len(r.samples_ns)), fmt_ns(r.ns_per_element), fmt_ns(r.min_ns_per_element),
                     fmt_gbps(r.gbps_effective), fmt_gbps(r.gbps_actual), fmt_pct(r.roofline_efficiency), fmt_err(r.max_rel_error)])  # fmt: skip
    return Table(
        title="every point",
        headers=["algorithm", "isa", "N", "regime", "samples", "ns/elem (median)", "ns/elem (min)", "GB/s eff.", "GB/s actual", "roofline eff.", "max rel. error"],
        rows=rows, align=list("llllrrrrrrr"),
    )  # fmt: skip


def scaling_table(records) -> Table | None:
    """Throughput against threads: per point (a row of N, or a batch) and algorithm, effective GB/s
    and roofline efficiency at each thread count, the speedup of the most threads over one, and
    the share of a call the synchronisation takes. None when nothing has two thread counts."""
    rows_ = summaries.scaling_rows(records)
    if not rows_:
        return None
    counts = sorted({t for s in rows_ for t in s.by_threads})
    rows = []
    for s in rows_:
        cells = []
        for t in counts:
            r = s.by_threads.get(t)
            cells.append("-" if r is None else f"{fmt_gbps(r.gbps_effective)} ({fmt_pct(r.roofline_efficiency)})")
        top = s.by_threads[max(s.by_threads)]
        one = s.by_threads.get(1)
        speedup = one.ns_per_element / top.ns_per_element if one is not None else None
        sync = top.sync_ns / (top.ns_per_element * top.n) if top.sync_ns is not None else None
        rows.append([s.isa, fmt_shape(s.n, s.rows), s.regime, s.algorithm, *cells, fmt_speedup(speedup), fmt_pct(sync)])
    return Table(
        title="scaling: effective GB/s (roofline efficiency) per thread count",
        headers=["isa", "N or shape", "regime", "algorithm", *(f"{t} thread{'s' if t > 1 else ''}" for t in counts),
                 "speedup (most threads / 1)", "sync share (most threads)"],
        rows=rows, align=list("llll") + ["r"] * (len(counts) + 2),
        notes=["roofline efficiency = the traffic twin's time with the same threads / the kernel's; sync share = an "
               "empty parallel call of the same shape (dispatch, barriers, merges) / one call"],
    )  # fmt: skip


def scaling_speedup_table(records) -> Table | None:
    """Two-Pass's and online's speedup over each Three-Pass at each thread count."""
    sp = summaries.scaling_speedups(summaries.scaling_rows(records))
    if not sp:
        return None
    counts = sorted({t for s in sp for t in s.by_threads})
    rows = [[s.isa, fmt_shape(s.n, s.rows), s.algorithm, s.baseline, *(fmt_speedup(s.by_threads.get(t)) for t in counts)]
            for s in sp]  # fmt: skip
    return Table(
        title="speedup over Three-Pass per thread count (Three-Pass time / this algorithm's time, same threads)",
        headers=["isa", "N or shape", "algorithm", "over", *(f"{t} thread{'s' if t > 1 else ''}" for t in counts)],
        rows=rows, align=list("llll") + ["r"] * len(counts),
    )  # fmt: skip


def bandwidth_table(rf: ResultFile) -> Table | None:
    """STREAM-style figures of the run: per kernel and ISA, GB/s per regime (median)."""
    pts = [b for b in getattr(rf, "bandwidth", []) or [] if isinstance(b.get("gbps"), (int, float)) and isinstance(b.get("n"), int)]
    if not pts:
        return None
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for b in pts:
        groups.setdefault((str(b.get("kernel")), str(b.get("isa")), str(b.get("regime", "unknown"))), []).append(b)
    kernel_order = ("read", "write", "copy", "scale")
    keys = sorted(groups, key=lambda k: (naming.order_key(k[0], kernel_order), naming.order_key(k[1], naming.ISA_ORDER), naming.order_key(k[2], naming.REGIME_ORDER)))
    rows = []
    for kernel, isa, regime in keys:
        g = groups[(kernel, isa, regime)]
        ns = [b["n"] for b in g]
        vals = sorted(float(b["gbps"]) for b in g)
        med = vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
        rows.append([kernel, isa, regime, fmt_range(min(ns), max(ns)), fmt_gbps(med)])
    return Table(
        title="STREAM-style bandwidth measured in the same run (GB/s counts the bytes read and written)",
        headers=["kernel", "isa", "regime", "N", "GB/s (median)"], rows=rows, align=list("llllr"),
    )  # fmt: skip
