"""Records as points: the key that matches one record across files, and its samples per element."""

from __future__ import annotations

import numpy as np

from softbench.results.naming import kernel_label
from softbench.results.schema import Record, ResultFile


def point_key(r: Record) -> tuple[str, str, int, int, str | None, int, str | None]:
    """A point: (algorithm, isa, n, threads, variant, rows, tile); one row when the record has no
    shape; tile None is the ISA's default tile (so two tiles of one kernel are two points, and a
    file from before tiles matches the default tile's points of a newer one)."""
    return (r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows, r.tile)


def point_text(k: tuple) -> str:
    alg, isa, n, threads, variant, rows, tile = k
    text = kernel_label(alg, isa, variant, tile) + " " + (f"n={n}" if rows == 1 else f"shape={rows}x{n // rows}")
    return text + (f" threads={threads}" if threads != 1 else "")


def index_points(rf: ResultFile) -> dict[tuple, Record]:
    out: dict[tuple, Record] = {}
    for r in rf.results:
        out.setdefault(point_key(r), r)
    return out


def per_element_samples(r: Record) -> np.ndarray:
    """Raw samples as ns per element per call."""
    return np.asarray(r.samples_ns, dtype=np.float64) / (r.calls_per_sample * r.n)


def user_kernels(rf: ResultFile) -> dict[tuple[str, str], dict]:
    """(name, isa) -> what its records say about each user kernel in the file (`run --kernel`)."""
    out: dict[tuple[str, str], dict] = {}
    for r in rf.results:
        if r.user_kernel is not None:
            out.setdefault((r.algorithm, r.isa), r.user_kernel)
    return out


def user_kernel_names(rf: ResultFile) -> list[str]:
    return sorted({name for name, _ in user_kernels(rf)})
