"""The sweep: calibrated, interleaved, verified timings of every kernel and its traffic twin at
every size, beside STREAM-style bandwidth figures measured in the same run.

Timing rules (design/measurement.md): time inside C around a loop of calls, calibrated so one
sample lasts >= min_time; warm-up samples discarded; kernels, twins and STREAM kernels
interleaved in a shuffled order per repetition so drift hits them alike; memory touched before
timing; the thread pinned to one CPU; FTZ/DAZ set during timing. Every kernel is verified before
the run and its output checked after timing at every size: a wrong kernel gets no figure.

A point is one row of N elements or a batch (rows x columns, softmax over each row), on one
thread or split across the threads of a pool (softbench.threads). With threads, the buffers are
first touched by the threads that use them, the twins and STREAM kernels run with the same
threads (so the roofline stays the roofline of that many cores), and an empty parallel call of
the same shape is timed beside them: what synchronising the threads costs per call.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from softbench.bench import baselines as bl, stats
from softbench.bench.verify import FLT_MIN, REL_TOLERANCE
from softbench.bridge import build
from softbench.catalog import EFFECTIVE_BYTES, algorithms
from softbench.host import placement, threads
from softbench.host.caches import regime
from softbench.host.threads import allowed_cpus
from softbench.results.naming import kernel_label

# A sample spread (IQR / median) above this is reported as unreliable.
SPREAD_WARNING = 0.10
# A library baseline whose output is off by more than this gets no figure (it is broken, not just
# imprecise); below it, its error is recorded as measured.
LIBRARY_ERROR_LIMIT = 0.1


# --- regimes -----------------------------------------------------------------------------------


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Timer:
    """The C timing loop of the harness module, bound to one pair of buffers."""

    harness: Any  # build.BuiltModule of the harness ISA
    ftz_daz: bool = True

    def time(self, fn, n: int, x: np.ndarray, y: np.ndarray, calls: int) -> float:
        ffi = self.harness.ffi
        return float(
            self.harness.lib.sb_time_calls(
                fn, n, ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y.ctypes.data), calls, int(self.ftz_daz)
            )
        )

    def calibrate(self, fn, n: int, x: np.ndarray, y: np.ndarray, min_time: float) -> int:
        """Calls per sample so that one sample lasts at least min_time (one call for huge n)."""
        target = min_time * 1e9
        calls = 1
        for _ in range(40):
            t = self.time(fn, n, x, y, calls)
            if t >= target:
                return calls
            # aim 20% past the target from the measured rate; at least double
            calls = max(2 * calls, math.ceil(calls * target * 1.2 / max(t, 1.0)))
        return calls


@dataclass
class PoolTimer(Timer):
    """The same loop, around parallel calls of a thread pool on `rows` rows: fn is an sb_work
    (softbench.threads.Work.cdata) instead of a kernel. calibrate() is Timer's."""

    pool: Any = None  # threads.Pool
    rows: int = 1

    def time(self, fn, n: int, x: np.ndarray, y: np.ndarray, calls: int) -> float:
        return self.pool.time(fn, self.rows, n // self.rows, x, y, calls, self.ftz_daz)


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class Item:
    """One thing timed at a size: a kernel, its twin, or a STREAM kernel."""

    kind: str  # "kernel", "twin", "stream", "baseline", or "sync" (an empty parallel call)
    name: str  # algorithm or stream kernel name
    isa: str
    fn: Any
    variant: str | None = None  # forced store kind ("temporal", "nt"); None: chosen by size
    tile: str | None = None  # the kernel's tile (catalog.TILES); None: its ISA's default tile
    calls: int = 1
    samples: list[float] = field(default_factory=list)
    switches: list[int] = field(default_factory=list)  # involuntary context switches per sample
    steal_ms: list[float] = field(default_factory=list)  # steal time per sample

    @property
    def key(self) -> str:
        return kernel_label(self.name, self.isa, self.variant, self.tile)

    @property
    def label(self) -> str:
        return self.key + (" (twin)" if self.kind == "twin" else "")


@dataclass
class PointResult:
    records: list[dict[str, Any]]
    bandwidth: list[dict[str, Any]]
    failures: list[tuple[str, str]]  # (kernel label, message)
    spreads: list[tuple[str, float]]  # (label, IQR/median) of every kernel point


ROWS_CHECKED = 16  # random rows of a batch checked against the reference, besides the first and last


def reference_check(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, exact_upto: int = 1 << 20,
                    rows: int = 1) -> tuple[float, str]:
    """Max relative error of y against a float64 softmax of x: over every element for n <=
    exact_upto, else over 10,000 random elements plus the sum of y. Returns (error, problem).

    A batch (rows > 1; x and y hold rows x n/rows): every row must sum to 1, and the first, the last
    and ROWS_CHECKED random rows are checked as above, each against its own reference."""
    if rows > 1:
        xs, ys = x.reshape(rows, -1), y.reshape(rows, -1)
        sums = ys.sum(axis=1, dtype=np.float64)
        off = np.flatnonzero(~(np.abs(sums - 1.0) <= 1e-4))
        if off.size:
            return math.inf, f"row {off[0]} of {rows} sums to {sums[off[0]]:.6g}, not 1"
        picked = np.unique(np.concatenate([[0, rows - 1], rng.integers(0, rows, ROWS_CHECKED)]))
        worst = 0.0
        for r in picked:
            err, problem = reference_check(xs[r], ys[r], rng, exact_upto)
            if problem:
                return err, f"row {r} of {rows}: {problem}"
            worst = max(worst, err)
        return worst, ""
    n = x.size
    xd_max = float(np.max(x))
    # float64 normaliser in blocks: no n-sized float64 temporary for huge n
    total = 0.0
    for s in range(0, n, 1 << 22):
        total += float(np.exp(x[s : s + (1 << 22)].astype(np.float64) - xd_max).sum())
    # past exact_upto: 10,000 random elements, plus the first and last 1,024, where head and tail
    # handling (partial vectors, alignment for non-temporal stores) live
    edges = np.r_[0 : min(n, 1024), max(0, n - 1024) : n]
    idx = np.arange(n) if n <= exact_upto else np.unique(np.r_[edges, rng.integers(0, n, 10_000)])
    ref = np.exp(x[idx].astype(np.float64) - xd_max) / total
    got = y[idx].astype(np.float64)
    if not np.all(np.isfinite(got)):
        return math.inf, "non-finite outputs"
    big = ref >= FLT_MIN
    err = float(np.max(np.abs(got[big] - ref[big]) / ref[big])) if big.any() else 0.0
    ysum = float(y.sum(dtype=np.float64))
    if abs(ysum - 1.0) > 1e-4:
        return max(err, abs(ysum - 1.0)), f"outputs sum to {ysum:.6g}, not 1"
    if err > REL_TOLERANCE:
        return err, f"max relative error {err:.3g} > {REL_TOLERANCE:g}"
    return err, ""


def measure_point(
    n: int,
    # (algorithm, isa, variant, kernel fn, twin fn, tile): tile None is the ISA's default tile
    kernels: list[tuple[str, str, str | None, Any, Any, str | None]],
    streams: list[tuple[str, str, Any, int, int]],  # (name, isa, fn, read B, write B)
    timer: Timer,
    baselines: list[tuple[str, str]] = (),  # (library name, version): timed by a Python loop
    *,
    repetitions: int,
    warmup: int,
    min_time: float,
    rng: np.random.Generator,
    levels: list[tuple[str, int]],
    cpu: int | None,
    on_sample: Callable[[], None] = lambda: None,
    on_start: Callable[[str], None] = lambda label: None,
    rows: int = 1,
    pool: Any = None,
    probe: Any = None,
    user_kernels: Mapping[tuple[str, str], Any] = {},  # (name, isa) -> user_kernels.UserKernel
) -> PointResult:
    """Measure every kernel, twin and STREAM kernel at one point, interleaved: n elements as one
    row, or as a batch of `rows` rows of n / rows (softmax over each row); on this thread, or split
    across the threads of `pool` (softbench.host.threads.Pool), twins and STREAM kernels alike. With
    a `probe` (softbench.host.placement.DisturbanceProbe), what disturbed each kernel sample is recorded."""
    cols = n // rows
    parallel = pool is not None or rows > 1  # through the pool's loop (a pool of 1 runs a batch)
    if parallel:
        pool = pool or threads.pool(1)
        timer = PoolTimer(timer.harness, timer.ftz_daz, pool=pool, rows=rows)
    nthreads = pool.threads if pool is not None else 1
    point = f"{rows}x{cols}" if rows > 1 else f"n={n}"
    if nthreads > 1:
        point += f" threads={nthreads}"
    # separate output buffers: kernels, twins and streams each write their own; all are touched
    # now, by the threads that will use them, so that first-touch page faults are not timed
    x, y, y_twin = (threads.touched_array(rows, cols, pool) for _ in range(3))
    np.multiply(rng.standard_normal(n, dtype=np.float32), np.float32(4.0), out=x)
    if parallel:  # each kernel, twin and STREAM kernel as the pool's work: whole rows, or passes
        # a kernel splits a row with its own tile's passes
        mods = {(i, t): build.load(i, t) for i, t in {(k[1], k[5]) for k in kernels} | {(s[1], None) for s in streams}}
        works = [(threads.kernel_work(mods[i, t], a, v, cols, fn=fn), threads.kernel_work(mods[i, t], a, v, cols, twin=True, fn=tw))
                 if (a, i) not in user_kernels else (threads.row_work(mods[i, t], fn), threads.row_work(mods[i, t], tw))
                 for a, i, v, fn, tw, t in kernels]  # fmt: skip
        kernels = [(a, i, v, w.cdata, tw.cdata, t) for (a, i, v, _, _, t), (w, tw) in zip(kernels, works)]
        streams = [(s, i, threads.stream_work(mods[i, None], fn).cdata, rb, wb) for s, i, fn, rb, wb in streams]
    items = [Item("kernel", a, i, fn, v, t) for a, i, v, fn, _, t in kernels]
    items += [Item("twin", a, i, tw, v, t) for a, i, v, _, tw, t in kernels]
    items += [Item("stream", s, i, fn) for s, i, fn, _, _ in streams]
    sync_of: dict[str, Item] = {}  # kernel key -> the empty call with its phases (threads > 1)
    if nthreads > 1:
        empty: dict[str, Item] = {}  # one per phase structure: rows, or an algorithm's passes
        for (a, i, v, _, _, t), (w, _) in zip(kernels, works):
            phases = "rows" if rows > 1 else "+".join(map(str, w.merges))
            if phases not in empty:
                empty[phases] = Item("sync", f"sync[{phases}]", "", threads.empty_work(timer.harness, w).cdata)
            sync_of[kernel_label(a, i, v, t)] = empty[phases]
        items += empty.values()
    if baselines:
        # prepared now (imports, sessions): only the call is timed, like a kernel's
        items += [Item("baseline", name, bl.ISA, bl.baseline(name).prepare(n)) for name, _ in baselines]
    versions = dict(baselines)

    def out_for(item: Item) -> np.ndarray:
        return y if item.kind in ("kernel", "baseline") else y_twin

    def time_item(item: Item, calls: int) -> float:
        if item.kind == "baseline":
            return bl.time_calls(item.fn, x, y, calls)
        return timer.time(item.fn, n, x, out_for(item), calls)

    for item in items:
        on_start(f"{item.label} {point}")
        if item.kind == "baseline":
            item.calls = bl.calibrate(item.fn, x, y, min_time)
        else:
            item.calls = timer.calibrate(item.fn, n, x, out_for(item), min_time)
    order = list(range(len(items)))
    for rep in range(warmup + repetitions):
        rng.shuffle(order)
        for k in order:
            item = items[k]
            if probe is not None and rep >= warmup and item.kind == "kernel":
                token = probe.before()
                t = time_item(item, item.calls)
                switches, steal = probe.after(token)
                item.switches.append(switches)
                if steal is not None:
                    item.steal_ms.append(steal)
            else:
                t = time_item(item, item.calls)
            if rep >= warmup:
                item.samples.append(t)
            on_sample()

    result = PointResult([], [], [], [])
    regime_name = regime(n, levels)
    node = placement.numa_node_of(x.ctypes.data)
    placed = {"numa_node": node} if node is not None else {}
    twin_of = {it.key: it for it in items if it.kind == "twin"}
    table = algorithms()
    shape = {"shape": [rows, cols]} if parallel else {}
    for item in items:
        if item.kind != "kernel":
            continue
        # the kernel's output, recomputed now (split as timed) and checked: a wrong kernel gets no figure
        timer.time(item.fn, n, x, y, 1)
        err, problem = reference_check(x, y, rng, rows=rows)
        if problem:
            result.failures.append((item.key, f"wrong output at {point}: {problem}"))
            continue
        per_elem = np.asarray(item.samples) / (item.calls * n)
        summary = stats.summarize(per_elem)
        twin = twin_of[item.key]
        twin_per_elem = np.asarray(twin.samples) / (twin.calls * n)
        twin_median = float(np.median(twin_per_elem))
        user = user_kernels.get((item.name, item.isa))
        traffic = user.traffic.bytes_per_element() if user else table[item.name].traffic()
        med = summary["median"]
        result.spreads.append((f"{item.label} {point}", summary["rel_spread"]))
        sync = sync_of.get(item.key)
        result.records.append({
            "algorithm": item.name,
            "isa": item.isa,
            "n": n,
            "threads": nthreads,
            "regime": regime_name,
            "bytes_per_element": traffic,
            "samples_ns": item.samples,
            "calls_per_sample": item.calls,
            "ns_per_element": med,
            "min_ns_per_element": summary["min"],
            "gbps_effective": EFFECTIVE_BYTES / med,  # bytes per ns == GB/s
            "gbps_actual": traffic["total"] / med,
            "roofline_efficiency": twin_median / med,
            "max_rel_error": err,
            "twin_ns_per_element": twin_median,
            "twin_samples_ns": twin.samples,
            "twin_calls_per_sample": twin.calls,
            **({"variant": item.variant} if item.variant else {}),
            **({"tile": item.tile} if item.tile else {}),
            **({"cpu": cpu} if cpu is not None else {}),
            **shape,
            **({"sync_ns": float(np.median(sync.samples)) / sync.calls} if sync is not None else {}),
            **({"samples_involuntary_switches": item.switches} if len(item.switches) == len(item.samples) else {}),
            **({"samples_steal_ms": item.steal_ms} if item.steal_ms and len(item.steal_ms) == len(item.samples) else {}),
            **placed,
            **(user.record_fields() if user else {}),
        })
    for item in (it for it in items if it.kind == "baseline"):
        # A library is reported as it is: its error is measured, not held to the kernels' 1e-5
        # (torch and onnxruntime sum in float32); only a grossly wrong result loses its figure.
        item.fn(x, y)
        err, problem = reference_check(x, y, rng)
        if not math.isfinite(err) or err > LIBRARY_ERROR_LIMIT:
            result.failures.append((item.key, f"wrong output at n={n}: {problem or f'max relative error {err:.3g}'}"))
            continue
        per_elem = np.asarray(item.samples) / (item.calls * n)
        summary = stats.summarize(per_elem)
        med = summary["median"]
        result.spreads.append((f"{item.label} n={n}", summary["rel_spread"]))
        result.records.append({
            "algorithm": item.name, "isa": item.isa, "n": n, "threads": 1, "regime": regime_name,
            # a library's traffic is not known: counted as the minimum, one read and one write
            "bytes_per_element": {"read_x": 4, "read_y": 0, "write_y": 4, "total": 8, "with_rfo": 12},
            "samples_ns": item.samples, "calls_per_sample": item.calls,
            "ns_per_element": med, "min_ns_per_element": summary["min"],
            "gbps_effective": EFFECTIVE_BYTES / med, "gbps_actual": EFFECTIVE_BYTES / med,
            "roofline_efficiency": None, "max_rel_error": err,
            "baseline": versions[item.name], "timer": "python perf_counter_ns loop",
            **({"cpu": cpu} if cpu is not None else {}),
        })  # fmt: skip
    for item, (_, _, _, rb, wb) in zip([it for it in items if it.kind == "stream"], streams):
        per_elem = np.asarray(item.samples) / (item.calls * n)
        med = float(np.median(per_elem))
        result.bandwidth.append({
            "kernel": item.name,
            "isa": item.isa,
            "n": n,
            "threads": nthreads,
            **shape,
            "regime": regime_name,
            "bytes_per_element": {"read": rb, "write": wb, "total": rb + wb, "with_rfo": rb + 2 * wb},
            "samples_ns": item.samples,
            "calls_per_sample": item.calls,
            "ns_per_element": med,
            "gbps": (rb + wb) / med,
        })
    return result


# --- machine state -----------------------------------------------------------------------------


def pin_to_one_cpu() -> int | None:
    """Pin this thread to one CPU of its affinity set (the last: CPU 0 takes most interrupts)."""
    allowed_cpus()  # remembered first: the other threads of a pool take the rest of the set
    try:
        allowed = sorted(os.sched_getaffinity(0))
        cpu = allowed[-1]
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def reliability_warnings(context: dict[str, Any], load_before: float | None) -> list[str]:
    """Warnings about the machine, with numbers and a hint (measurement.md)."""
    out = []
    power = context.get("power", {})
    gov = power.get("governor", "unknown")
    if gov == "unknown":
        out.append("CPU frequency governor unknown (no cpufreq in this OS/VM): frequency scaling cannot be ruled out; compare runs from the same machine only")
    elif gov != "performance":
        out.append(f"CPU frequency governor is '{gov}', not 'performance': clocks vary with load; hint: cpupower frequency-set -g performance")
    if power.get("boost") is True:
        out.append("turbo/boost is on: clocks depend on temperature and other cores' load; disable it for stable figures")
    if context.get("virtualization", {}).get("virtualized") is True:
        out.append("running in a virtual machine: other guests share the memory bandwidth and caches; expect noise")
    cpus = len(context.get("cores", {}).get("affinity") or []) or os.cpu_count() or 1
    if load_before is not None and load_before > 0.5:
        out.append(f"load average {load_before:.2f} on {cpus} CPU(s) before the run: other work competes for the CPU and memory; close it or run again")
    return out
