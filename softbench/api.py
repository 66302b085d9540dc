"""The Python entry point to every kernel: softbench.softmax()."""

from __future__ import annotations

import numpy as np

from softbench.errors import InputError


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
    from softbench import build
    from softbench import isa as isa_mod
    from softbench.kernels import check_algorithm

    check_algorithm(algorithm)
    variant = check_variant(variant)
    name = isa_mod.resolve(isa)
    module = build.load(name)
    hit = (module.variants[(algorithm, variant)][0] if variant else module.kernels[algorithm]), module
    _resolved[(algorithm, isa, variant)] = hit
    return hit


def auto_kernel(n: int, isa_name: str):
    """(cffi function pointer, algorithm) that algorithm="auto" runs for n elements on an ISA this
    host runs: the fastest measured for n by the last `softbench tune` on this machine, else the
    default rule (softbench.tuning.DEFAULT_RULE)."""
    from softbench import build, tuning

    alg = tuning.choose(n, isa_name)
    return build.load(isa_name).kernels[alg], alg


def softmax(x, algorithm: str = "two-pass", isa: str = "auto", out=None, variant: str | None = None) -> np.ndarray:
    """y = exp(x) / sum(exp(x)) for a 1-D C-contiguous float32 array, by one of softbench's kernels.

    ``algorithm="auto"`` picks, for len(x), the algorithm the last `softbench tune` on this machine
    measured fastest on that ISA (read once from the tuning file and cached); without a tuning
    file, or with one from another machine or softbench version, the default rule: three-pass-reload
    while input and output fit in the last-level cache, two-pass beyond.

    ``isa="auto"`` picks the best ISA this host runs. ``out`` may be a separate float32 array of
    the same length or ``x`` itself (in place); other overlaps are refused. Masked entries (-inf)
    give exactly 0; a row that is all -inf, or holds NaN or +inf, gives NaN everywhere.
    ``variant`` forces the output stores ("temporal" or "nt", non-temporal); by default they are
    non-temporal once the input reaches the last-level cache's size.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of float32, got {type(x).__name__}")
    _check_array("x", x)
    if out is None:
        out = np.empty_like(x)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray of float32, got {type(out).__name__}")
        _check_array("out", out)
        if out.shape != x.shape:
            raise ValueError(f"out has {out.size} elements but x has {x.size}; they must match")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
    if algorithm == "auto":
        from softbench import build
        from softbench import isa as isa_mod

        name = isa_mod.resolve(isa)
        fn, alg = auto_kernel(x.size, name)
        module = build.load(name)
        if check_variant(variant):
            fn = module.variants[(alg, check_variant(variant))][0]
    else:
        try:
            fn, module = kernel(algorithm, isa, variant)
        except InputError as exc:
            if str(exc).startswith("unknown algorithm"):
                raise InputError(f"{exc}, or 'auto' (the fastest measured here for len(x))") from None
            raise
    n = x.size
    # from_buffer, not .ctypes.data or __array_interface__: those cost microseconds per call
    ffi = module.ffi
    xp, yp = ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", out, require_writable=True)
    ax, ay = int(ffi.cast("uintptr_t", xp)), int(ffi.cast("uintptr_t", yp))
    if ax != ay and ax < ay + 4 * n and ay < ax + 4 * n:
        raise ValueError("out overlaps x without being x; pass out=x for in place, or a separate array")
    if n:
        fn(n, xp, yp)
    return out


def _check_array(label: str, a: np.ndarray) -> None:
    if a.dtype != np.float32:
        raise TypeError(f"{label} must be float32, got {a.dtype}; convert with {label}.astype(numpy.float32)")
    if a.ndim != 1:
        raise ValueError(f"{label} must be 1-D, got shape {a.shape}; softmax one row at a time")
    if not a.flags.c_contiguous:
        raise ValueError(f"{label} must be C-contiguous; use numpy.ascontiguousarray({label})")
    if not a.flags.aligned:  # numpy's own test: the address is a multiple of the item size
        raise ValueError(f"{label} must be 4-byte aligned (address {a.ctypes.data:#x})")


__all__ = ["softmax", "kernel", "InputError"]
