"""Threads: which CPUs they run on, the persistent pool of native/threads.c, the work a parallel
call runs, and buffers first touched by the threads that use them.

One core cannot draw a server's memory bandwidth, so `softbench run --threads` and
``softmax(x, threads=T)`` split a call across T threads: the rows of a batch in blocks, or one long
row in chunks whose partial states (the pass-1 max, sum, or (M, E) pairs) are merged between
passes (native/threads.h has the rule). A pool is created once per thread count and CPU list and
kept for the process; its workers sleep between measurements.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from softbench.bridge import build
from softbench.errors import SoftbenchError

_allowed: list[int] | None = None


def allowed_cpus() -> list[int]:
    """The CPUs this process may use, as first seen (before `run` pins its measuring thread to one
    of them, which narrows what the OS reports for that thread)."""
    global _allowed
    if _allowed is None:
        try:
            _allowed = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # macOS: no affinity; threads are not pinned there
            _allowed = list(range(os.cpu_count() or 1))
    return list(_allowed)


def _core_of(cpu: int) -> tuple[int, int] | None:
    """(package, core) of a logical CPU from sysfs; None when the OS does not say."""
    base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
    try:
        with open(base + "physical_package_id") as f:
            package = int(f.read())
        with open(base + "core_id") as f:
            return package, int(f.read())
    except (OSError, ValueError):
        return None


def cores_of(cpus: Iterable[int]) -> int | None:
    """How many physical cores these CPUs are on; None when the OS does not say."""
    cores = [_core_of(c) for c in cpus]
    return None if None in cores else len(set(cores))


def cpu_order(cpus: Iterable[int], first: int | None = None) -> list[int]:
    """The CPUs in the order threads take them: `first` (where thread 0 already runs), then one CPU
    per physical core not yet used, then the other hardware threads of used cores, so that each
    thread has a core of its own for as long as there are cores."""
    cpus = sorted(set(cpus))
    order = [first] if first is not None and first in cpus else []
    used = {_core_of(c) for c in order}
    rest = [c for c in cpus if c not in order]
    for c in rest:
        core = _core_of(c)
        if core is None or core not in used:
            order.append(c)
            used.add(core)
    return order + [c for c in rest if c not in order]


class Pool:
    """A native thread pool (sb_pool) of `threads` threads: the caller is thread 0, and worker t
    is pinned to cpus[t]."""

    def __init__(self, threads: int, cpus: Sequence[int]):
        self.harness = build.load(build.HARNESS_ISA)
        ffi, lib = self.harness.ffi, self.harness.lib
        self.threads = threads
        # more threads than CPUs (allowed from Python, refused by `run`) wrap around the list
        self.cpus = [cpus[t % len(cpus)] for t in range(threads)] if cpus else [-1] * threads
        ptr = lib.sb_pool_create(threads, ffi.new("int[]", self.cpus))
        if ptr == ffi.NULL:
            raise SoftbenchError(f"could not start {threads} threads (pthread_create failed); ask for fewer threads")
        self.ptr = ffi.gc(ptr, lib.sb_pool_destroy)
        self.pinned = lib.sb_pool_pinned(ptr)  # workers, not counting the caller

    def _ptrs(self, x: np.ndarray, y: np.ndarray):
        ffi = self.harness.ffi
        return ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y.ctypes.data)

    def run(self, work, rows: int, cols: int, xp, yp) -> None:
        """One parallel call on cffi pointers (softmax(threads=))."""
        self.harness.lib.sb_pool_run(self.ptr, work, rows, cols, xp, yp)

    def time(self, work, rows: int, cols: int, x: np.ndarray, y: np.ndarray, calls: int, ftz_daz: bool) -> float:
        """ns for `calls` parallel calls back to back (the measuring loop of native/threads.c)."""
        return float(self.harness.lib.sb_pool_time(self.ptr, work, rows, cols, *self._ptrs(x, y), calls, int(ftz_daz)))

    def touch(self, buf: np.ndarray, rows: int, cols: int) -> None:
        """First touch: each thread writes zeros into the part of buf it will work on."""
        self.harness.lib.sb_pool_touch(self.ptr, rows, cols, self.harness.ffi.cast("float *", buf.ctypes.data))


_pools: dict[tuple[int, tuple[int, ...] | None], Pool] = {}


def _forget_pools() -> None:
    """In a forked child: the pools' threads stayed in the parent, so the child neither uses nor
    destroys (joins) them; it makes its own on first use."""
    for p in _pools.values():
        p.harness.ffi.gc(p.ptr, None)
    _pools.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def pool(threads: int, cpus: Sequence[int] | None = None) -> Pool:
    """The process's pool of `threads` threads on `cpus` (default: cpu_order(allowed_cpus())),
    created on first use and kept: threads are created once, not per call."""
    key = (threads, tuple(cpus[:threads]) if cpus is not None else None)
    hit = _pools.get(key)
    if hit is None:
        hit = _pools[key] = Pool(threads, cpus if cpus is not None else cpu_order(allowed_cpus()))
    return hit


# --- work ------------------------------------------------------------------------------------


def store_kind(module, variant: str | None, cols: int) -> str:
    """The output stores a row of `cols` gets: the variant's, or by the row's size as the
    size-selected kernel decides (non-temporal once the row reaches sb_nt_min_bytes)."""
    if variant:
        return variant
    return "nt" if 4 * cols >= getattr(module.lib, f"sb_nt_min_bytes__{module.isa}") else "temporal"


@dataclass
class Work:
    """An sb_work (cdata) and what it was made from, kept together so the cdata stays alive."""

    cdata: Any = field(repr=False)
    passes: int  # 0: rows (or elementwise chunks) only
    merges: tuple[int, ...] = ()


def _work(ffi, fn, passes: Sequence[Any], merges: Sequence[int]) -> Work:
    w = ffi.new("sb_work *")
    w.fn = fn if fn is not None else ffi.NULL
    w.passes = len(merges)
    slots = getattr(w, "pass")  # `pass` is a Python keyword
    for k, (p, m) in enumerate(zip(passes, merges)):
        slots[k] = p if p is not None else ffi.NULL
        w.merge[k] = m
    return Work(w, len(merges), tuple(merges))


def kernel_work(module, algorithm: str, variant: str | None, cols: int, *, twin: bool = False, fn=None) -> Work:
    """The work of an algorithm's kernel (or its traffic twin) on rows of `cols` on one ISA module:
    `fn` (default: the module's kernel or twin for the variant) per row, and the algorithm's passes
    with the same store kind, to split a single row. The twin splits exactly as the kernel does."""
    if fn is None:
        entry = module.variants[(algorithm, variant)] if variant else (module.kernels[algorithm], module.twins[algorithm])
        fn = entry[1] if twin else entry[0]
    nt = store_kind(module, variant, cols) == "nt"
    ps = module.passes[algorithm]
    fns = [(p.twin_nt if nt else p.twin) if twin else (p.fn_nt if nt else p.fn) for p in ps]
    return _work(module.ffi, fn, fns, [p.merge for p in ps])


def row_work(module, fn) -> Work:
    """A kernel with no declared passes (a user's kernel, or its twin): whole rows of a batch
    only, in blocks per thread. Never used to split a single row (that needs the passes)."""
    return _work(module.ffi, fn, [], [])


def stream_work(module, fn) -> Work:
    """A STREAM kernel: elementwise, so a single row is split by calling it on each chunk."""
    return _work(module.ffi, fn, [], [])


def empty_work(module, like: Work) -> Work:
    """The same phases and merges as `like`, with nothing to compute: timing it measures the
    synchronisation a parallel call costs (dispatch, barriers, merges)."""
    return _work(module.ffi, None, [None] * like.passes, like.merges)


# --- buffers ---------------------------------------------------------------------------------


def touched_array(rows: int, cols: int, pool_: Pool | None = None) -> np.ndarray:
    """A float32 array of rows x cols (flat) in fresh pages, zeroed by the threads of `pool_` with
    the split they compute with (first touch: each page lands where its thread runs), or by this
    thread without a pool. Page-aligned, with transparent huge pages asked for where numpy would."""
    n = rows * cols
    buf = mmap.mmap(-1, max(4 * n, 1))
    if 4 * n >= 4 << 20 and hasattr(buf, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            buf.madvise(mmap.MADV_HUGEPAGE)
        except OSError:
            pass
    a = np.frombuffer(buf, dtype=np.float32, count=n)
    if pool_ is not None and n:
        pool_.touch(a, rows, cols)
    else:
        a.fill(0.0)
    return a
