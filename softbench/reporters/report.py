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

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from softbench.analysis import compare as cmp, crossovers, machines, same_machine, summaries
from softbench.catalog import algorithms
from softbench.errors import InputError
from softbench.reporters import tables as tb
from softbench.reporters.document import _Details
from softbench.reporters.document import _Heading
from softbench.reporters.document import _Image
from softbench.reporters.document import _List
from softbench.reporters.document import _Para
from softbench.reporters.document import _slug
from softbench.reporters.document import _to_html
from softbench.reporters.document import _to_markdown
from softbench.reporters.plots import _row_length_groups
from softbench.reporters.plots import plot_accuracy
from softbench.reporters.plots import plot_efficiency
from softbench.reporters.plots import plot_row_length
from softbench.reporters.plots import plot_scaling
from softbench.reporters.plots import plot_speedup
from softbench.reporters.plots import plot_throughput
from softbench.reporters.plots_across import plot_across, plot_across_speedup
from softbench.results.schema import ResultFile

__all__ = [
    "ReportOutput",
    "write_report",
]


@dataclass
class ReportOutput:
    markdown: Path
    html: Path | None
    plots: list[Path]  # every PNG and SVG written
    notes: list[str]  # what the reader should know (also in the report)
    comparison: Any = None  # the compare result embedded, when there are >= 2 files
    files_written: list[Path] = field(default_factory=list)


def _traffic_text() -> str:
    """'16 B three-pass-recompute, 20 B three-pass-reload, 12 B two-pass and online', from the
    catalog's traffic model (native/kernels.def), in its order."""
    by_bytes: dict[int, list[str]] = {}
    for name, a in algorithms().items():
        by_bytes.setdefault(a.bytes_total, []).append(name)
    return ", ".join(f"{b:g} B {' and '.join(names)}" for b, names in by_bytes.items())


_HOW_TO_READ = [
    "Regimes label each point by its working set (input + output = 8 bytes per element): L1, L2, L3 while it fits that "
    "cache level; DRAM only when the input alone is at least 4x the last-level cache (the STREAM rule); between the "
    "last-level cache and that bound the point is 'transition'. The dashed lines in the plots are these boundaries.",
    "GB/s are decimal (1 GB = 1e9 bytes). 'Effective' counts 8 bytes per element (one read of x, one write of y, as "
    "XNNPACK reports); 'actual' counts each algorithm's traffic model (read x + read y + write y: "
    f"{_traffic_text()}; stores' read-for-ownership not counted).",
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
    new_folders = [d for d in (plots, *plots.parents) if not d.exists()]
    try:
        plots.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{plots}: cannot create the output folder ({e.strerror})") from None
    try:
        return _write_report(files, out, plots, markdown_name, html_name, plots_dir, title, mode, isa, alpha, notes)
    except OSError as e:
        for d in new_folders:  # folders this call made and left empty go again
            try:
                d.rmdir()
            except OSError:
                break
        raise InputError(f"{out}: cannot write the report ({e.strerror}{': ' + str(e.filename) if e.filename else ''}); "
                         "free space or choose another --output, and run again") from None  # fmt: skip


def _write_report(files, out, plots, markdown_name, html_name, plots_dir, title, mode, isa, alpha, notes) -> ReportOutput:

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
        if any(r.max_rel_error is not None for r in f.results):
            blocks.append(image(plot_accuracy(f, base.with_name(f"{slug}-accuracy"), f"{name}\naccuracy"),
                                f"{label}: max relative error against N per ISA"))  # fmt: skip
        else:
            blocks.append(_Para("No accuracy: the file's points were not checked against a reference (imported)."))
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
        f"Later runs against {result.files[0]}: ratio of the medians (later / {result.files[0]}; above 1 is slower), the "
        "Hodges-Lehmann ratio with its distribution-free 95% interval, and a two-sided Mann-Whitney U test on the raw samples "
        f"(significant: p < {result.alpha:g} after the correction for the number of points, >= {result.min_samples} samples per side)."
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
        if e.errno in (errno.ENOSPC, errno.EDQUOT):  # a truncated file is not left behind
            path.unlink(missing_ok=True)
        raise
