"""From names to a kernel: (algorithm, ISA or "auto", store variant, tile) -> the compiled function.

Used by the public API and by the measurement, so it lives below both."""

from __future__ import annotations

from softbench.bridge import build
from softbench.catalog import check_algorithm, check_tile
from softbench.errors import InputError
from softbench.host import isa as isa_mod

VARIANTS = ("temporal", "nt")  # forced store kinds; None: chosen by size (non-temporal past the LLC)


def check_variant(variant: str | None) -> str | None:
    if variant in (None, "", "auto"):
        return None
    if variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}; choose one of: auto, {', '.join(VARIANTS)}")
    return variant


_resolved: dict[tuple, tuple] = {}  # (algorithm, isa, variant, tile) -> (fn, module): a call costs a lookup


def kernel(algorithm: str, isa: str, variant: str | None = None, tile: str | None = None):
    """(cffi function pointer, module) for an algorithm on an ISA this host runs ("auto" allowed).

    variant None picks normal or non-temporal output stores by size; "temporal"/"nt" force one.
    tile None (or "default") is the ISA's default tile; else a tile name of that ISA (catalog.TILES)."""
    hit = _resolved.get((algorithm, isa, variant, tile))
    if hit is not None:
        return hit
    check_algorithm(algorithm)
    variant = check_variant(variant)
    name = isa_mod.resolve(isa)
    shape = check_tile(name, tile)
    module = build.use_store_policy(build.load(name, shape))  # normal or nt stores by size, as run uses
    hit = (module.variants[(algorithm, variant)][0] if variant else module.kernels[algorithm]), module
    _resolved[(algorithm, isa, variant, tile)] = hit
    return hit
