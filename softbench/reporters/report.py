"""`softbench report`: plots (PNG and SVG) and a Markdown report (plus index.html) from result files.

Output is deterministic: the same files and options reproduce every byte (matplotlib's default
style regardless of the user's matplotlibrc, a fixed SVG hash salt and id, no dates or software
versions in the image metadata, no timestamps in the text, stable ordering). Image links are
relative, so the output folder can be moved or committed (e.g. as `results/README.md` with
`--markdown-name README.md`).

Plots, per result file: effective throughput against N (one panel per ISA, cache boundaries
drawn), speedup of Two-Pass and online over each Three-Pass (the paper's figures and the
crossover marked), roofline efficiency, accuracy; where the file has them, throughput against
threads (scaling, with each algorithm's memory floor at the same threads) and against the row
length for one total size; and across files: the same views with one panel per algorithm (or per
Three-Pass baseline). One colour per algorithm in every plot. Batches (rows > 1) are left out of
the plots against N, whose x axis is a row's length.
"""

from __future__ import annotations

import html
import math
import os
import re
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from softbench.analysis import compare as cmp, cross_machine, crossovers, machines, same_machine, summaries
from softbench.bench.measure import EFFECTIVE_BYTES
from softbench.errors import InputError
from softbench.reporters import markdown as md, tables as tb
from softbench.results import naming, regimes
from softbench.results.files import Record, ResultFile

__all__ = [
    "ALGORITHM_COLOURS",
    "algorithm_colour",
    "ReportOutput",
    "write_report",
    "plot_throughput",
    "plot_speedup",
    "plot_efficiency",
    "plot_accuracy",
    "plot_across",
    "plot_across_speedup",
    "plot_scaling",
    "plot_row_length",
]

# One colour per algorithm in every plot (Okabe-Ito, colour-blind safe): the two Three-Pass
# variants in blues, Two-Pass vermillion, online green.
ALGORITHM_COLOURS = {
    "three-pass-recompute": "#0072B2",
    "three-pass-reload": "#56B4E9",
    "two-pass": "#D55E00",
    "online": "#009E73",
}
# Library baselines (`run --baselines`): drawn dotted in every ISA's panel, one colour each.
LIBRARY_ISA = "library"
LIBRARY_COLOURS = {"numpy": "#E69F00", "scipy": "#999999", "torch": "#CC79A7", "onnxruntime": "#000000"}
_EXTRA_COLOURS = ("#CC79A7", "#E69F00", "#000000", "#999999", "#F0E442")
_MARKERS = {"three-pass-recompute": "o", "three-pass-reload": "s", "two-pass": "^", "online": "D"}
# Files in the across-files plots: told apart by line style and marker (colour is the algorithm).
_FILE_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v"), ((0, (1, 1)), "P"))
_DPI = 100
_PAPER_COLOUR = "#7B3294"
_ACCURACY_TARGET = 1e-5
_ZERO_ERROR = 1e-9  # where an exactly-zero max error is drawn on the log axis


def algorithm_colour(name: str) -> str:
    base = name.split("[")[0].split(" ")[0]
    if base in ALGORITHM_COLOURS:
        return ALGORITHM_COLOURS[base]
    if base in LIBRARY_COLOURS:
        return LIBRARY_COLOURS[base]
    return _EXTRA_COLOURS[zlib.crc32(base.encode()) % len(_EXTRA_COLOURS)]


def _paper_label(isa: str, v: float) -> str:
    return f"paper: Two-Pass up to {v:.2f}x ({'AVX-512' if isa == 'avx512f' else isa.upper()}, out of cache)"


def _marker(name: str) -> str:
    return _MARKERS.get(name.split("[")[0].split(" ")[0], "x")


# ---------------------------------------------------------------------------------------------
# matplotlib setup: deterministic, no pyplot (no global figure state, no GUI backend)


_RC = {
    "svg.hashsalt": "softbench",
    "svg.id": "softbench",
    "svg.fonttype": "path",
    "figure.dpi": _DPI,
    "savefig.dpi": _DPI,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
}


@contextmanager
def _mpl() -> Iterator[Any]:
    """matplotlib's default style (not the user's matplotlibrc) plus ours. Figures are made
    with matplotlib.figure.Figure, never pyplot, so they render through Agg (PNG) and the SVG
    backend whatever backend the process has selected, and leave no global state behind."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield matplotlib


def _figure(panels: int, width_one: float = 6.4, height_one: float = 4.2):
    from matplotlib.figure import Figure

    ncols = 1 if panels == 1 else 2
    nrows = math.ceil(panels / ncols)
    width = 8.5 if panels == 1 else width_one * ncols  # one panel: room for a two-column legend
    fig = Figure(figsize=(width, height_one * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _save(fig, stem: Path) -> list[Path]:
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png, format="png", metadata={"Software": None})
    # the layout is done: keep it for the SVG instead of solving it again (half the time)
    fig.set_layout_engine("none")
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": "softbench", "Format": None, "Type": None})
    return [png, svg]


def _n_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=4.0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tb.fmt_n(int(round(v))) if v >= 1 else ""))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("N (float32 elements per row, log scale)")


def _value_axis(ax, label: str, fmt) -> None:
    """A log y axis labelled at 1-2-3-5 when the data span 4x or more (in-cache and DRAM figures
    differ by 10x and both must stay readable), else a linear one from 0; the label says which."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    lo, hi = (float(v) for v in ax.dataLim.intervaly)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > 0):  # nothing drawn
        ax.set_ylabel(label)
        return
    if lo > 0 and hi / lo >= 4:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylabel(f"{label}, log scale")
    else:
        ax.set_ylim(0, hi * 1.08)
        ax.set_ylabel(label)


def _error_axis(ax) -> None:
    _value_axis(ax, "max relative error vs float64", lambda v: f"{v:.0e}")


def _gbps_axis(ax) -> None:
    _value_axis(ax, "throughput, effective GB/s (8 B/element)", lambda v: f"{v:g}")


def _bounds(ax, ctx: dict[str, Any], ns: Sequence[int]) -> None:
    """Cache boundaries as vertical lines (where the working set, 8 B/element, fills each level;
    DRAM where the input alone reaches 4x the last-level cache), named on a top axis so the
    labels never cover data."""
    from matplotlib.ticker import NullLocator

    if not ns:
        return
    lo, hi = min(ns) / 1.5, max(ns) * 1.5
    ticks, labels = [], []
    for label, x in regimes.regime_bounds(ctx):
        if lo <= x <= hi:
            dram = label.startswith("DRAM")
            ax.axvline(x, color="#555555", linestyle=":" if dram else "--", linewidth=0.9, zorder=0)
            ticks.append(x)
            labels.append("DRAM\n(input ≥ 4×LLC)" if dram else label.replace(" ", "\n", 1))
    ax.set_xlim(lo, hi)
    if ticks:
        top = ax.secondary_xaxis("top")
        top.set_xticks(ticks, labels, fontsize=7, color="#444444")
        top.xaxis.set_minor_locator(NullLocator())
        top.tick_params(length=3, pad=1)


def _legend(fig, handles_labels: dict[str, Any], ncol: int = 4) -> None:
    if handles_labels:
        # data series first, then the markers and reference lines
        ref = ("crossover", "paper", "memory floor", "target", "STREAM")
        handles_labels = dict(sorted(handles_labels.items(), key=lambda kv: kv[0].startswith(ref)))
        if fig.get_figwidth() < 10:
            ncol = min(ncol, 2)
        fig.legend(list(handles_labels.values()), list(handles_labels.keys()), loc="outside lower center",
                   ncol=min(ncol, len(handles_labels)), frameon=False)  # fmt: skip


def _collect(ax, store: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D

    for h, label in zip(*ax.get_legend_handles_labels()):
        if label.startswith("_") or label in store:
            continue
        if label.startswith("crossover"):  # drawn in each algorithm's colour; the legend shows the shape
            h = Line2D([], [], marker="*", markersize=12, color="#BBBBBB", markeredgecolor="black", linestyle="none")
        elif label.startswith("memory floor: the traffic twin"):  # likewise: dashed, in each colour
            h = Line2D([], [], color="#555555", linestyle="--", linewidth=1.0)
        store[label] = h


def _isas(rf: ResultFile) -> list[str]:
    """The ISA panels: library baselines get no panel of their own (they join every panel)."""
    isas = sorted({r.isa for r in rf.results}, key=lambda i: naming.order_key(i, naming.ISA_ORDER))
    return [i for i in isas if i != LIBRARY_ISA] or isas


def _series(rf: ResultFile, isa: str) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    seen = set()
    for r in sorted(rf.results, key=lambda r: naming.sort_key(r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows)):
        k = (r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows)
        if (r.isa != isa and r.isa != LIBRARY_ISA) or k in seen or r.rows > 1:  # batches: scaling, row length
            continue
        seen.add(k)
        name = naming.record_series(r) + (" (library)" if r.isa == LIBRARY_ISA and isa != LIBRARY_ISA else "")
        out.setdefault(name, []).append(r)
    return out


def _line(ax, name: str, xs, ys, label: str | None = None, style: str | None = None, marker: str | None = None) -> None:
    # solid: a kernel; dashed / dash-dotted: forced non-temporal / normal stores; dotted: a library;
    # hollow markers and a line twice as thick: on several threads ("two-pass x16")
    if style is None:
        style = ":" if name.endswith("(library)") else "--" if "[nt]" in name else "-." if "[" in name else "-"
    threaded = re.search(r" x\d+$", name) is not None
    ax.plot(xs, ys, linestyle=style, marker=marker or _marker(name), color=algorithm_colour(name), label=label or name,
            **({"markerfacecolor": "white", "linewidth": 2 * _RC["lines.linewidth"]} if threaded else {}))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Per-file plots


def plot_throughput(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Effective GB/s (8 B/element) against N, one panel per ISA, cache boundaries drawn; the
    run's one-thread STREAM copy figure (same 8 B/element) in grey when the file has it."""
    isas = _isas(rf)
    with _mpl():
        fig, axes = _figure(len(isas))
        handles: dict[str, Any] = {}
        for ax, isa in zip(axes, isas):
            series = _series(rf, isa)
            for name, recs in series.items():
                _line(ax, name, [r.n for r in recs], [r.gbps_effective for r in recs])
            copy = sorted((b for b in getattr(rf, "bandwidth", []) or [] if b.get("kernel") == "copy" and b.get("isa") == isa
                           and isinstance(b.get("n"), int) and isinstance(b.get("gbps"), (int, float))
                           and b.get("threads", 1) == 1 and not b.get("shape")), key=lambda b: b["n"])  # one thread, one row  # fmt: skip
            if copy:
                ax.plot([b["n"] for b in copy], [b["gbps"] for b in copy], color="#777777", linestyle="--", marker=None,
                        linewidth=1.2, label="STREAM copy, same run (8 B/element)")  # fmt: skip
            _n_axis(ax)
            _bounds(ax, rf.context, [r.n for rs in series.values() for r in rs])
            _gbps_axis(ax)
            ax.set_title(isa)
            _collect(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles)
        return _save(fig, stem)


def plot_speedup(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Two-Pass and online over each Three-Pass against N, one panel per ISA, with 1x, the
    paper's out-of-cache figure for the ISA and each crossover marked."""
    pts = summaries.speedup_points(rf)
    isas = [i for i in _isas(rf) if any(p.isa == i for p in pts)]
    cross = {(c.algorithm, c.baseline, c.isa): c for c in crossovers.crossovers(rf)}
    with _mpl():
        fig, axes = _figure(len(isas))
        handles: dict[str, Any] = {}
        for ax, isa in zip(axes, isas):
            ns = sorted({p.n for p in pts if p.isa == isa})
            for alg in summaries.FAST_ALGORITHMS:
                for base, style in zip(summaries.THREE_PASS, ("-", "--")):
                    s = [p for p in pts if p.isa == isa and p.algorithm == alg and p.baseline == base]
                    if not s:
                        continue
                    _line(ax, alg, [p.n for p in s], [p.speedup for p in s], label=f"{alg} over {base}", style=style)
                    c = cross.get((alg, base, isa))
                    if c is not None and c.status == "crosses":
                        y = next(p.speedup for p in s if p.n == c.n)
                        ax.plot([c.n], [y], marker="*", markersize=13, color=algorithm_colour(alg), markeredgecolor="black",
                                linestyle="none", label="crossover: faster from this N on", zorder=5)  # fmt: skip
            ax.axhline(1.0, color="black", linewidth=0.9, label="_1x")
            paper = summaries.PAPER_SPEEDUP.get(isa)
            if paper:
                ax.axhline(paper, color=_PAPER_COLOUR, linestyle="-.", linewidth=1.2, label=_paper_label(isa, paper))
            _n_axis(ax)
            _bounds(ax, rf.context, ns)
            ax.set_ylabel("speedup (Three-Pass time / algorithm time)")
            ax.set_title(isa)
            _collect(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles, ncol=3)
        return _save(fig, stem)


def plot_efficiency(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Roofline efficiency (traffic-twin time / kernel time) against N, one panel per ISA."""
    isas = [i for i in _isas(rf) if any(r.isa == i and r.roofline_efficiency is not None for r in rf.results)]
    with _mpl():
        fig, axes = _figure(len(isas))
        handles: dict[str, Any] = {}
        top = 1.05
        for ax, isa in zip(axes, isas):
            series = _series(rf, isa)
            ns = []
            for name, recs in series.items():
                recs = [r for r in recs if r.roofline_efficiency is not None]
                if recs:
                    ys = [100.0 * r.roofline_efficiency for r in recs]
                    top = max(top, max(ys) / 100.0 + 0.05)
                    _line(ax, name, [r.n for r in recs], ys)
                    ns += [r.n for r in recs]
            ax.axhline(100.0, color="black", linewidth=0.9, label="memory floor (traffic twin = 100%)")
            _n_axis(ax)
            _bounds(ax, rf.context, ns)
            ax.set_ylim(0, 100.0 * top)
            ax.set_ylabel("roofline efficiency, % (twin time / kernel time)")
            ax.set_title(isa)
            _collect(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles)
        return _save(fig, stem)


def plot_accuracy(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Max relative error against N (log-log), one panel per ISA, the 1e-5 target drawn."""
    isas = _isas(rf)
    with _mpl():
        fig, axes = _figure(len(isas))
        handles: dict[str, Any] = {}
        zero = False
        for ax, isa in zip(axes, isas):
            series = _series(rf, isa)
            for name, recs in series.items():
                ys = [r.max_rel_error if r.max_rel_error > 0 else _ZERO_ERROR for r in recs]
                zero |= any(r.max_rel_error <= 0 for r in recs)
                _line(ax, name, [r.n for r in recs], ys)
            ax.axhline(_ACCURACY_TARGET, color="#B2182B", linestyle="--", linewidth=1.0, label="target: 1e-5 relative")
            _n_axis(ax)
            _bounds(ax, rf.context, [r.n for rs in series.values() for r in rs])
            _error_axis(ax)
            ax.set_title(isa)
            _collect(ax, handles)
        fig.suptitle(title + (f" (an error of exactly 0 is drawn at {_ZERO_ERROR:g})" if zero else ""))
        _legend(fig, handles)
        return _save(fig, stem)


def _scaling_panels(rf: ResultFile) -> tuple[str | None, list[tuple[int, int]]]:
    """(ISA, [(n, rows), ...]) the scaling plot shows: the widest ISA with scaling data; every batch,
    and the largest single row (the one past the cache; smaller rows are in the tables)."""
    rows_ = summaries.scaling_rows(rf.results)
    best = naming.best_isa(s.isa for s in rows_)
    if best is None:
        return None, []
    mine = [s for s in rows_ if s.isa == best]
    single = [s.n for s in mine if s.rows == 1]
    points = ([(max(single), 1)] if single else []) + sorted({(s.n, s.rows) for s in mine if s.rows > 1}, key=lambda p: (p[0], p[1]))
    return best, points[:_MAX_SCALING_PANELS]


_MAX_SCALING_PANELS = 9


def plot_scaling(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Effective GB/s against threads, one panel per point (the largest single row, each batch):
    each algorithm solid, its traffic twin with the same threads dashed (its memory floor), and the
    STREAM copy with the same threads in grey."""
    from matplotlib.ticker import FixedLocator, NullLocator

    isa, points = _scaling_panels(rf)
    rows_ = [s for s in summaries.scaling_rows(rf.results) if s.isa == isa]
    with _mpl():
        fig, axes = _figure(len(points))
        handles: dict[str, Any] = {}
        for ax, (n, nrows) in zip(axes, points):
            counts: set[int] = set()
            for s in (s for s in rows_ if (s.n, s.rows) == (n, nrows)):
                ts = list(s.by_threads)
                counts.update(ts)
                _line(ax, s.algorithm, ts, [s.by_threads[t].gbps_effective for t in ts])
                floor = [(t, EFFECTIVE_BYTES / r.twin_ns_per_element) for t, r in s.by_threads.items() if r.twin_ns_per_element]
                if floor:
                    ax.plot([p[0] for p in floor], [p[1] for p in floor], linestyle="--", marker=None, linewidth=1.0,
                            color=algorithm_colour(s.algorithm), label="memory floor: the traffic twin, same threads")  # fmt: skip
            copy = sorted((b["threads"], b["gbps"]) for b in rf.bandwidth
                          if b.get("kernel") == "copy" and b.get("isa") == isa and b.get("n") == n
                          and (b.get("shape") or [1])[0] == nrows and isinstance(b.get("threads"), int))  # fmt: skip
            if len(copy) >= 2:
                ax.plot([c[0] for c in copy], [c[1] for c in copy], color="#777777", linestyle=":", linewidth=1.2,
                        label="STREAM copy, same threads (8 B/element)")  # fmt: skip
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_locator(FixedLocator(sorted(counts)))
            ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("threads (log scale)")
            ax.set_ylim(bottom=0)
            ax.set_ylabel("effective GB/s (8 B/element)")
            regime = next((s.regime for s in rows_ if (s.n, s.rows) == (n, nrows)), "")
            ax.set_title(f"{'N = ' if nrows == 1 else ''}{tb.fmt_shape(n, nrows)} ({regime})")
            _collect(ax, handles)
        fig.suptitle(f"{title} ({isa})")
        _legend(fig, handles, ncol=3)
        return _save(fig, stem)


def _row_length_groups(rf: ResultFile) -> list[tuple[int, int, str, list[Record]]]:
    """(total n, threads, isa, records) for every total size measured as three or more row
    lengths on the same threads and ISA (a rowlength-suite run)."""
    groups: dict[tuple[int, int, str], list[Record]] = {}
    for r in rf.results:
        if r.isa != LIBRARY_ISA and not r.variant:
            groups.setdefault((r.n, r.threads, r.isa), []).append(r)
    out = [(n, t, i, rs) for (n, t, i), rs in groups.items() if len({r.cols for r in rs}) >= 3]
    return sorted(out, key=lambda g: (naming.order_key(g[2], naming.ISA_ORDER), -g[0], g[1]))


def plot_row_length(rf: ResultFile, stem: Path, title: str) -> list[Path]:
    """Effective GB/s against the row length for one total size (rows x row length fixed), one
    panel per thread count (and ISA, and total size): where the extra passes of Three-Pass stop
    costing memory traffic because a row is read again from cache."""
    groups = _row_length_groups(rf)[:_MAX_SCALING_PANELS]
    with _mpl():
        fig, axes = _figure(len(groups))
        handles: dict[str, Any] = {}
        for ax, (n, t, isa, rs) in zip(axes, groups):
            by_alg: dict[str, list[Record]] = {}
            for r in sorted(rs, key=lambda r: (naming.order_key(r.algorithm, naming.ALGORITHM_ORDER), r.cols)):
                by_alg.setdefault(r.algorithm, []).append(r)
            for alg, recs in by_alg.items():
                _line(ax, alg, [r.cols for r in recs], [r.gbps_effective for r in recs])
            _n_axis(ax)
            ax.set_xlabel("row length (float32 elements, log scale); rows = N / row length")
            ax.set_xlim(min(r.cols for r in rs) / 1.5, max(r.cols for r in rs) * 1.5)
            _gbps_axis(ax)
            ax.set_title(f"N = {tb.fmt_n(n)} elements, {t} thread{'s' if t > 1 else ''}, {isa}")
            _collect(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles)
        return _save(fig, stem)


# ---------------------------------------------------------------------------------------------
# Across files


_ACROSS = {  # metric: (value of a record or None, y axis)
    "throughput": (lambda r: r.gbps_effective, "throughput"),
    "efficiency": (lambda r: None if r.roofline_efficiency is None else 100.0 * r.roofline_efficiency, "efficiency"),
    "accuracy": (lambda r: r.max_rel_error if r.max_rel_error > 0 else _ZERO_ERROR, "accuracy"),
}


def _shown_isa(rf: ResultFile, isa: str) -> str | None:
    got = cross_machine.shown_isas(rf, isa if isa != "all" else "best")
    return got[0] if got else None


def plot_across(files: Sequence[ResultFile], labels: Sequence[str], metric: str, stem: Path, title: str, isa: str = "best") -> list[Path]:
    """One panel per algorithm, one line per file (line style and marker tell files apart; the
    colour is the algorithm's). Each file shows its widest ISA unless `isa` names one."""
    value, _ = _ACROSS[metric]
    shown = [_shown_isa(f, isa) for f in files]
    algs = sorted({r.algorithm for f, i in zip(files, shown) for r in f.results if r.isa == i},
                  key=lambda a: naming.order_key(a, naming.ALGORITHM_ORDER))  # fmt: skip
    with _mpl():
        fig, axes = _figure(len(algs), height_one=3.8)
        handles: dict[str, Any] = {}
        for ax, alg in zip(axes, algs):
            for k, (f, label, i) in enumerate(zip(files, labels, shown)):
                recs = [r for r in _series(f, i).get(alg, []) if i is not None]
                pts = [(r.n, value(r)) for r in recs if value(r) is not None]
                if not pts:
                    continue
                style, marker = _FILE_STYLES[k % len(_FILE_STYLES)]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle=style, marker=marker, color=algorithm_colour(alg),
                        label=f"{label} ({i})")  # fmt: skip
            if metric == "efficiency":
                ax.axhline(100.0, color="black", linewidth=0.9)
            if metric == "accuracy":
                ax.axhline(_ACCURACY_TARGET, color="#B2182B", linestyle="--", linewidth=1.0, label="target: 1e-5 relative")
            _n_axis(ax)
            if metric == "throughput":
                _gbps_axis(ax)
            elif metric == "accuracy":
                _error_axis(ax)
            else:
                ax.set_ylim(bottom=0)
                ax.set_ylabel("roofline efficiency, % (twin time / kernel time)")
            ax.set_title(alg, color=algorithm_colour(alg))
            _collect_files(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles, ncol=3)
        return _save(fig, stem)


def _collect_files(ax, store: dict[str, Any]) -> None:
    """Legend entries for files in grey (the panel's colour is the algorithm)."""
    from matplotlib.lines import Line2D

    for h, label in zip(*ax.get_legend_handles_labels()):
        if label.startswith("_") or label in store:
            continue
        if label.startswith("target"):
            store[label] = h
        else:
            store[label] = Line2D([], [], color="#333333", linestyle=h.get_linestyle(), marker=h.get_marker())


def plot_across_speedup(files: Sequence[ResultFile], labels: Sequence[str], stem: Path, title: str, isa: str = "best") -> list[Path]:
    """One panel per Three-Pass baseline; lines: each file's Two-Pass and online speedup over it."""
    shown = [_shown_isa(f, isa) for f in files]
    pts = [[p for p in summaries.speedup_points(f) if p.isa == i] for f, i in zip(files, shown)]
    bases = [b for b in summaries.THREE_PASS if any(p.baseline == b for ps in pts for p in ps)]
    with _mpl():
        fig, axes = _figure(len(bases), height_one=4.0)
        handles: dict[str, Any] = {}
        for ax, base in zip(axes, bases):
            for k, (label, i, ps) in enumerate(zip(labels, shown, pts)):
                style, marker = _FILE_STYLES[k % len(_FILE_STYLES)]
                for alg in summaries.FAST_ALGORITHMS:
                    s = [p for p in ps if p.algorithm == alg and p.baseline == base]
                    if s:
                        ax.plot([p.n for p in s], [p.speedup for p in s], linestyle=style, marker=marker,
                                color=algorithm_colour(alg), label=f"{alg}, {label} ({i})")  # fmt: skip
            ax.axhline(1.0, color="black", linewidth=0.9)
            for isa_name, v in summaries.PAPER_SPEEDUP.items():
                if isa_name in shown:
                    ax.axhline(v, color=_PAPER_COLOUR, linestyle="-." if isa_name == "avx512f" else (0, (3, 1, 1, 1, 1, 1)),
                               linewidth=1.2, label=_paper_label(isa_name, v))  # fmt: skip
            _n_axis(ax)
            ax.set_ylabel(f"speedup over {base} (time ratio)")
            ax.set_title(f"over {base}")
            _collect(ax, handles)
        fig.suptitle(title)
        _legend(fig, handles, ncol=2)
        return _save(fig, stem)


# ---------------------------------------------------------------------------------------------
# The document: a list of blocks rendered to Markdown and to HTML


@dataclass
class _Image:
    png: str  # relative to the output folder
    svg: str
    alt: str


@dataclass
class _Details:
    summary: str
    blocks: list[Any]


@dataclass
class _Para:
    text: str
    emphasis: bool = False


@dataclass
class _Heading:
    level: int
    text: str


@dataclass
class _List:
    items: list[str]


def _to_markdown(blocks: list[Any]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append("#" * b.level + " " + md.escape(b.text) + "\n")
        elif isinstance(b, _Para):
            text = md.escape(b.text)
            out.append((f"> **{text}**" if b.emphasis else text) + "\n")
        elif isinstance(b, _List):
            out.append(md.bullet_list(b.items))
        elif isinstance(b, tb.Table):
            out.append(md.table(b))
        elif isinstance(b, _Image):
            out.append(f"![{md.escape(b.alt)}]({b.png})\n\n[SVG]({b.svg})\n")
        elif isinstance(b, _Details):
            inner = _to_markdown(b.blocks)
            out.append(f"<details><summary>{html.escape(b.summary)}</summary>\n\n{inner}\n</details>\n")
        else:  # pragma: no cover
            raise TypeError(b)
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}th,td{border:1px solid #ccc;padding:.2em .5em}
th{background:#f2f2f2}td.r{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;height:auto}
.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.5em 1em}caption{text-align:left;font-weight:bold;padding:.3em 0}
.note{font-style:italic;color:#555}"""


def _html_table(t: tb.Table) -> str:
    e = html.escape
    rows = ["<table>"]
    if t.title:
        rows.append(f"<caption>{e(t.title)}</caption>")
    rows.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in t.headers) + "</tr>")
    for row in t.rows:
        rows.append("<tr>" + "".join(f'<td class="{a}">{e(c)}</td>' for c, a in zip(row, t.align)) + "</tr>")
    rows.append("</table>")
    rows += [f'<p class="note">{e(n)}</p>' for n in t.notes]
    return "\n".join(rows)


def _to_html(blocks: list[Any], title: str) -> str:
    e = html.escape
    body = []
    for b in blocks:
        if isinstance(b, _Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, _Para):
            body.append(f'<p class="warn"><strong>{e(b.text)}</strong></p>' if b.emphasis else f"<p>{e(b.text)}</p>")
        elif isinstance(b, _List):
            body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, tb.Table):
            body.append(_html_table(b))
        elif isinstance(b, _Image):
            body.append(f'<p><img src="{e(b.svg)}" alt="{e(b.alt)}"> <a href="{e(b.png)}">PNG</a></p>')
        elif isinstance(b, _Details):
            body.append(f"<details><summary>{e(b.summary)}</summary>\n{_to_html_body(b.blocks)}\n</details>")
        else:  # pragma: no cover
            raise TypeError(b)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _to_html_body(blocks: list[Any]) -> str:
    page = _to_html(blocks, "")
    return page[page.index("<body>\n") + 7 : page.index("\n</body>")]


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class ReportOutput:
    markdown: Path
    html: Path | None
    plots: list[Path]  # every PNG and SVG written
    notes: list[str]  # what the reader should know (also in the report)
    comparison: Any = None  # the compare result embedded, when there are >= 2 files
    files_written: list[Path] = field(default_factory=list)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower()
    return s or "file"


_HOW_TO_READ = [
    "Regimes label each point by its working set (input + output = 8 bytes per element): L1, L2, L3 while it fits that "
    "cache level; DRAM only when the input alone is at least 4x the last-level cache (the STREAM rule); between the "
    "last-level cache and that bound the point is 'transition'. The dashed lines in the plots are these boundaries.",
    "GB/s are decimal (1 GB = 1e9 bytes). 'Effective' counts 8 bytes per element (one read of x, one write of y, as "
    "XNNPACK reports); 'actual' counts each algorithm's traffic model (read x + read y + write y: 16 B Three-Pass "
    "recomputing, 20 B Three-Pass reloading, 12 B Two-Pass and online; stores' read-for-ownership not counted).",
    "Roofline efficiency = time of the algorithm's traffic twin (same passes, loads and stores, trivial arithmetic, "
    "measured in the same run) / the kernel's time; 100% means the kernel runs at the memory floor.",
    "Speedup = Three-Pass time / algorithm time at the same N and ISA (above 1: faster than Three-Pass). The Two-Pass "
    "paper reports up to 1.18x (AVX2) and 1.28x (AVX-512) out of cache on Skylake-X. The crossover is the N from which "
    "the algorithm is faster at every larger N measured.",
    "Figures are medians of the raw samples; each plotted point is one (algorithm, ISA, N).",
]


_HOW_TO_READ_THREADS = [
    "Threads and batches: 'x4' is a point run on 4 threads, each pinned to its own core; 'batch' is a point of many rows "
    "(softmax over each row), named rows x columns. Rows are split across threads in blocks; a single row is split in "
    "chunks, one per thread, whose partial sums are merged between passes. The traffic twin and the STREAM figures of a "
    "point run on the same threads, so the roofline efficiency is against what that many cores can move. A batch's "
    "regime is that of its whole working set; a row that fits in a core's cache is read again from there, so the "
    "traffic model (bytes per element) overstates a batch's memory traffic while the twin measures it.",
    "Sync share: the time of an empty parallel call of the same shape (waking the threads, one barrier per pass, the "
    "merges) as a share of one call; it is included in every multi-threaded figure.",
]


def write_report(
    files: Sequence[ResultFile],
    output_dir: str | os.PathLike,
    *,
    markdown_name: str = "report.md",
    html_name: str | None = "index.html",
    plots_dir: str = "plots",
    title: str = "softbench report",
    mode: str = "auto",
    isa: str = "best",
    alpha: float = same_machine.DEFAULT_ALPHA,
    notes: Sequence[str] = (),
) -> ReportOutput:
    """Write the plots, `markdown_name` and (unless html_name is None) `html_name` into output_dir.

    `notes`: lines the caller wants in the report (e.g. files it skipped and why).
    """
    if not files:
        raise InputError("report needs at least one result file")
    if not markdown_name or "/" in markdown_name or "\\" in markdown_name:
        raise InputError(f"--markdown-name must be a file name without folders, got {markdown_name!r}")
    out = Path(output_dir)
    plots = out / plots_dir
    try:
        plots.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{plots}: cannot create the output folder ({e.strerror})") from None

    labels = machines.file_labels(files)
    all_notes: list[str] = list(notes)
    for f, label in zip(files, labels):
        all_notes.extend(machines.file_notes(f, label))
    written: list[Path] = []

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p, out)).as_posix()

    def image(paths: list[Path], alt: str) -> _Image:
        written.extend(paths)
        return _Image(rel(paths[0]), rel(paths[1]), alt)

    blocks: list[Any] = [_Heading(1, title)]
    if any(f.context.get("fixture") is True for f in files):
        blocks.append(_Para("Synthetic test data: some of these files are fixtures written by a script, not measurements.", emphasis=True))
    blocks.append(_Para(f"Built by softbench report from {len(files)} result file{'s' if len(files) != 1 else ''}."))

    # Files
    def suite(f: ResultFile) -> str:
        su = f.context.get("suite")
        return str(su.get("name", "unknown")) if isinstance(su, dict) else "unknown"

    file_rows = []
    for f, label in zip(files, labels):
        link = Path(os.path.relpath(f.path.resolve(), out.resolve())).as_posix()
        file_rows.append([label, link, machines.machine_name(f.context), str(f.context.get("created", "unknown")), suite(f),
                          str(len(f.results)), "yes" if f.complete else "no (stopped)", str(len(f.warnings)), str(len(f.failures))])  # fmt: skip
    blocks.append(_Heading(2, "Result files"))
    blocks.append(tb.Table("", ["label", "file", "machine", "created (UTC)", "suite", "points", "complete", "run warnings", "failed kernels"],
                           file_rows, list("lllllrlrr")))  # fmt: skip

    comparison = None
    same_groups: list[same_machine.SameMachineComparison] = []  # runs of one machine among several machines
    if len(files) >= 2:
        comparison = cmp.compare(files, mode=mode, alpha=alpha, isa=isa)
        # the comparison repeats the per-file notes; keep the ones only it knows
        all_notes.extend(n for n in comparison.notes if n not in all_notes)
        if comparison.kind == "cross-machine" and mode == "auto":
            for group in machines.machine_groups(files):
                if len(group) >= 2:
                    sub = same_machine.compare_same_machine([files[i] for i in group], alpha)
                    same_groups.append(sub)
                    all_notes.extend(n for n in sub.notes if n not in all_notes)

    if all_notes:
        blocks.append(_Heading(2, "Notes"))
        blocks.append(_List(all_notes))
    blocks.append(_Heading(2, "How to read this report"))
    blocks.append(_List(_HOW_TO_READ + (_HOW_TO_READ_THREADS if any(r.threads > 1 or r.rows > 1 for f in files for r in f.results) else [])))
    blocks.append(_Heading(2, "Machines"))
    blocks.append(tb.context_table(machines.context_table(files, labels), labels, title=""))

    if comparison is not None:
        same = comparison.kind == "same-machine"
        blocks.append(_Heading(2, "Across files: " + ("one machine" if same else "machines side by side")))
        if not same:
            blocks.append(_Para("Each file is drawn with its widest ISA unless --isa names one; cache boundaries differ per "
                                "machine and are drawn in each file's own plots below."))  # fmt: skip
        stem = plots / "across"
        for metric, what in (("throughput", "effective throughput"), ("efficiency", "roofline efficiency"), ("accuracy", "accuracy")):
            blocks.append(image(plot_across(files, labels, metric, stem.with_name(f"across-{metric}"), f"{what} across files, per algorithm", isa),
                                f"{what} against N for every file, one panel per algorithm"))  # fmt: skip
        if any(summaries.speedup_points(f) for f in files):
            blocks.append(image(plot_across_speedup(files, labels, stem.with_name("across-speedup"), "speedup over Three-Pass across files", isa),
                                "speedup of Two-Pass and online over each Three-Pass for every file"))  # fmt: skip
        if same:
            blocks.extend(_same_machine_blocks(comparison))
        else:
            blocks.extend(tb.cross_machine_tables(comparison)[1:])  # the machines table is above
    for sub in same_groups:
        blocks.append(_Heading(2, f"Same machine: {sub.machine}"))
        blocks.extend(_same_machine_blocks(sub))

    used: set[str] = set()
    for f, label in zip(files, labels):
        slug = _slug(label)
        while slug in used:
            slug += "-"
        used.add(slug)
        name = f"{label}: {machines.machine_name(f.context)}"
        blocks.append(_Heading(2, name))
        if not f.results:
            blocks.append(_Para(f"{label} holds no measured points: no plots or tables for it."))
            continue
        base = plots / slug
        blocks.append(_Heading(3, "Throughput"))
        blocks.append(image(plot_throughput(f, base.with_name(f"{slug}-throughput"), f"{name}\neffective throughput"),
                            f"{label}: effective GB/s against N per ISA, cache boundaries marked"))  # fmt: skip
        blocks.append(_Heading(3, "Speedup over Three-Pass"))
        if summaries.speedup_points(f):
            blocks.append(image(plot_speedup(f, base.with_name(f"{slug}-speedup"), f"{name}\nspeedup over Three-Pass"),
                                f"{label}: Two-Pass and online speedup over each Three-Pass against N"))  # fmt: skip
            blocks.append(tb.speedup_regime_table(f))
            blocks.append(tb.crossover_table([(label, c) for c in crossovers.crossovers(f)]))
        else:
            blocks.append(_Para("No speedup: the file lacks a Two-Pass or online point next to a Three-Pass point at the same N and ISA."))
        if summaries.scaling_rows(f.results):
            blocks.append(_Heading(3, "Threads"))
            blocks.append(image(plot_scaling(f, base.with_name(f"{slug}-scaling"), f"{name}\nthroughput against threads"),
                                f"{label}: effective GB/s against threads, with each algorithm's memory floor"))  # fmt: skip
            blocks.extend(t for t in (tb.scaling_table(f.results), tb.scaling_speedup_table(f.results)) if t is not None)
        if _row_length_groups(f):
            blocks.append(_Heading(3, "Row length"))
            blocks.append(image(plot_row_length(f, base.with_name(f"{slug}-rowlength"), f"{name}\nthroughput against row length, fixed total size"),
                                f"{label}: effective GB/s against the row length for one total size"))  # fmt: skip
        blocks.append(_Heading(3, "Roofline efficiency"))
        if any(r.roofline_efficiency is not None for r in f.results):
            blocks.append(image(plot_efficiency(f, base.with_name(f"{slug}-efficiency"), f"{name}\nroofline efficiency"),
                                f"{label}: roofline efficiency against N per ISA"))  # fmt: skip
        else:
            blocks.append(_Para("No roofline efficiency: no point has a traffic-twin time."))
        blocks.append(_Heading(3, "Accuracy"))
        blocks.append(image(plot_accuracy(f, base.with_name(f"{slug}-accuracy"), f"{name}\naccuracy"),
                            f"{label}: max relative error against N per ISA"))  # fmt: skip
        blocks.append(_Heading(3, "Per regime"))
        blocks.append(tb.regime_table(f))
        bw = tb.bandwidth_table(f)
        if bw is not None:
            blocks.append(bw)
        blocks.append(_Details(f"every point of {label} ({len(f.results)})", [tb.points_table(f)]))

    md_path = out / markdown_name
    text = _to_markdown(blocks)
    _write_text(md_path, text)
    written.append(md_path)
    html_path = None
    if html_name:
        html_path = out / html_name
        _write_text(html_path, _to_html(blocks, title))
        written.append(html_path)
    return ReportOutput(md_path, html_path, [p for p in written if p.suffix in (".png", ".svg")], all_notes, comparison, written)


def _same_machine_blocks(result: same_machine.SameMachineComparison) -> list[Any]:
    """Per later run: the geometric means, the significant changes, and every point folded."""
    blocks: list[Any] = [_Para(
        f"Later runs against {result.files[0]}: ratio of the medians (later / {result.files[0]}; above 1 is slower) and a "
        f"two-sided Mann-Whitney U test on the raw samples (significant: p < {result.alpha:g}, >= {result.min_samples} samples per side)."
    )]  # fmt: skip
    tables = tb.same_machine_tables(result)
    for pair, full, geo in zip(result.pairs, tables[0::2], tables[1::2]):
        blocks.append(geo)
        changed = [row for row in full.rows if row[-1] in ("slower", "faster")]
        blocks.append(tb.Table(f"{pair.candidate} against {pair.baseline}: significant changes ({len(changed)} of {len(full.rows)} points)",
                               full.headers, changed, full.align))  # fmt: skip
        blocks.append(_Details(f"every point of {pair.candidate} against {pair.baseline} ({len(full.rows)})", [full]))
    return blocks


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as e:
        raise InputError(f"{path}: cannot write it ({e.strerror})") from None
