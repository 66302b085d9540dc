"""`softbench profile`: where one softmax kernel spends its time, at one size.

For an (algorithm, ISA, N) it measures, interleaved in a shuffled order per repetition so drift
hits them all alike (design/measurement.md):

- the whole kernel and its traffic twin;
- each pass of the algorithm alone (build.Pass: max, sum, output, scale ...) on the state the
  earlier passes leave (prepared by running the passes in order on the same input, then timed
  with the harness's ``sb_time_pass_calls``, which copies the state before every call), and each
  pass's traffic twin: its share of the kernel, its bytes moved, GB/s, and efficiency against
  the twin; the sum of the passes is checked against the whole kernel;
- the compute floor: the same kernel and passes at an L1-resident size (8N <= L1d/2) and the
  ISA's exp alone (ns per exp), so that each pass can be called memory-bound (its memory floor,
  the twin at N, is above its compute floor, itself at L1 size) or compute-bound;
- hardware counters (softbench.counters) around one more loop of each, where perf_event_open
  works; elsewhere one line saying why, and cycles per element estimated from the timer and a
  nominal clock, labelled as an estimate.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from softbench.bench import sizes, stats
from softbench.bench.measure import pin_to_one_cpu, reference_check, Timer
from softbench.bench.passes import _ptrs, PassCall, PassTimer, PreparedPass, run_passes
from softbench.bridge import build
from softbench.catalog import check_algorithm
from softbench.errors import InputError
from softbench.host import counters as ctr, isa as isa_mod, machine
from softbench.host.caches import cache_levels, l1d_bytes, regime
from softbench.host.context import collect_full_context
from softbench.results import files as results


TOLERANCE_PCT = 10.0  # the sum of the passes should explain the kernel time within this
BOUND_SLACK = 0.15  # a time within 15% of a floor is "at" that floor
SPREAD_NOTE = 0.10  # IQR / median above this is reported


@dataclass
class _Item:
    key: str
    fn: Any  # kernel function pointer or PassCall
    n: int
    x: np.ndarray
    out: np.ndarray
    restore: np.ndarray | None = None  # y to put back before each sample (passes that read y)
    calls: int = 1
    samples: list[float] = field(default_factory=list)

    def prepare(self) -> None:
        if self.restore is not None:
            np.copyto(self.out, self.restore)

    def per_call(self) -> np.ndarray:
        return np.asarray(self.samples) / self.calls

    def median_ns(self) -> float:
        return float(np.median(self.per_call()))

    def spread(self) -> float:
        return float(stats.summarize(self.per_call())["rel_spread"])


def _measure(items: list[_Item], timer: Timer, repetitions: int, warmup: int, min_time: float,
             rng: np.random.Generator) -> None:
    for it in items:
        it.prepare()
        it.calls = timer.calibrate(it.fn, it.n, it.x, it.out, min_time)
    order = list(range(len(items)))
    for rep in range(warmup + repetitions):
        rng.shuffle(order)
        for k in order:
            it = items[k]
            it.prepare()
            t = timer.time(it.fn, it.n, it.x, it.out, it.calls)
            if rep >= warmup:
                it.samples.append(t)


def l1_size(caches: list[dict[str, Any]] | str) -> tuple[int, str]:
    """(L1d bytes, where it came from): the OS's figure, else 32 KiB assumed (and said)."""
    size = l1d_bytes(caches)
    if size is not None:
        return size, "the OS (sysfs)"
    return 32 * 1024, "assumed (the OS does not report the L1d size)"


def l1_elements(l1d_bytes: int) -> int:
    """The largest power of two N with input + output (8N bytes) <= half the L1d."""
    n = max(1, l1d_bytes // 2 // 8)
    return 1 << (n.bit_length() - 1)


def check_memory(n: int, available: int | None = None) -> None:
    """A size whose buffers cannot fit in the available memory is refused before allocating."""
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    need = sizes.bytes_needed(n)
    if need > available:
        raise InputError(
            f"size N={n:,} needs {need:,} bytes ({need / 1e9:.2f} GB: input, output, the traffic twin's output "
            f"and a saved copy of y, plus slack) but only {available:,} bytes ({available / 1e9:.2f} GB) are "
            "available; choose a smaller --size"
        )


@contextmanager
def _pinned():
    """Pin this thread to one CPU (as `run` does) for the duration, then restore the affinity."""
    before = None
    try:
        before = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        pass
    cpu = pin_to_one_cpu()
    try:
        yield cpu
    finally:
        if before is not None:
            try:
                os.sched_setaffinity(0, before)
            except OSError:
                pass


def classify(t: float, memory_floor: float, compute_floor: float) -> tuple[str, float]:
    """("memory-bound" | "compute-bound", time / the higher floor). A pass is memory-bound when
    its memory floor (its twin at N) is above its compute floor (itself at an L1-resident size)."""
    floor = max(memory_floor, compute_floor)
    kind = "memory-bound" if memory_floor >= compute_floor else "compute-bound"
    return kind, (t / floor if floor > 0 else math.inf)


def sum_check(sum_ns: float, kernel_ns: float, tolerance_pct: float = TOLERANCE_PCT) -> dict[str, Any]:
    """The sum of the passes against the whole kernel, with a sentence saying what a gap means."""
    diff = (sum_ns - kernel_ns) / kernel_ns * 100.0
    within = abs(diff) <= tolerance_pct
    if within:
        why = f"the passes timed alone explain the kernel time within {tolerance_pct:g}%"
    elif diff > 0:
        why = ("the passes timed alone take longer than inside the kernel: alone, each pass pays its own call, "
               "state copy and loop tails, and finds the caches as its own previous call left them")  # fmt: skip
    else:
        why = ("the kernel takes longer than its passes timed alone: inside the kernel each pass finds the caches as "
               "the previous, different pass left them (e.g. x pushed out by the writes of y), while a pass repeated "
               "alone finds its own data still cached")  # fmt: skip
    return {"sum_of_passes_ns": sum_ns, "kernel_ns": kernel_ns, "difference_pct": diff,
            "tolerance_pct": tolerance_pct, "within": within, "explanation": why}  # fmt: skip


def profile_kernel(
    algorithm: str,
    isa: str,
    n: int,
    *,
    repetitions: int = 5,
    warmup: int = 1,
    min_time: float = 0.01,
    seed: int = 0,
    counters: bool = True,
    caches: list[dict[str, Any]] | None = None,
    pin: bool = True,
) -> dict[str, Any]:
    """Profile one kernel at one size; returns a JSON-ready dict (see the module doc)."""
    alg = check_algorithm(algorithm)
    isa_name = isa_mod.resolve(isa)
    if not isinstance(n, int) or n < 1:
        raise InputError(f"size must be a whole number of elements >= 1, got {n!r}")
    if repetitions < 1:
        raise InputError(f"repetitions must be >= 1, got {repetitions}")
    check_memory(n)
    caches = machine.collect_caches() if caches is None else caches
    l1d, l1d_source = l1_size(caches)
    n1 = l1_elements(l1d)

    harness = build.load(build.HARNESS_ISA)
    module = build.use_store_policy(build.load(isa_name))
    timer = PassTimer(harness, ftz_daz=bool(harness.lib.sb_ftz_daz_supported()))
    rng = np.random.default_rng(seed)

    # the input `run` uses: normal * 4
    x = rng.standard_normal(n, dtype=np.float32) * np.float32(4.0)
    y = np.zeros(n, np.float32)
    y_twin = np.zeros(n, np.float32)
    prepared = run_passes(module, algorithm, x, y)
    err, problem = reference_check(x, y, rng)
    if problem:
        raise InputError(f"{algorithm}/{isa_name} computes a wrong output at N={n:,} ({problem}); run `softbench verify`")

    x1 = rng.standard_normal(n1, dtype=np.float32) * np.float32(4.0)
    y1 = np.zeros(n1, np.float32)
    prepared1 = run_passes(module, algorithm, x1, y1)
    x1_nonpos = x1 - x1.max()  # the exp's own domain (x - max <= 0)
    e1 = np.zeros(n1, np.float32)

    # Past the LLC the size-selected kernel that softmax() and `run` use writes y with
    # non-temporal stores: its passes and their twins are then the non-temporal forms, so the
    # breakdown explains the kernel that actually runs at this size.
    nt_min = getattr(module.lib, f"sb_nt_min_bytes__{isa_name}", None)
    uses_nt = isinstance(nt_min, int) and 4 * n >= nt_min
    if uses_nt:
        prepared = run_passes(module, algorithm, x, y, nt=True)
    items: list[_Item] = [
        _Item("kernel", module.kernels[algorithm], n, x, y),
        _Item("kernel-twin", module.twins[algorithm], n, x, y_twin),
        _Item("l1:kernel", module.kernels[algorithm], n1, x1, y1),
        _Item("exp", getattr(module.lib, f"sb_exp_nonpos_array__{isa_name}"), n1, x1_nonpos, e1),
    ]
    for pp, pp1 in zip(prepared, prepared1):
        twin = pp.p.twin_nt if uses_nt else pp.p.twin
        items.append(_Item(f"pass:{pp.p.name}", pp.call, n, x, y, pp.y_before))
        items.append(_Item(f"twin:{pp.p.name}", PassCall(twin, pp.call.state), n, x, y_twin, pp.y_before))
        items.append(_Item(f"l1:pass:{pp.p.name}", pp1.call, n1, x1, y1, pp1.y_before))
    by_key = {it.key: it for it in items}

    with _pinned() if pin else nullcontext() as cpu:
        _measure(items, timer, repetitions, warmup, min_time, rng)
        counter_part = _counters(counters, harness, timer, by_key, prepared, n, n1, algorithm) if counters else {
            "available": False, "reason": "not asked for (--no-counters)"}  # fmt: skip

    # --- assemble -------------------------------------------------------------------------
    levels = cache_levels(caches)
    kernel, ktwin, k1 = by_key["kernel"], by_key["kernel-twin"], by_key["l1:kernel"]
    kernel_ns = kernel.median_ns()
    ns_per_exp = by_key["exp"].median_ns() / n1
    passes_out = []
    for pp in prepared:
        p = pp.p
        it, tw, l1 = by_key[f"pass:{p.name}"], by_key[f"twin:{p.name}"], by_key[f"l1:pass:{p.name}"]
        t, tt, t1 = it.median_ns() / n, tw.median_ns() / n, l1.median_ns() / n1
        total_b = p.read_x + p.read_y + p.write_y
        bound, over = classify(t, tt, t1)
        passes_out.append({
            "name": p.name,
            "bytes_per_element": {"read_x": p.read_x, "read_y": p.read_y, "write_y": p.write_y, "total": total_b},
            "ns_per_call": it.median_ns(),
            "ns_per_element": t,
            "share": it.median_ns() / kernel_ns,
            "gbps": total_b / t if t > 0 else None,
            "twin_ns_per_element": tt,
            "twin_gbps": total_b / tt if tt > 0 else None,
            "efficiency": tt / t if t > 0 else None,  # twin time / pass time, as roofline efficiency
            "l1_ns_per_element": t1,
            "exp_equivalents": t1 / ns_per_exp if ns_per_exp > 0 else None,
            "bound": bound,
            "time_over_floor": over,
            "samples_ns": it.samples, "calls_per_sample": it.calls, "spread": it.spread(),
            "twin_samples_ns": tw.samples, "twin_calls_per_sample": tw.calls,
        })  # fmt: skip
    sum_ns = sum(p["ns_per_call"] for p in passes_out)
    k_elem = kernel_ns / n
    twin_elem = ktwin.median_ns() / n
    notes = []
    noisy = [(it.key, it.spread()) for it in items if it.spread() > SPREAD_NOTE]
    if noisy:
        listed = ", ".join(f"{k} {s:.0%}" for k, s in sorted(noisy, key=lambda t: -t[1]))
        notes.append(f"sample spread (IQR / median) above {SPREAD_NOTE:.0%} for {listed}: the machine is noisy; "
                     "raise --repetitions or --min-time, or close other programs")  # fmt: skip
    if not timer.ftz_daz:
        notes.append("FTZ/DAZ could not be set: a pass that rescales y in place may slow down on denormals when timed alone")
    return {
        "algorithm": algorithm,
        "isa": isa_name,
        "n": n,
        "regime": regime(n, levels),
        "bytes_per_element": alg.traffic(),
        "exps_per_element": alg.exps_per_element,
        "repetitions": repetitions,
        "warmup": warmup,
        "min_time": min_time,
        "seed": seed,
        **({"cpu": cpu} if cpu is not None else {}),
        "max_rel_error": err,
        "kernel": {
            "ns_per_call": kernel_ns,
            "ns_per_element": k_elem,
            "gbps_actual": alg.bytes_total / k_elem,
            "gbps_effective": 8 / k_elem,
            "twin_ns_per_element": twin_elem,
            "roofline_efficiency": twin_elem / k_elem,
            "samples_ns": kernel.samples, "calls_per_sample": kernel.calls, "spread": kernel.spread(),
            "twin_samples_ns": ktwin.samples, "twin_calls_per_sample": ktwin.calls,
            # the kernel softmax() and `run` use at this N, and the store kind of its passes
            "stores": "non-temporal (input >= the LLC)" if uses_nt else "normal",
        },  # fmt: skip
        "passes": passes_out,
        "sum_check": sum_check(sum_ns, kernel_ns),
        "compute_floor": {
            "n": n1,
            "l1d_bytes": l1d,
            "l1d_source": l1d_source,
            "kernel_ns_per_element": k1.median_ns() / n1,
            "ns_per_exp": ns_per_exp,
            "exps_per_element": alg.exps_per_element,
            "exp_ns_per_element": alg.exps_per_element * ns_per_exp,
            "kernel_bound": classify(k_elem, twin_elem, k1.median_ns() / n1)[0],
        },
        "counters": counter_part,
        "notes": notes,
    }


def _counters(asked: bool, harness, timer: Timer, by_key: dict[str, _Item], prepared: list[PreparedPass],
              n: int, n1: int, algorithm: str) -> dict[str, Any]:
    """One counted loop of the kernel (at N and at L1 size) and of each pass, or the reason why
    not and the timer-based estimate."""
    try:
        group = ctr.open_group(harness=harness)
    except ctr.CountersUnavailable as exc:
        return _estimate(str(exc), by_key, prepared, n)
    out: dict[str, Any] = {"available": True, "events": [], "kernel": None, "l1_kernel": None, "passes": {}}
    ffi = harness.ffi
    try:
        with group:
            out["events"] = list(group.opened)
            for key, dest in (("kernel", "kernel"), ("l1:kernel", "l1_kernel")):
                it = by_key[key]
                xp, yp = _ptrs(ffi, it.x, it.out)
                _, out[dest] = group.time_calls(it.fn, it.n, xp, yp, it.calls, timer.ftz_daz)
            for pp in prepared:
                it = by_key[f"pass:{pp.p.name}"]
                it.prepare()
                xp, yp = _ptrs(ffi, it.x, it.out)
                _, out["passes"][pp.p.name] = group.time_pass_calls(pp.call.fn, it.n, xp, yp, pp.call.state, it.calls, timer.ftz_daz)
    except ctr.CountersUnavailable as exc:
        return _estimate(str(exc), by_key, prepared, n)
    return out


def _estimate(reason: str, by_key: dict[str, _Item], prepared: list[PreparedPass], n: int) -> dict[str, Any]:
    ghz, source = ctr.nominal_clock()
    est: dict[str, Any] = {"clock_ghz": ghz, "clock_source": source}
    if ghz:
        est["kernel_cycles_per_element"] = by_key["kernel"].median_ns() / n * ghz
        est["passes"] = {pp.p.name: by_key[f"pass:{pp.p.name}"].median_ns() / n * ghz for pp in prepared}
    return {"available": False, "reason": reason, "estimated": est}


def profile_many(algorithms: Sequence[str], isas: Sequence[str], sizes: Sequence[int], **kw) -> list[dict[str, Any]]:
    """Every (algorithm, isa, size) combination, validated up front so a typo fails before timing."""
    for a in algorithms:
        check_algorithm(a)
    resolved = [isa_mod.resolve(i) for i in isas]
    for n in sizes:
        check_memory(n)
    return [profile_kernel(a, i, n, **kw) for i in resolved for a in algorithms for n in sizes]


def record(path, profiles: list[dict[str, Any]], isas: Sequence[str]) -> str:
    """Write `profiles` into a result file: a new one (with the run context) when `path` does not
    exist, else added to the existing file's top-level `profiles` list. Returns what was done."""
    import json
    import tempfile
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        ctx = collect_full_context(list(isas))
        ctx["hostname"] = ctx.get("os", {}).get("hostname", "unknown")
        ctx["threads"] = 1
        with results.ResultWriter(p, ctx) as w:
            for prof in profiles:
                w.add_profile(prof)
        return f"wrote {p} ({len(profiles)} profile(s))"
    results.load(p)  # a softbench result file this version reads, or a one-line error
    doc = json.loads(p.read_text(encoding="utf-8"))
    doc.setdefault("profiles", [])
    if not isinstance(doc["profiles"], list):
        raise InputError(f"{p}: key 'profiles' is not a list; the file is damaged")
    doc["profiles"].extend(results.json_ready(profiles))
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, p.stat().st_mode & 0o777)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return f"added {len(profiles)} profile(s) to {p}"
