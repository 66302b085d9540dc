"""The Python entry point to every kernel: softbench.softmax()."""

from __future__ import annotations

import numpy as np

from softbench.errors import InputError


def kernel(algorithm: str, isa: str):
    """(cffi function pointer, module) for an algorithm on an ISA this host runs ("auto" allowed)."""
    from softbench import build
    from softbench import isa as isa_mod
    from softbench.kernels import check_algorithm

    check_algorithm(algorithm)
    name = isa_mod.resolve(isa)
    module = build.load(name)
    return module.kernels[algorithm], module


def softmax(x, algorithm: str = "two-pass", isa: str = "auto", out=None) -> np.ndarray:
    """y = exp(x) / sum(exp(x)) for a 1-D C-contiguous float32 array, by one of softbench's kernels.

    ``isa="auto"`` picks the best ISA this host runs. ``out`` may be a separate float32 array of
    the same length or ``x`` itself (in place); other overlaps are refused. Masked entries (-inf)
    give exactly 0; a row that is all -inf, or holds NaN or +inf, gives NaN everywhere.
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
        if out.ctypes.data != x.ctypes.data and np.may_share_memory(out, x):
            raise ValueError("out overlaps x without being x; pass out=x for in place, or a separate array")
    fn, module = kernel(algorithm, isa)
    n = x.size
    if n:
        ffi = module.ffi
        fn(n, ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", out.ctypes.data))
    return out


def _check_array(label: str, a: np.ndarray) -> None:
    if a.dtype != np.float32:
        raise TypeError(f"{label} must be float32, got {a.dtype}; convert with {label}.astype(numpy.float32)")
    if a.ndim != 1:
        raise ValueError(f"{label} must be 1-D, got shape {a.shape}; softmax one row at a time")
    if not a.flags.c_contiguous:
        raise ValueError(f"{label} must be C-contiguous; use numpy.ascontiguousarray({label})")
    if a.ctypes.data % 4:
        raise ValueError(f"{label} must be 4-byte aligned (address {a.ctypes.data:#x})")


__all__ = ["softmax", "kernel", "InputError"]
