"""Across machines: per algorithm and regime (L1, L2, L3, transition, DRAM) each machine's
ns/element, GB/s and roofline efficiency, and the Two-Pass (and online) speedup over each
Three-Pass. Points are matched by *regime*, not by N, because machines run different sizes and
the same N falls in different caches on each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from softbench.analysis.crossovers import Crossover, crossovers
from softbench.analysis.machines import check_files
from softbench.analysis.machines import context_table
from softbench.analysis.machines import file_labels
from softbench.analysis.machines import file_notes
from softbench.analysis.machines import machine_name
from softbench.analysis.machines import same_machine
from softbench.analysis.summaries import PAPER_SPEEDUP
from softbench.analysis.summaries import RegimeCell
from softbench.analysis.summaries import SpeedupPoint
from softbench.analysis.summaries import geomean_or_none
from softbench.analysis.summaries import regime_summary
from softbench.analysis.summaries import speedup_points
from softbench.results.naming import ALGORITHM_ORDER, best_isa, ISA_ORDER, order_key, REGIME_ORDER
from softbench.results.schema import ResultFile


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
    check_files(files)
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
