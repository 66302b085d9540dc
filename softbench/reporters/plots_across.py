"""The plots across result files (machines or runs side by side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from softbench.analysis import cross_machine, summaries
from softbench.reporters.plot_style import _ACCURACY_TARGET
from softbench.reporters.plot_style import _FILE_STYLES
from softbench.reporters.plot_style import _PAPER_COLOUR
from softbench.reporters.plot_style import _ZERO_ERROR
from softbench.reporters.plot_style import _collect
from softbench.reporters.plot_style import _collect_files
from softbench.reporters.plot_style import _error_axis
from softbench.reporters.plot_style import _figure
from softbench.reporters.plot_style import _gbps_axis
from softbench.reporters.plot_style import _legend
from softbench.reporters.plot_style import _mpl
from softbench.reporters.plot_style import _n_axis
from softbench.reporters.plot_style import _paper_label
from softbench.reporters.plot_style import _save
from softbench.reporters.plot_style import _series
from softbench.reporters.plot_style import algorithm_colour
from softbench.results import naming
from softbench.results.schema import ResultFile


_ACROSS = {  # metric: (value of a record or None, y axis)
    "throughput": (lambda r: r.gbps_effective, "throughput"),
    "efficiency": (lambda r: None if r.roofline_efficiency is None else 100.0 * r.roofline_efficiency, "efficiency"),
    "accuracy": (lambda r: None if r.max_rel_error is None else r.max_rel_error if r.max_rel_error > 0 else _ZERO_ERROR, "accuracy"),
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
