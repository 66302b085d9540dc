"""From names to a kernel: (algorithm, ISA or "auto", store variant) -> the compiled function.

Used by the public API and by the measurement, so it lives below both."""

from __future__ import annotations

from softbench.bridge import build
from softbench.catalog import check_algorithm
from softbench.errors import InputError
from softbench.host import isa as isa_mod

VARIANTS = ("temporal", "nt")  # forced store kinds; None: chosen by size (non-temporal past the LLC)


def check_variant(variant: str | None) -> str | None:
    if variant in (None, "", "auto"):
        return None
    if variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}; choose one of: auto, {', '.join(VARIANTS)}")
    return variant


_resolved: dict[tuple, tuple] = {}  # (algorithm, isa, variant) -> (fn, module): a call costs a lookup


def kernel(algorithm: str, isa: str, variant: str | None = None):
    """(cffi function pointer, module) for an algorithm on an ISA this host runs ("auto" allowed).

    variant None picks normal or non-temporal output stores by size; "temporal"/"nt" force one."""
    hit = _resolved.get((algorithm, isa, variant))
    if hit is not None:
        return hit
    check_algorithm(algorithm)
    variant = check_variant(variant)
    name = isa_mod.resolve(isa)
    module = build.use_store_policy(build.load(name))  # normal or nt stores by size, as run uses
    hit = (module.variants[(algorithm, variant)][0] if variant else module.kernels[algorithm]), module
    _resolved[(algorithm, isa, variant)] = hit
    return hit
