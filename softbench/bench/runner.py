"""`softbench run`: turn a suite into a plan, verify the kernels, sweep, and write the result file
as the run goes (every finished point is on disk; a stopped run leaves a valid file)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from softbench.bench import baselines as bl, measure, plan as host_plan, stats, suites, user_kernels, user_verify, verify
from softbench.bench.measure import pin_to_one_cpu, reliability_warnings, Timer
from softbench.bench.stopping import stop_message, StopSignals
from softbench.bridge import build
from softbench.bridge.resolve import check_variant, VARIANTS
from softbench.catalog import check_tile, tile_names
from softbench.errors import InputError, SoftbenchError
from softbench.host import isa as isa_mod, machine, placement, threads as th
from softbench.host.caches import cache_levels, last_level_cache_bytes
from softbench.host.context import collect_full_context
from softbench.results.files import default_result_path, ResultWriter
from softbench.results.naming import kernel_label, series_name


class Interrupted(SoftbenchError):
    """The run was stopped (Ctrl-C: 130; a signal N: 128 + N); the file keeps what was measured."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OutputFailed(SoftbenchError):
    """The result file could not be written any more (disk full, folder removed)."""

    exit_code = 4


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
    # tiles to measure per ISA (native/tiles.def): None is the ISA's default tile; an ISA missing
    # here measures its default tile only
    tiles: dict = field(default_factory=dict)
    tile_words: list = field(default_factory=list)  # the --variants words that chose them
    tile_notes: list = field(default_factory=list)  # tiles some ISAs lack, to warn about
    baselines: list = field(default_factory=list)  # (library, version) measured beside the kernels
    skipped_baselines: dict = field(default_factory=dict)  # library -> why it is not measured
    shapes: list = field(default_factory=list)  # batches (rows, cols), measured after the sizes
    threads: list = field(default_factory=lambda: [1])  # thread counts, each point with each
    skipped_threads: list = field(default_factory=list)  # counts above the CPUs this process may use
    user_kernels: list = field(default_factory=list)  # user_kernels.UserKernel, built for this host
    kernel_timeout: float = 10.0  # seconds one verification case of a user kernel may take

    @property
    def points(self) -> list[tuple[int, int]]:
        """Every point as (rows, cols): the sizes as single rows, then the batches."""
        return list(dict.fromkeys([(1, n) for n in self.sizes] + [tuple(s) for s in self.shapes]))

    def total_work(self) -> float:
        """Relative cost of the whole run, for an ETA that is not fooled by the large sizes."""
        return sum(self.point_work(r * c, t) for r, c in self.points for t in self.threads)

    def point_work(self, n: int, threads: int = 1) -> float:
        kernels = sum(len(self.tiles_of(isa)) for isa in self.isas) * len(self.algorithms) * len(self.variants)
        items = 2 * kernels + 4 + 2 * len(self.baselines)
        items += 2 * len(self.user_kernels)
        per_sample = max(self.suite.min_time, n * 2e-9 / threads)
        return items * (self.suite.repetitions + self.suite.warmup + 2) * per_sample

    def tiles_of(self, isa: str) -> list:
        return self.tiles.get(isa, [None])


def make_plan(suite_ref, *, algorithms=None, isas=None, sizes=None, repetitions=None, min_time=None, seed=None,
              variants=None, baselines=None, shapes=None, threads=None, kernels=None, kernel_passes=None,
              kernel_cflags=None, kernel_timeout=None, kernel_thread_safe=False) -> Plan:
    """The suite (built-in name or path) with command-line overrides, resolved for this host.

    variants: comma-separated store variants ("auto", "temporal", "nt") and tiles ("default", "tiles"
    for every tile of each ISA, or tile names such as "x32-acc2"); default auto and the default tile.
    baselines: comma-separated libraries (numpy, scipy, torch, onnxruntime, xnnpack) or "all";
    those not installed are skipped with the reason. shapes: comma-separated batches "ROWSxCOLS". threads:
    comma-separated thread counts or "all"; more than the CPUs this process may use is an error
    on the command line, and skipped (with a warning) in a suite. kernels: users' kernels
    "FILE:SYMBOL[@ISA]" (with kernel_passes and kernel_cflags, see
    user_kernels.command_line_specs), added to the suite's [[kernel]] tables and built now, so
    that a missing file, a compile error or an ISA this host lacks stops the run before it starts."""
    import psutil

    suite = suite_ref if isinstance(suite_ref, suites.Suite) else suites.load_suite(suite_ref)
    suite = suites.apply_overrides(suite, algorithms=algorithms, isas=isas, sizes=sizes, shapes=shapes, threads=threads,
                                   repetitions=repetitions, min_time=min_time, seed=seed)  # fmt: skip
    # what the command line gave is blamed on the command line, not on the suite's file
    given = dataclasses.replace(suite, source="command line")

    def src(option) -> suites.Suite:
        return given if option is not None else suite

    status = isa_mod.host_status()
    runnable = [n for n, s in status.items() if s.runs]
    selection = host_plan.resolve_isas(src(isas), runnable, strict=isas is not None)
    llc = last_level_cache_bytes(machine.collect_caches())
    available = psutil.virtual_memory().available
    ns = host_plan.resolve_sizes(src(sizes), llc, available, cap=sizes is None)
    counts, over = host_plan.resolve_threads(src(threads), len(th.allowed_cpus()), strict=threads is not None)
    specs = user_kernels.command_line_specs(kernels, kernel_passes, kernel_cflags, kernel_thread_safe)
    store_variants, tile_words = _parse_variants(variants)
    tiles, tile_notes = host_plan.resolve_tiles(tile_words, selection.isas)
    run_isas = [i for i in selection.isas if tiles[i]]  # an ISA with none of the named tiles runs nothing
    if kernel_timeout is not None and not (isinstance(kernel_timeout, (int, float)) and kernel_timeout > 0):
        raise InputError(f"command line: option 'kernel-timeout' must be a number of seconds > 0, got {kernel_timeout!r}")
    return Plan(
        suite=suite,
        sizes=ns,
        isas=run_isas,
        skipped_isas={i: status[i].reason if i in status else "unknown ISA" for i in selection.skipped},
        algorithms=list(suite.algorithms),
        stream_isa=isa_mod.best(),
        variants=store_variants,
        tiles=tiles,
        tile_words=tile_words,
        tile_notes=tile_notes,
        shapes=host_plan.resolve_shapes(src(shapes), llc, available),
        threads=counts,
        skipped_threads=over,
        user_kernels=user_kernels.prepare_all(user_kernels.unique([*suite.kernels, *specs])),
        kernel_timeout=float(kernel_timeout) if kernel_timeout is not None else user_verify.DEFAULT_TIMEOUT,
        **_baselines(baselines),
    )


def _baselines(text) -> dict:
    if not text:
        return {}

    names = None if text == "all" else text
    return {"baselines": bl.available_baselines(names), "skipped_baselines": bl.skipped_baselines(names)}


def _parse_variants(text) -> tuple[list, list[str]]:
    """(store variants, tile words) of --variants: store kinds (auto, temporal, nt) and tiles
    (default, tiles, tile names) may be mixed; each kind unnamed is its default."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text or []) if t.strip()]
    tile_words = [n for n in names if host_plan.is_tile_word(n)]
    stores = [n for n in names if n not in tile_words]
    for name in stores:
        if name not in ("auto", "", *VARIANTS):
            raise InputError(f"unknown variant {name!r}; choose one of: auto, {', '.join(VARIANTS)} (store kinds), "
                             f"{host_plan.DEFAULT_TILE}, {host_plan.ALL_TILES} or a tile ({', '.join(tile_names())})")  # fmt: skip
    return list(dict.fromkeys(check_variant(v) for v in stores)) or [None], tile_words


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


def run(plan: Plan, output: Path | None, progress: Progress | None = None, resume: Path | None = None,
        overwrite: bool = False) -> RunOutcome:
    """Measure the plan into a new result file `output` (default: a fresh name in the current
    folder; a folder: a fresh name in it; an existing file only with `overwrite`, run --force), or
    with `resume` carry on that stopped file, measuring only the points it lacks
    (softbench.bench.resume.plan_for_resume checks that it may)."""
    progress = progress or Progress()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    context = collect_full_context(plan.isas, suite=plan.suite.to_dict())
    context["hostname"] = context.get("os", {}).get("hostname", "unknown")
    cpu = pin_to_one_cpu()
    # thread t of every pool runs on thread_cpus[t]: thread 0 is this one, the others each on a
    # core of its own while there are cores (threads.cpu_order); pools are created once, here
    allowed = th.allowed_cpus()
    order = th.cpu_order(allowed, first=cpu)
    pools = {t: th.pool(t, order) for t in plan.threads if t > 1}
    context["threads"] = plan.threads
    context["thread_cpus"] = order[: max(plan.threads)]
    context["allowed_cpus"] = len(allowed)
    context["pinned_cpu"] = cpu if cpu is not None else "unknown"
    context["ftz_daz_set"] = bool(context.get("ftz_daz"))
    context["sizes"] = plan.sizes
    context["shapes"] = [list(s) for s in plan.shapes]
    # the tile words ride along, so that `run --resume` measures the same tiles
    context["variants"] = [v or "auto" for v in plan.variants] + plan.tile_words
    if plan.tiles and any(t is not None for isa in plan.isas for t in plan.tiles_of(isa)):
        # what each measured tile is, and the flags that made it (the default tile's are in "compiler")
        context["tiles"] = {isa: [{**check_tile(isa, t).to_dict(), "flags": build.flags_for(isa, t)} for t in plan.tiles_of(isa)]
                            for isa in plan.isas}  # fmt: skip
    if plan.baselines:
        context["baselines"] = [name for name, _ in plan.baselines]
    thp = placement.thp_mode()
    if thp is not None:
        context["thp"] = thp  # huge pages or not changes the DRAM figures

    harness = build.load(build.HARNESS_ISA)
    timer = Timer(harness, ftz_daz=bool(context["ftz_daz"]))
    levels = cache_levels(context.get("caches", []))
    rng = np.random.default_rng(plan.suite.seed)

    writer = None
    try:
        with StopSignals():  # from the file's creation on: a stop always leaves a note in it
            if resume is not None:
                writer = ResultWriter.reopen(resume)
                writer.warn(f"resumed on {context['created']}: the points already in the file were kept, the rest measured now")
            elif output is None or output.is_dir():  # a folder: a fresh default name inside it
                writer = ResultWriter(default_result_path(output or Path.cwd(), context), context, free_name=True)
            else:
                writer = ResultWriter(output, context, overwrite=overwrite)
            outcome = RunOutcome(path=writer.path, context=writer.context, records=list(writer.results),
                                 bandwidth=list(writer.bandwidth))  # fmt: skip
            _sweep(plan, writer, context, outcome, timer, levels, rng, cpu, load_before, progress, pools)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (stopping.Stopped)
        code = getattr(exc, "exit_code", 130)
        if writer is None:
            raise Interrupted("stopped before the result file was written; nothing was measured", exit_code=code) from None
        raise Interrupted(stop_message(exc, writer), exit_code=code) from None
    except OSError as exc:
        if writer is None:
            raise
        raise OutputFailed(stop_message(exc, writer)) from None
    return outcome


def _sweep(plan, writer, context, outcome, timer, levels, rng, cpu, load_before, progress, pools) -> None:
    done_points = {(r["n"], r.get("threads", 1), (r.get("shape") or [1, r["n"]])[0]) for r in writer.results}
    failed = {f.get("kernel") for f in writer.failures}
    had = set(writer.warnings)

    def warn(text: str) -> None:
        if " ".join(text.split()) not in had:  # a resumed run does not repeat what the file says
            writer.warn(text)

    with writer:
        for text in reliability_warnings(context, load_before):
            warn(text)
        for name, why in plan.skipped_isas.items():
            warn(f"ISA {name} skipped: {why}")
        for name, why in plan.skipped_baselines.items():
            warn(f"baseline {name} skipped: {why}")
        for text in plan.tile_notes:
            warn(text)
        if cpu is None:
            warn("could not pin the measuring thread to one CPU (no sched_setaffinity): the OS may migrate it mid-sample")
        for t in plan.skipped_threads:
            warn(f"{t} threads skipped: this process may use {context['allowed_cpus']} CPUs, one per thread")
        for t, pool in pools.items():
            cores = th.cores_of(pool.cpus)
            if cores is not None and cores < t:
                warn(f"{t} threads run on {cores} physical cores: some share a core (SMT), and a shared core's "
                            "figures are not a core's own")  # fmt: skip
            if pool.pinned < t - 1:
                warn(f"{t} threads: only {pool.pinned} of {t - 1} worker threads could be pinned to their CPUs; "
                            "the OS may move them")  # fmt: skip
        if plan.baselines and (plan.shapes or plan.threads != [1]):
            warn("library baselines are measured on single rows with one thread only")

        # Kernels must be correct before they are fast: the correctness matrix first.
        kernels = []
        for isa_name, tile in ((i, t) for i in plan.isas for t in plan.tiles_of(i)):
            module = build.use_store_policy(build.load(isa_name, tile))  # a tile's module is built now
            for alg in plan.algorithms:
                for variant in plan.variants:
                    label = kernel_label(alg, isa_name, variant, tile)
                    if label in failed:
                        continue  # failed in the stopped session; its failure is in the file
                    progress.describe(f"verifying {label}")
                    writer.set_in_progress(f"verifying {label}")
                    report = verify.verify_kernel(alg, isa_name, large=False, seed=plan.suite.seed, variant=variant,
                                                  tile=tile)  # fmt: skip
                    if not report.passed:
                        first = report.failures[0]
                        writer.fail(label, f"failed verification: {first.case}: {first.detail}",
                                    failed_cases=len(report.failures))  # fmt: skip
                        progress.message(f"{label} failed verification ({first.case}: {first.detail}); not timed")
                        continue
                    fn, twin = module.variants[(alg, variant)] if variant else (module.kernels[alg], module.twins[alg])
                    kernels.append((alg, isa_name, variant, fn, twin, tile))
        user = user_kernels.by_key(plan.user_kernels)
        one_row_sizes = list(dict.fromkeys(cols for _, cols in plan.points))  # a batch's rows too
        for uk in plan.user_kernels:
            progress.describe(f"verifying {uk.label} (user kernel)")
            writer.set_in_progress(f"verifying {uk.label} (user kernel, in a child process)")
            checked = user_verify.verify_in_child(uk, one_row_sizes, seed=plan.suite.seed, timeout=plan.kernel_timeout)
            if not checked.passed:
                writer.fail(uk.label, checked.message, user_kernel=uk.record_fields()["user_kernel"], **checked.details())
                progress.message(f"{uk.label} (user kernel) {checked.message}; not timed")
                continue
            uk.checks = {"verified_cases": checked.cases, "address_sanitizer": checked.address_sanitizer}
            if checked.address_sanitizer.startswith("not run: no sanitizer"):
                writer.warn(f"{uk.label}: not checked under AddressSanitizer ({checked.address_sanitizer[9:]}); "
                            "reads outside x whose value is unused go unseen")  # fmt: skip
            kernels.append((uk.name, uk.isa, None, uk.fn, uk.twin, None))
        if plan.threads != [1] and any(not k.spec.thread_safe for k in plan.user_kernels):
            writer.warn("user kernels not declared thread-safe (thread_safe = true) are measured on one thread only")
        if plan.threads != [1] and plan.sizes and plan.user_kernels:
            writer.warn("user kernels are not split across threads within one row (that needs their passes): "
                        "their threaded points are batches only")
        writer.set_in_progress(None)
        smod = build.load(plan.stream_isa)
        streams = [(name, plan.stream_isa, fn, rb, wb) for name, (fn, rb, wb) in smod.streams.items()]

        todo = [(p, t) for p in plan.points for t in plan.threads if (p[0] * p[1], t, p[0]) not in done_points]
        progress.start(sum(plan.point_work(r * c, t) for (r, c), t in todo))
        for (rows, cols), nthreads in todo:
            n = rows * cols
            work = plan.point_work(n, nthreads)
            single = rows == 1 and nthreads == 1
            baselines = plan.baselines if single else []  # libraries are called on one row
            # a user kernel runs whole rows: batches, on several threads only when declared thread-safe
            point_kernels = [k for k in kernels if (k[0], k[1]) not in user or single
                             or (rows > 1 and (nthreads == 1 or user[(k[0], k[1])].spec.thread_safe))]  # fmt: skip
            samples_total = (plan.suite.warmup + plan.suite.repetitions) * (2 * len(point_kernels) + len(streams) + len(baselines))
            step = work / max(samples_total, 1)
            progress.describe((f"n={n:,}" if rows == 1 else f"{rows:,}x{cols:,}") + (f", {nthreads} threads" if nthreads > 1 else ""))
            point = measure.measure_point(  # through the module: tests stop a run here
                n, point_kernels, streams, timer,
                repetitions=plan.suite.repetitions, warmup=plan.suite.warmup, min_time=plan.suite.min_time,
                rng=rng, levels=levels, cpu=cpu, baselines=baselines,
                on_sample=lambda: progress.advance(step),
                on_start=lambda label: writer.set_in_progress(label),
                rows=rows, pool=pools.get(nthreads), probe=_probe(cpu, pools.get(nthreads)), user_kernels=user,
            )  # fmt: skip
            writer.extend(point.records, point.bandwidth)
            outcome.records.extend(point.records)
            outcome.bandwidth.extend(point.bandwidth)
            for label, message in point.failures:
                writer.fail(label, message, n=n)
                progress.message(f"{label}: {message}; no figure recorded, dropped from the rest of the run")
                kernels = [k for k in kernels if kernel_label(k[0], k[1], k[2], k[5]) != label]
                plan.baselines = [b for b in plan.baselines if kernel_label(b[0], "library") != label]
            writer.set_in_progress(None)
        noisy = [(label, s) for label, s in _spreads(outcome.records) if s > 0.10]
        if noisy:
            worst = max(noisy, key=lambda t: t[1])
            writer.warn(f"{len(noisy)} of {len(outcome.records)} points have a spread (IQR) above 10% of the median "
                        f"(worst: {worst[0]}, {worst[1]:.0%}); {_disturbance_text(outcome.records)}")  # fmt: skip
        outcome.warnings = list(writer.warnings)
        outcome.failures = list(writer.failures)


def _probe(cpu, pool):
    """What disturbs the samples of a point: on the measuring CPU and its pool's CPUs."""
    if cpu is None:
        return placement.DisturbanceProbe(None)
    return placement.DisturbanceProbe(sorted({cpu, *(c for c in (pool.cpus if pool is not None else []) if c >= 0)}))


def disturbance_counts(records) -> tuple[int, int, int, int]:
    """(disturbed samples, samples with a record of it, of which with context switches, with steal)."""
    disturbed = probed = switched = stolen = 0
    for r in records:
        sw, st = r.get("samples_involuntary_switches"), r.get("samples_steal_ms")
        if sw is None and st is None:
            continue
        k = len(r["samples_ns"])
        probed += k
        sw, st = sw or [0] * k, st or [0] * k
        disturbed += sum(1 for a, b in zip(sw, st) if a > 0 or b > 0)
        switched += sum(1 for a in sw if a > 0)
        stolen += sum(1 for b in st if b > 0)
    return disturbed, probed, switched, stolen


def _disturbance_text(records) -> str:
    disturbed, probed, switched, stolen = disturbance_counts(records)
    hint = "raise --repetitions/--min-time"
    if not probed:
        return f"close other programs, or {hint}"
    if not disturbed:
        return f"no sample was disturbed by another task or guest (context switches, steal time), so the spread is the kernels' own or the memory system's; {hint}"
    return (f"{disturbed} of {probed} samples were disturbed ({switched} by involuntary context switches, {stolen} by "
            f"steal time; flagged per sample in the file): close other programs (see 'softbench doctor'), or {hint}")  # fmt: skip


def _name(r: dict[str, Any]) -> str:
    return series_name(r["algorithm"], r.get("variant"), r.get("threads", 1), (r.get("shape") or [1])[0], r.get("tile"))


def _spreads(records):
    for r in records:
        per = np.asarray(r["samples_ns"]) / (r["calls_per_sample"] * r["n"])
        where = f"n={r['n']}" if not r.get("shape") or r["shape"][0] == 1 else "x".join(map(str, r["shape"]))
        yield f"{_name(r)}/{r['isa']} {where}", stats.summarize(per)["rel_spread"]
