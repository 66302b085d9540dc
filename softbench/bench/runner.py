"""`softbench run`: turn a suite into a plan, verify the kernels, sweep, and write the result file
as the run goes (every finished point is on disk; a stopped run leaves a valid file)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from softbench.bench import baselines as bl, measure, plan as host_plan, stats, suites, verify
from softbench.bench.measure import pin_to_one_cpu, reliability_warnings, Timer
from softbench.bridge import build
from softbench.bridge.resolve import check_variant
from softbench.errors import SoftbenchError
from softbench.host import isa as isa_mod, machine, threads as th
from softbench.host.caches import cache_levels, last_level_cache_bytes
from softbench.host.context import collect_full_context
from softbench.results.files import default_result_path, ResultWriter
from softbench.results.naming import kernel_label, series_name


class Interrupted(SoftbenchError):
    exit_code = 130


@dataclass
class Plan:
    suite: Any  # suites.Suite, overrides applied
    sizes: list[int]  # single rows of n elements
    isas: list[str]
    skipped_isas: dict[str, str]
    algorithms: list[str]
    stream_isa: str
    # store variants to measure: None = chosen by size (the default kernels), "temporal", "nt"
    variants: list = field(default_factory=lambda: [None])
    baselines: list = field(default_factory=list)  # (library, version) measured beside the kernels
    skipped_baselines: dict = field(default_factory=dict)  # library -> why it is not measured
    shapes: list = field(default_factory=list)  # batches (rows, cols), measured after the sizes
    threads: list = field(default_factory=lambda: [1])  # thread counts, each point with each
    skipped_threads: list = field(default_factory=list)  # counts above the CPUs this process may use

    @property
    def points(self) -> list[tuple[int, int]]:
        """Every point as (rows, cols): the sizes as single rows, then the batches."""
        return list(dict.fromkeys([(1, n) for n in self.sizes] + [tuple(s) for s in self.shapes]))

    def total_work(self) -> float:
        """Relative cost of the whole run, for an ETA that is not fooled by the large sizes."""
        return sum(self.point_work(r * c, t) for r, c in self.points for t in self.threads)

    def point_work(self, n: int, threads: int = 1) -> float:
        items = 2 * len(self.isas) * len(self.algorithms) * len(self.variants) + 4 + 2 * len(self.baselines)
        per_sample = max(self.suite.min_time, n * 2e-9 / threads)
        return items * (self.suite.repetitions + self.suite.warmup + 2) * per_sample


def make_plan(suite_ref: str, *, algorithms=None, isas=None, sizes=None, repetitions=None, min_time=None, seed=None,
              variants=None, baselines=None, shapes=None, threads=None) -> Plan:
    """The suite (built-in name or path) with command-line overrides, resolved for this host.

    variants: comma-separated store variants ("auto", "temporal", "nt"); default auto only.
    baselines: comma-separated libraries (numpy, scipy, torch, onnxruntime, xnnpack) or "all";
    those not installed are skipped with the reason. shapes: comma-separated batches "ROWSxCOLS". threads:
    comma-separated thread counts or "all"; more than the CPUs this process may use is an error
    on the command line, and skipped (with a warning) in a suite."""
    import psutil

    suite = suites.load_suite(suite_ref)
    suite = suites.apply_overrides(suite, algorithms=algorithms, isas=isas, sizes=sizes, shapes=shapes, threads=threads,
                                   repetitions=repetitions, min_time=min_time, seed=seed)  # fmt: skip
    status = isa_mod.host_status()
    runnable = [n for n, s in status.items() if s.runs]
    selection = host_plan.resolve_isas(suite, runnable, strict=isas is not None)
    llc = last_level_cache_bytes(machine.collect_caches())
    available = psutil.virtual_memory().available
    ns = host_plan.resolve_sizes(suite, llc, available, cap=sizes is None)
    counts, over = host_plan.resolve_threads(suite, len(th.allowed_cpus()), strict=threads is not None)
    return Plan(
        suite=suite,
        sizes=ns,
        isas=list(selection.isas),
        skipped_isas={i: status[i].reason if i in status else "unknown ISA" for i in selection.skipped},
        algorithms=list(suite.algorithms),
        stream_isa=isa_mod.best(),
        variants=_parse_variants(variants),
        shapes=host_plan.resolve_shapes(suite, llc, available),
        threads=counts,
        skipped_threads=over,
        **_baselines(baselines),
    )


def _baselines(text) -> dict:
    if not text:
        return {}

    names = None if text == "all" else text
    return {"baselines": bl.available_baselines(names), "skipped_baselines": bl.skipped_baselines(names)}


def _parse_variants(text) -> list:
    if not text:
        return [None]
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    return list(dict.fromkeys(check_variant(v) for v in names)) or [None]


@dataclass
class RunOutcome:
    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    bandwidth: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


class Progress:
    """Callbacks the CLI implements (a rich progress bar); the defaults do nothing."""

    def start(self, total: float) -> None: ...
    def advance(self, amount: float) -> None: ...
    def describe(self, text: str) -> None: ...
    def message(self, text: str) -> None: ...


def run(plan: Plan, output: Path | None, progress: Progress | None = None) -> RunOutcome:
    progress = progress or Progress()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    context = collect_full_context(plan.isas, suite=plan.suite.to_dict())
    context["hostname"] = context.get("os", {}).get("hostname", "unknown")
    cpu = pin_to_one_cpu()
    # thread t of every pool runs on thread_cpus[t]: thread 0 is this one, the others each on a
    # core of its own while there are cores (threads.cpu_order); pools are created once, here
    order = th.cpu_order(th.allowed_cpus(), first=cpu)
    pools = {t: th.pool(t, order) for t in plan.threads if t > 1}
    context["threads"] = plan.threads
    context["thread_cpus"] = order[: max(plan.threads)]
    context["pinned_cpu"] = cpu if cpu is not None else "unknown"
    context["ftz_daz_set"] = bool(context.get("ftz_daz"))
    context["sizes"] = plan.sizes
    context["shapes"] = [list(s) for s in plan.shapes]
    path = Path(output) if output else default_result_path(Path.cwd(), context)
    outcome = RunOutcome(path=path, context=context)

    harness = build.load(build.HARNESS_ISA)
    timer = Timer(harness, ftz_daz=bool(context["ftz_daz"]))
    levels = cache_levels(context.get("caches", []))
    rng = np.random.default_rng(plan.suite.seed)

    try:
        _sweep(plan, path, context, outcome, timer, levels, rng, cpu, load_before, progress, pools)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {len(outcome.records)} points saved in {path} (marked incomplete); run again to finish"
        ) from None
    return outcome


def _sweep(plan, path, context, outcome, timer, levels, rng, cpu, load_before, progress, pools) -> None:
    # never overwrite: a file already there may hold measurements
    with ResultWriter(path, context, overwrite=False) as writer:
        for text in reliability_warnings(context, load_before):
            writer.warn(text)
        for name, why in plan.skipped_isas.items():
            writer.warn(f"ISA {name} skipped: {why}")
        for name, why in plan.skipped_baselines.items():
            writer.warn(f"baseline {name} skipped: {why}")
        if cpu is None:
            writer.warn("could not pin the measuring thread to one CPU (no sched_setaffinity): the OS may migrate it mid-sample")
        for t in plan.skipped_threads:
            writer.warn(f"{t} threads skipped: this process may use {len(context['thread_cpus'])} CPUs, one per thread")
        for t, pool in pools.items():
            cores = th.cores_of(pool.cpus)
            if cores is not None and cores < t:
                writer.warn(f"{t} threads run on {cores} physical cores: some share a core (SMT), and a shared core's "
                            "figures are not a core's own")  # fmt: skip
            if pool.pinned < t - 1:
                writer.warn(f"{t} threads: only {pool.pinned} of {t - 1} worker threads could be pinned to their CPUs; "
                            "the OS may move them")  # fmt: skip
        if plan.baselines and (plan.shapes or plan.threads != [1]):
            writer.warn("library baselines are measured on single rows with one thread only")

        # Kernels must be correct before they are fast: the correctness matrix first.
        kernels = []
        for isa_name in plan.isas:
            module = build.use_store_policy(build.load(isa_name))
            for alg in plan.algorithms:
                for variant in plan.variants:
                    label = kernel_label(alg, isa_name, variant)
                    progress.describe(f"verifying {label}")
                    writer.set_in_progress(f"verifying {label}")
                    report = verify.verify_kernel(alg, isa_name, large=False, seed=plan.suite.seed, variant=variant)
                    if not report.passed:
                        first = report.failures[0]
                        writer.fail(label, f"failed verification: {first.case}: {first.detail}",
                                    failed_cases=len(report.failures))  # fmt: skip
                        progress.message(f"{label} failed verification ({first.case}: {first.detail}); not timed")
                        continue
                    fn, twin = module.variants[(alg, variant)] if variant else (module.kernels[alg], module.twins[alg])
                    kernels.append((alg, isa_name, variant, fn, twin))
        writer.set_in_progress(None)
        smod = build.load(plan.stream_isa)
        streams = [(name, plan.stream_isa, fn, rb, wb) for name, (fn, rb, wb) in smod.streams.items()]

        progress.start(plan.total_work())
        for (rows, cols), nthreads in ((p, t) for p in plan.points for t in plan.threads):
            n = rows * cols
            work = plan.point_work(n, nthreads)
            single = rows == 1 and nthreads == 1
            baselines = plan.baselines if single else []  # libraries are called on one row
            samples_total = (plan.suite.warmup + plan.suite.repetitions) * (2 * len(kernels) + len(streams) + len(baselines))
            step = work / max(samples_total, 1)
            progress.describe((f"n={n:,}" if rows == 1 else f"{rows:,}x{cols:,}") + (f", {nthreads} threads" if nthreads > 1 else ""))
            point = measure.measure_point(  # through the module: tests stop a run here
                n, kernels, streams, timer,
                repetitions=plan.suite.repetitions, warmup=plan.suite.warmup, min_time=plan.suite.min_time,
                rng=rng, levels=levels, cpu=cpu, baselines=baselines,
                on_sample=lambda: progress.advance(step),
                on_start=lambda label: writer.set_in_progress(label),
                rows=rows, pool=pools.get(nthreads),
            )  # fmt: skip
            writer.extend(point.records, point.bandwidth)
            outcome.records.extend(point.records)
            outcome.bandwidth.extend(point.bandwidth)
            for label, message in point.failures:
                writer.fail(label, message, n=n)
                progress.message(f"{label}: {message}; no figure recorded, dropped from the rest of the run")
                kernels = [k for k in kernels if kernel_label(k[0], k[1], k[2]) != label]
                plan.baselines = [b for b in plan.baselines if kernel_label(b[0], "library") != label]
            writer.set_in_progress(None)
        noisy = [(label, s) for label, s in _spreads(outcome.records) if s > 0.10]
        if noisy:
            worst = max(noisy, key=lambda t: t[1])
            writer.warn(f"{len(noisy)} of {len(outcome.records)} points have a spread (IQR) above 10% of the median "
                        f"(worst: {worst[0]}, {worst[1]:.0%}); close other programs, or raise --repetitions/--min-time")  # fmt: skip
        outcome.warnings = list(writer.warnings)
        outcome.failures = list(writer.failures)


def _name(r: dict[str, Any]) -> str:
    return series_name(r["algorithm"], r.get("variant"), r.get("threads", 1), (r.get("shape") or [1])[0])


def _spreads(records):
    for r in records:
        per = np.asarray(r["samples_ns"]) / (r["calls_per_sample"] * r["n"])
        where = f"n={r['n']}" if not r.get("shape") or r["shape"][0] == 1 else "x".join(map(str, r["shape"]))
        yield f"{_name(r)}/{r['isa']} {where}", stats.summarize(per)["rel_spread"]


def summarize_by_regime(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (algorithm, isa, regime): medians over the sizes in that regime, for the summary table.
    Batches and thread counts are separate algorithms here ("two-pass batch x4")."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((_name(r), r["isa"], r["regime"]), []).append(r)
    order = {"L1": 0, "L2": 1, "L3": 2, "transition": 3, "DRAM": 4, "unknown": 5}
    rows = []
    for (alg, isa_name, reg), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], order.get(kv[0][2], 9))):
        eff = [r["roofline_efficiency"] for r in rs if r.get("roofline_efficiency") is not None]
        rows.append({
            "algorithm": alg, "isa": isa_name, "regime": reg, "points": len(rs),
            "n_range": (min(r["n"] for r in rs), max(r["n"] for r in rs)),
            "ns_per_element": float(np.median([r["ns_per_element"] for r in rs])),
            "gbps_effective": float(np.median([r["gbps_effective"] for r in rs])),
            "gbps_actual": float(np.median([r["gbps_actual"] for r in rs])),
            "roofline_efficiency": float(np.median(eff)) if eff else None,
            "max_rel_error": max(r["max_rel_error"] for r in rs),
        })  # fmt: skip
    return rows
