"""How records are named and ordered for people: display orders, series names, sort keys, and
which ISA counts as "best" (the catalog's order, widest first)."""

from __future__ import annotations

from typing import Iterable, Sequence

from softbench.catalog import ISAS, algorithms

# Display orders; names not listed sort after these, alphabetically. Algorithms in the catalog's
# order (native/kernels.def); ISAs narrowest first: the catalog's best-first order (native/isas.def)
# reversed.
ALGORITHM_ORDER: tuple[str, ...] = tuple(algorithms())
ISA_ORDER: tuple[str, ...] = tuple(reversed(ISAS))
REGIME_ORDER = ("L1", "L2", "L3", "transition", "DRAM", "unknown")


def best_isa(names: Iterable[str]) -> str | None:
    """The best of `names` by the catalog's order (kernels.ISAS, best first); None when none is an ISA."""
    present = set(names)
    return next((isa for isa in ISAS if isa in present), None)


def order_key(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def sort_key(algorithm: str, isa: str = "", n: int = 0, threads: int = 1, variant: str | None = None, rows: int = 1,
             tile: str | None = None):
    return (order_key(algorithm, ALGORITHM_ORDER), order_key(isa, ISA_ORDER), rows > 1, n, rows, threads, variant or "",
            tile or "")  # fmt: skip


def _tags(variant: str | None, tile: str | None) -> str:
    """"[x32-acc2,nt]": the kernel's tile (none for its ISA's default) and store variant, so that
    a default-tile kernel keeps the name it had before tiles existed."""
    tags = [t for t in (tile, variant) if t]
    return f"[{','.join(tags)}]" if tags else ""


def series_name(algorithm: str, variant: str | None = None, threads: int = 1, rows: int = 1, tile: str | None = None) -> str:
    """How tables and plots name a series: "two-pass", "two-pass[nt]", "two-pass[x32-acc2]" (a tile
    other than the default), "two-pass x4" (4 threads), "two-pass batch x4" (batches of rows)."""
    return algorithm + _tags(variant, tile) + (" batch" if rows > 1 else "") + (f" x{threads}" if threads != 1 else "")


def record_series(r) -> str:
    """series_name of a Record."""
    return series_name(r.algorithm, r.variant, r.threads, r.rows, r.tile)


def kernel_label(algorithm: str, isa: str, variant: str | None = None, tile: str | None = None) -> str:
    """How progress lines and warnings name one kernel: "two-pass/avx2", "two-pass[nt]/avx2",
    "two-pass[x64-acc2]/avx2"."""
    return f"{algorithm}{_tags(variant, tile)}/{isa}"
