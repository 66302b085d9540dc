"""The plots of one result file: throughput, speedup over Three-Pass, roofline efficiency,
accuracy, scaling with threads, row length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softbench.analysis import crossovers, summaries
from softbench.analysis.points import user_kernel_names
from softbench.bench.measure import EFFECTIVE_BYTES
from softbench.reporters import tables as tb
from softbench.reporters.plot_style import LIBRARY_ISA
from softbench.reporters.plot_style import USER_KERNEL
from softbench.reporters.plot_style import _marker
from softbench.reporters.plot_style import _ACCURACY_TARGET
from softbench.reporters.plot_style import _PAPER_COLOUR
from softbench.reporters.plot_style import _ZERO_ERROR
from softbench.reporters.plot_style import _bounds
from softbench.reporters.plot_style import _collect
from softbench.reporters.plot_style import _error_axis
from softbench.reporters.plot_style import _figure
from softbench.reporters.plot_style import _gbps_axis
from softbench.reporters.plot_style import _isas
from softbench.reporters.plot_style import _legend
from softbench.reporters.plot_style import _line
from softbench.reporters.plot_style import _mpl
from softbench.reporters.plot_style import _n_axis
from softbench.reporters.plot_style import _paper_label
from softbench.reporters.plot_style import _save
from softbench.reporters.plot_style import _series
from softbench.reporters.plot_style import algorithm_colour
from softbench.results import naming
from softbench.results.schema import Record, ResultFile


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
    """Two-Pass, online and every user kernel over each Three-Pass against N, one panel per ISA,
    with 1x, the paper's out-of-cache figure for the ISA and each crossover marked."""
    pts = summaries.speedup_points(rf)
    isas = [i for i in _isas(rf) if any(p.isa == i for p in pts)]
    cross = {(c.algorithm, c.baseline, c.isa): c for c in crossovers.crossovers(rf)}
    with _mpl():
        fig, axes = _figure(len(isas))
        handles: dict[str, Any] = {}
        for ax, isa in zip(axes, isas):
            ns = sorted({p.n for p in pts if p.isa == isa})
            users = user_kernel_names(rf)
            for alg in (*summaries.FAST_ALGORITHMS, *users):
                shown = alg + (USER_KERNEL if alg in users else "")
                for base, style in zip(summaries.THREE_PASS, ("-", "--")):
                    s = [p for p in pts if p.isa == isa and p.algorithm == alg and p.baseline == base]
                    if not s:
                        continue
                    _line(ax, shown, [p.n for p in s], [p.speedup for p in s], label=f"{shown} over {base}", style=style,
                          marker=_marker(shown))  # fmt: skip
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
                recs = [r for r in recs if r.max_rel_error is not None]  # imported: never checked
                if not recs:
                    continue
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
        if r.isa != LIBRARY_ISA and not r.variant and not r.tile:
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
