"""How softbench's plots look: colours and markers per algorithm, matplotlib settings, axes,
legends and the deterministic save (the same data gives the same bytes)."""

from __future__ import annotations

import math
import re
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from softbench.reporters import tables as tb
from softbench.results import naming, regimes
from softbench.results.schema import Record, ResultFile


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
LIBRARY_COLOURS = {"numpy": "#E69F00", "scipy": "#999999", "torch": "#CC79A7", "onnxruntime": "#000000", "xnnpack": "#AA4499"}
# Users' own kernels (`run --kernel`), and any other name: colours none of the above uses (Tol's
# muted palette), one per name, the same in every plot; drawn with a plus marker.
USER_COLOURS = ("#882255", "#332288", "#999933", "#44AA99", "#661100", "#6699CC")
USER_KERNEL = " (user kernel)"
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
    return USER_COLOURS[zlib.crc32(base.encode()) % len(USER_COLOURS)]


def _paper_label(isa: str, v: float) -> str:
    return f"paper: Two-Pass up to {v:.2f}x ({'AVX-512' if isa == 'avx512f' else isa.upper()}, out of cache)"


def _marker(name: str) -> str:
    return "P" if name.endswith(USER_KERNEL) else _MARKERS.get(name.split("[")[0].split(" ")[0], "x")


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
    try:
        fig.savefig(png, format="png", metadata={"Software": None})
        # the layout is done: keep it for the SVG instead of solving it again (half the time)
        fig.set_layout_engine("none")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": "softbench", "Format": None, "Type": None})
    except OSError:
        for p in (png, svg):  # a plot cut short by a full disk is not left looking like a plot
            p.unlink(missing_ok=True)
        raise
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
    for r in sorted(rf.results, key=lambda r: naming.sort_key(r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows, r.tile)):
        k = (r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows, r.tile)
        if (r.isa != isa and r.isa != LIBRARY_ISA) or k in seen or r.rows > 1:  # batches: scaling, row length
            continue
        seen.add(k)
        name = naming.record_series(r) + (" (library)" if r.isa == LIBRARY_ISA and isa != LIBRARY_ISA else "")
        name += USER_KERNEL if r.user_kernel is not None else ""
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
