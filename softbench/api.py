"""The Python entry point to every kernel: softbench.softmax(), and softbench.load_kernel() for a
user's own."""

from __future__ import annotations

import shlex
from typing import Sequence

import numpy as np

from softbench.analysis import tuning
from softbench.bench import user_kernels, user_verify
from softbench.bridge import build
from softbench.bridge.resolve import check_variant, kernel, VARIANTS
from softbench.errors import InputError
from softbench.host import isa as isa_mod, threads as th


def auto_kernel(n: int, isa_name: str):
    """(cffi function pointer, algorithm) that algorithm="auto" runs for n elements on an ISA this
    host runs: the fastest measured for n by the last `softbench tune` on this machine, in the tile
    it chose, else the default rule (softbench.tuning.DEFAULT_RULE) in the default tile."""
    fn, alg, _ = auto_choice(n, isa_name)
    return fn, alg


def auto_choice(n: int, isa_name: str):
    """(cffi function pointer, algorithm, module) of auto_kernel: the module is the chosen tile's."""
    alg, tile = tuning.choose_kernel(n, isa_name)
    module = build.use_store_policy(build.load(isa_name, tile))
    return module.kernels[alg], alg, module


def softmax(x, algorithm: str = "two-pass", isa: str = "auto", out=None, variant: str | None = None,
            threads: int = 1) -> np.ndarray:
    """y = exp(x) / sum(exp(x)) by one of softbench's kernels, for a C-contiguous float32 array:
    one row (1-D), or a batch of rows (2-D, rows x columns: softmax over each row, the last axis;
    each row is independent of the others).

    ``algorithm="auto"`` picks, for the row length, the algorithm (and tile, with `tune --tiles`)
    the last `softbench tune` on this machine measured fastest on that ISA (read once from the
    tuning file and cached); without a
    tuning file, or with one from another machine or softbench version, the default rule:
    three-pass-reload while a row's input and output fit in the last-level cache, two-pass beyond.

    ``isa="auto"`` picks the best ISA this host runs. ``out`` may be a separate float32 array of
    the same shape or ``x`` itself (in place); other overlaps are refused. Masked entries (-inf)
    give exactly 0; a row that is all -inf, or holds NaN or +inf, gives NaN everywhere in that row.
    ``variant`` forces the output stores ("temporal" or "nt", non-temporal); by default they are
    non-temporal once a row's input reaches the last-level cache's size.

    ``threads`` splits the call across that many threads of a pool created once per process (the
    workers are pinned to distinct CPUs; more threads than the CPUs this process may use is a
    ValueError with the number):
    the rows of a batch in blocks, or a single row in chunks whose partial sums are merged between
    passes. The outputs equal the one-thread outputs to within the kernels' accuracy (the sums are
    added in another order).
    """
    check_input(x)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if threads > 1 and threads > max_threads():
        raise ValueError(f"{threads} threads: this process may use {max_threads()} CPUs; ask for at most that many")
    out = checked_output(x, out)
    rows, cols = x.shape if x.ndim == 2 else (1, x.size)
    if algorithm == "auto":
        name = isa_mod.resolve(isa)
        fn, alg, module = auto_choice(cols, name)
        if check_variant(variant):
            fn = module.variants[(alg, check_variant(variant))][0]
    else:
        try:
            fn, module = kernel(algorithm, isa, variant)
        except InputError as exc:
            if str(exc).startswith("unknown algorithm"):
                raise InputError(f"{exc}, or 'auto' (the fastest measured here for the row length)") from None
            raise
        alg = algorithm
    n = x.size
    xp, yp = buffers(module.ffi, x, out)
    if not n:
        return out
    if threads > 1:
        _parallel(module, alg, check_variant(variant), fn, int(threads), rows, cols, xp, yp)
    elif rows == 1:
        fn(n, xp, yp)
    else:
        build.load(build.HARNESS_ISA).lib.sb_batch(fn, rows, cols, xp, yp)
    return out


def max_threads() -> int:
    """The most threads one call may use: one per CPU this process may run on (more would only
    queue up, and an absurd count would build a pool of that size)."""
    return len(th.allowed_cpus())


def check_input(x) -> None:
    """The checks every softmax entry point (softmax, and user kernels from load_kernel) makes on x."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of float32, got {type(x).__name__}")
    _check_array("x", x)


def checked_output(x: np.ndarray, out):
    """The output array for a checked x: out itself once checked, or a new one when None."""
    if out is None:
        return np.empty_like(x)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray of float32, got {type(out).__name__}")
    _check_array("out", out)
    if out.shape != x.shape:
        raise ValueError(f"out has shape {out.shape} ({out.size} elements) but x has shape {x.shape}; they must match")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    return out


def buffers(ffi, x: np.ndarray, out: np.ndarray):
    """cffi pointers to x and out; refuses an out that overlaps x without being x."""
    # from_buffer, not .ctypes.data or __array_interface__: those cost microseconds per call
    xp, yp = ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", out, require_writable=True)
    ax, ay = int(ffi.cast("uintptr_t", xp)), int(ffi.cast("uintptr_t", yp))
    n = x.size
    if ax != ay and ax < ay + 4 * n and ay < ax + 4 * n:
        raise ValueError("out overlaps x without being x; pass out=x for in place, or a separate array")
    return xp, yp


_works: dict[tuple, object] = {}  # (algorithm, isa, variant, store kind, fn) -> threads.Work


def _parallel(module, alg: str, variant: str | None, fn, threads: int, rows: int, cols: int, xp, yp) -> None:
    key = (alg, module.isa, variant, th.store_kind(module, variant, cols), fn)
    work = _works.get(key)
    if work is None:
        work = _works[key] = th.kernel_work(module, alg, variant, cols, fn=fn)
    th.pool(threads).run(work.cdata, rows, cols, xp, yp)


def _check_array(label: str, a: np.ndarray) -> None:
    if a.dtype != np.float32:
        raise TypeError(f"{label} must be float32, got {a.dtype}; convert with {label}.astype(numpy.float32)")
    if a.ndim not in (1, 2):
        raise ValueError(f"{label} must be 1-D (one row) or 2-D (rows x columns, softmax over each row), got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{label} must be C-contiguous; use numpy.ascontiguousarray({label})")
    if not a.flags.aligned:  # numpy's own test: the address is a multiple of the item size
        raise ValueError(f"{label} must be 4-byte aligned (address {a.ctypes.data:#x})")


__all__ = ["softmax", "load_kernel", "kernel", "check_variant", "VARIANTS", "InputError"]


# --- a user's own kernel: softbench.load_kernel -------------------------------------------------


class LoadedKernel:
    """A user's kernel as a Python callable: ``f(x, out=None)`` on a C-contiguous float32 array,
    1-D (one row) or 2-D (softmax over each row), with softmax()'s checks on x and out.
    ``out=x`` runs it in place, which is right only if the kernel allows y == x."""

    def __init__(self, kernel: user_kernels.UserKernel, checked: user_verify.Outcome | None = None) -> None:
        self.kernel = kernel
        self.verification = checked  # None when not verified

    name = property(lambda self: self.kernel.name)
    isa = property(lambda self: self.kernel.isa)
    traffic = property(lambda self: self.kernel.traffic)
    source_sha256 = property(lambda self: self.kernel.source_sha256)
    compile_command = property(lambda self: self.kernel.compile_command)

    def __repr__(self) -> str:
        return f"<softbench user kernel {self.kernel.label} ({self.kernel.traffic.describe()})>"

    def __call__(self, x, out=None):
        check_input(x)
        out = checked_output(x, out)
        xp, yp = buffers(build.shared_ffi(), x, out)
        if x.size:
            if x.ndim == 1:
                self.kernel.fn(x.size, xp, yp)
            else:
                build.load(build.HARNESS_ISA).lib.sb_batch(self.kernel.fn, x.shape[0], x.shape[1], xp, yp)
        return out


def load_kernel(spec: str, passes: str | None = None, *, read_bytes: int | None = None, write_bytes: int | None = None,
                cflags: Sequence[str] | str = (), name: str | None = None, verify: bool = True,
                timeout: float | None = None) -> LoadedKernel:
    """Build (or load, for a .so) the kernel FILE:SYMBOL[@ISA] and return it as a callable.

    passes ("r, rw") or read_bytes/write_bytes declare its traffic, as in a suite's [[kernel]]
    table. With verify (the default), the correctness matrix runs first, in a child process, and a
    kernel that fails, crashes or hangs is refused with an InputError naming the first bad case."""
    where = f"load_kernel({spec!r})"
    if passes is not None and (read_bytes is not None or write_bytes is not None):
        raise InputError(f"{where}: give passes or read_bytes/write_bytes, not both")
    if passes is not None:
        traffic = user_kernels.parse_passes(passes, where=where)
    elif read_bytes is not None or write_bytes is not None:
        traffic = user_kernels.parse_bytes(read_bytes, write_bytes, where=where)
    else:
        traffic = user_kernels.UNDECLARED
    flags = shlex.split(cflags) if isinstance(cflags, str) else list(cflags)
    kernel = user_kernels.prepare(user_kernels.parse_spec(spec, traffic, flags, name, where=where))
    checked = None
    if verify:
        checked = user_verify.verify_in_child(kernel, timeout=timeout or user_verify.DEFAULT_TIMEOUT)
        if not checked.passed:
            raise InputError(f"kernel {spec}: {checked.message}")
    return LoadedKernel(kernel, checked)
