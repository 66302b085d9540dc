"""A suite resolved against this host: its sizes and shapes within the memory there is, the
ISAs it runs, the thread counts it has CPUs for."""

from __future__ import annotations

from typing import Iterable, NamedTuple

from softbench.bench.sizes import LLCMultiple
from softbench.bench.sizes import Size
from softbench.bench.sizes import Sweep
from softbench.bench.sizes import _llc_elements
from softbench.bench.sizes import _refuse_memory
from softbench.bench.sizes import _sweep_points
from softbench.bench.sizes import bytes_needed
from softbench.bench.suites import ISAS, Suite
from softbench.catalog import TILES, tile_names
from softbench.errors import InputError
from softbench.results import naming


class IsaSelection(NamedTuple):
    """ISAs to run, and the ISAs the suite named that this host lacks (to tell the user)."""

    isas: tuple[str, ...]
    skipped: tuple[str, ...]


def resolve_shapes(suite: Suite, llc_bytes: int | None, available_bytes: int | None) -> list[tuple[int, int]]:
    """The suite's batch shapes for this machine, as (rows, cols) in the suite's order. A shape
    that does not fit in `available_bytes` is an InputError with the numbers."""
    src = suite.source or f"suite '{suite.name}'"
    out = []
    for s in suite.shapes:
        shape = (s.rows, _llc_elements(s.cols, llc_bytes, src, "shapes", "--shape 4096x8192"))
        if available_bytes is not None and bytes_needed(shape[0] * shape[1]) > available_bytes:
            raise _refuse_memory(src, f"shape {shape[0]}x{shape[1]}", shape[0] * shape[1], available_bytes,
                                 "use smaller shapes (--shape) or free memory")  # fmt: skip
        if shape not in out:
            out.append(shape)
    return out


def resolve_sizes(
    suite: Suite,
    llc_bytes: int | None,
    available_bytes: int | None,
    *,
    cap: bool = False,
) -> list[int]:
    """The suite's sizes for this machine: sorted, unique numbers of elements.

    `llc_bytes` is the last-level cache size (None when unknown: then "xLLC" sizes are an error),
    `available_bytes` the memory we may use (None: no check). A size that does not fit is an
    InputError with the numbers; with `cap=True`, sweep points that do not fit are dropped
    instead (the default sweeps go "past 4x LLC, capped by the memory available").
    """
    src = suite.source or f"suite '{suite.name}'"

    def elements(s: Size) -> int:
        return _llc_elements(s, llc_bytes, src, "sizes", "--sizes 4Ki,1M,64M")

    sweep = isinstance(suite.sizes, Sweep)
    if isinstance(suite.sizes, Sweep):
        stop = suite.sizes.stop
        ns = _sweep_points(suite.sizes, elements(stop), past=isinstance(stop, LLCMultiple))
    else:
        ns = [elements(s) for s in suite.sizes]
    ns = sorted(set(ns))
    if available_bytes is None:
        return ns
    fits = [n for n in ns if bytes_needed(n) <= available_bytes]
    if len(fits) == len(ns) or (cap and sweep and fits):
        return fits
    n = next(n for n in ns if bytes_needed(n) > available_bytes)
    raise _refuse_memory(src, f"size N={n:,}", n, available_bytes, "use smaller sizes (--sizes) or free memory")


def best_isa(supported: Iterable[str]) -> str:
    """The best ISA in `supported` by the catalog's order; scalar always works."""
    return naming.best_isa(supported) or "scalar"


def resolve_isas(suite: Suite, supported: Iterable[str], *, strict: bool = False) -> IsaSelection:
    """The suite's ISAs on a host supporting `supported` (scalar is always supported).

    "best" and "all" expand; a named ISA the host lacks is skipped and listed in `skipped` (the
    paper suite names avx2 and avx512f, "those present"), or with strict=True is an InputError
    (for an ISA the user asked for by name). No ISA left at all is an InputError.
    """
    sup = set(supported) | {"scalar"}
    src = suite.source or f"suite '{suite.name}'"
    chosen: list[str] = []
    skipped: list[str] = []
    for isa in suite.isas:
        if isa == "best":
            chosen.append(best_isa(sup))
        elif isa == "all":
            chosen.extend(i for i in ISAS if i in sup)
        elif isa in sup:
            chosen.append(isa)
        else:
            if strict:
                raise InputError(f"{src}: ISA '{isa}' is not supported by this host (it supports "
                                 f"{', '.join(i for i in ISAS if i in sup)}); use --isa best")  # fmt: skip
            skipped.append(isa)
    if not chosen:
        raise InputError(f"{src}: none of the suite's ISAs ({', '.join(suite.isas)}) is supported "
                         f"by this host (it supports {', '.join(i for i in ISAS if i in sup)}); "
                         "use --isa best")  # fmt: skip
    return IsaSelection(tuple(dict.fromkeys(chosen)), tuple(dict.fromkeys(skipped)))


def resolve_threads(suite: Suite, cpus: int, *, strict: bool = False) -> tuple[list[int], list[int]]:
    """(thread counts to run, ascending; counts skipped) on a host where the process may use `cpus`
    CPUs. "all" is `cpus`. Each thread needs a CPU of its own, so a count above `cpus` is skipped
    (a suite written for a bigger machine), or with strict=True (asked for on the command line)
    an InputError."""
    src = suite.source or f"suite '{suite.name}'"
    counts = sorted({cpus if t == "all" else t for t in suite.threads})
    over = [t for t in counts if t > cpus]
    if over and (strict or len(over) == len(counts)):
        raise InputError(f"{src}: {over[0]} threads need {over[0]} CPUs, but this process may use {cpus}; "
                         "use --threads with counts up to that, or 'all'")  # fmt: skip
    return [t for t in counts if t <= cpus], over


# The --variants words that select tiles rather than store kinds: each ISA's default tile, every tile.
DEFAULT_TILE, ALL_TILES = "default", "tiles"


def is_tile_word(word: str) -> bool:
    return word in (DEFAULT_TILE, ALL_TILES) or word in tile_names()


def resolve_tiles(words: Iterable[str], isas: Iterable[str]) -> tuple[dict[str, list[str | None]], list[str]]:
    """The tiles to measure per ISA from the --variants words that name tiles ("default", "tiles",
    tile names; none given: the default tile): ISA -> tile names in tiles.def's order, None for
    the default tile (records and labels leave it unnamed); an ISA that has none of the named
    tiles maps to []. Also returns warnings for tile names some of the ISAs lack; a tile name none
    of them has is an InputError."""
    words = list(dict.fromkeys(words)) or [DEFAULT_TILE]
    isas = list(isas)
    out: dict[str, list[str | None]] = {}
    for isa in isas:
        tiles = TILES[isa]
        chosen = {t for t in tiles if ALL_TILES in words or t in words or (DEFAULT_TILE in words and tiles[t].default)}
        out[isa] = [None if tiles[t].default else t for t in tiles if t in chosen]
    notes = []
    for word in words:
        if word in (DEFAULT_TILE, ALL_TILES):
            continue
        lacking = [isa for isa in isas if word not in TILES[isa]]
        if len(lacking) == len(isas):
            have = "; ".join(f"{isa}: {', '.join(TILES[isa])}" for isa in isas)
            raise InputError(f"command line: no ISA of this run has the tile '{word}' (tiles are per ISA; {have})")
        if lacking:
            notes.append(f"tile {word} is not a tile of {', '.join(lacking)}: not measured there")
    return out, notes
