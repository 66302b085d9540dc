"""The softbench command line: thin typer commands that parse options and call the library.

Human text goes to the terminal (plain when not a TTY); data goes to files, or to stdout with
--json. Heavy imports happen inside the command that needs them.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from softbench.analysis import summaries
from softbench.analysis.crossovers import crossover_dicts, pair_crossovers
from softbench.bench import runner, verify
from softbench.bench.resume import plan_for_resume
from softbench.bridge import build
from softbench.bridge.resolve import VARIANTS
from softbench.catalog import algorithms, check_algorithm, ISAS, TILES, tile_names
from softbench.cli.analysis import register as _register_analysis
from softbench.cli.common import choices, escape_help, exit_codes_text, quiet_broken_pipe, split_list
from softbench.cli.export import register as _register_export
from softbench.cli.profile import register as _register_profile
from softbench.errors import BuildError, InputError, SoftbenchError
from softbench.host import doctor, isa
from softbench.host.context import collect_full_context
from softbench.reporters import terminal
from softbench.reporters.console import make_console as _console, print_json as _print_json, set_verbosity
from softbench.results.schema import record_from_dict
from softbench.version import __version__

app = typer.Typer(
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Benchmark and profile softmax kernels on this CPU (the Two-Pass paper's algorithms and the online softmax).",
    epilog=exit_codes_text(),
)

ALGORITHMS = choices(algorithms())
ISA_NAMES = choices(ISAS)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"softbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only data, warnings and errors: no progress, plans, notes or confirmations."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also say on stderr what softbench does (files read, how machines were matched)."),
) -> None:
    if quiet and verbose:
        raise InputError("choose one of --quiet and --verbose")
    set_verbosity(quiet=quiet, verbose=verbose)


@app.command("info")
def info_cmd(json_out: bool = JsonOpt) -> None:
    """The machine: CPU, microarchitecture, ISAs, caches, memory, compiler.

    Example: softbench info --json > machine.json
    """
    ctx = collect_full_context()
    if json_out:
        # the tiles the catalog declares, beside the context (whose "tiles" are a run's measured ones)
        _print_json({**ctx, "kernel_tiles": _tiles_json()})
    else:
        terminal.print_info(_console(), ctx, TILES)


@app.command("doctor")
def doctor_cmd(json_out: bool = JsonOpt) -> None:
    """Check this machine before measuring (read-only): frequency governor, boost, transparent huge
    pages, the SMT sibling of the CPU run measures on, isolcpus/nohz_full, NUMA nodes, load and
    virtualisation, each with what to do about it. Exits 0; it changes nothing.

    Example: softbench doctor
    """
    checks = doctor.run_checks()
    if json_out:
        _print_json({"checks": [c.to_dict() for c in checks]})
    else:
        terminal.print_doctor(_console(), checks)


@app.command("list")
def list_cmd(json_out: bool = JsonOpt) -> None:
    """The algorithm x ISA matrix: what runs on this host, what is skipped and why.

    Example: softbench list
    """
    status = isa.host_status()
    rows = [
        {
            "algorithm": alg.name,
            "isa": name,
            "runs": status[name].runs,
            "reason": status[name].reason,
            "bytes_per_element": alg.traffic(),
            "passes": alg.passes,
            "max_abs_x": alg.max_abs_x if alg.max_abs_x != float("inf") else None,  # null: any finite x
        }
        for alg in algorithms().values()
        for name in ISAS
    ]
    try:
        build.find_compiler()
        problem = None
    except BuildError as e:
        problem = f"no C compiler: the kernels cannot be built here until one is installed ({e})"
    if json_out:
        _print_json({"kernels": rows, "isas": {n: {"runs": s.runs, "reason": s.reason} for n, s in status.items()},
                     "tiles": _tiles_json(), **({"compiler_problem": problem} if problem else {})})  # fmt: skip
    else:
        terminal.print_kernel_matrix(_console(), algorithms(), ISAS, status)
        terminal.print_tiles(_console(), TILES, status)
        if problem:
            _console().print(f"note: {problem}", markup=False)


def _tiles_json() -> dict:
    return {isa_name: [t.to_dict() for t in tiles.values()] for isa_name, tiles in TILES.items()}


@app.command("verify")
def verify_cmd(
    algorithm: Optional[List[str]] = typer.Option(None, "--algorithms", "--algorithm", "-a", help=f"Only these algorithms (repeatable or comma-separated): {ALGORITHMS}."),
    isa_names: Optional[List[str]] = typer.Option(None, "--isa", "-i", help=f"Only these ISAs (repeatable or comma-separated): {ISA_NAMES}."),
    quick: bool = typer.Option(False, "--quick", help="Skip the 2^26-element accuracy cases (a few seconds instead of ~a minute)."),
    json_out: bool = JsonOpt,
) -> None:
    """Check every kernel that runs here against a float64 reference on the correctness matrix
    (tail lengths, misalignment, scales, huge and masked inputs, NaN/inf rows, 2^26 elements).
    Exits 1 when any kernel fails.

    Example: softbench verify --isa avx2 --quick
    """
    algs = [check_algorithm(a).name for a in split_list(algorithm)] if split_list(algorithm) else list(algorithms())
    isas = [isa.resolve(i) for i in split_list(isa_names)] if split_list(isa_names) else isa.runnable()
    console = _console()
    reports, exp = [], {}
    for name in isas:
        exp[name] = verify.exp_accuracy(name)
        for alg in algs:
            if console.is_terminal and not json_out:
                console.print(f"verifying {alg} / {name} ...", end="\r")
            reports.append(verify.verify_kernel(alg, name, large=not quick))
    skipped = {n: s.reason for n, s in isa.host_status().items() if not s.runs and not isa_names}
    if json_out:
        _print_json(terminal.verify_json(reports, exp, skipped, verify.all_passed(reports, exp)))
    else:
        terminal.print_verify(console, reports, exp, skipped)
    if not verify.all_passed(reports, exp):
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    suite: str = typer.Option("quick", "--suite", "-s", help="Built-in suite name (quick, paper, full, models, rowlength, targets) or a path to a suite TOML file."),
    algorithms: Optional[List[str]] = typer.Option(None, "--algorithms", "--algorithm", "-a", help=f"Algorithms (repeatable or comma-separated; or 'all'): {ALGORITHMS}. Overrides the suite."),
    isa_names: Optional[List[str]] = typer.Option(None, "--isa", "-i", help=f"ISAs (repeatable or comma-separated; or 'best', 'all'): {ISA_NAMES}. Overrides the suite."),
    sizes: Optional[List[str]] = typer.Option(None, "--sizes", "--size", "-n", help="Sizes in float32 elements (repeatable or comma-separated): 4096, 4Ki, 64Mi, 1e6, 2^26, 4xLLC."),
    shape: Optional[List[str]] = typer.Option(None, "--shape", help="Comma-separated batches ROWSxCOLUMNS (softmax over each row): 4096x8192,64x50257. With --shape alone, the suite's sizes are not run (and with --sizes alone, not its shapes)."),
    threads: Optional[List[str]] = typer.Option(None, "--threads", "-t", help="Comma-separated thread counts, or 'all' (every CPU this process may use): 1,2,4,all. Rows are split across threads, a single row into chunks; twins and STREAM figures use the same threads."),
    repetitions: Optional[int] = typer.Option(None, "--repetitions", "-r", help="Samples per point (>= 5)."),
    min_time: Optional[float] = typer.Option(None, "--min-time", help="Seconds per sample (the loop of calls is calibrated to last at least this)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for the input data and the shuffled run order."),
    variants: Optional[List[str]] = typer.Option(None, "--variants", help=f"Store variants and kernel tiles to measure (repeatable or comma-separated): auto (by size: non-temporal past the LLC; the default), {choices(VARIANTS)}; default (each ISA's default tile; the default), tiles (every tile of each ISA) or tile names ({choices(tile_names())}; see softbench list)."),
    baselines: Optional[List[str]] = typer.Option(None, "--baselines", help="Also measure libraries: comma-separated numpy, scipy, torch, onnxruntime, xnnpack, or 'all' (torch/onnxruntime: pip install 'softbench[baselines]'; xnnpack: apt-get install libxnnpack0)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Result file to write (default: ./softbench-<host>-<time>.json; a folder, or a name ending in '/': a fresh name in it); an existing file is kept unless --force."),
    kernel: Optional[List[str]] = typer.Option(None, "--kernel", "-k", help="Your own kernel, FILE:SYMBOL[@ISA] (repeatable): a C source compiled with the ISA's flags (default: this host's best) or a prebuilt .so, exporting void SYMBOL(size_t n, const float *x, float *y). Verified like the built-ins, then timed beside them."),
    kernel_passes: Optional[List[str]] = typer.Option(None, "--kernel-passes", help="Its traffic, for its twin and roofline: passes such as \"r, rw\" (r read x, w write y, y read y: r, rw, w, y, yw) or bytes \"read=8,write=4\". Once for every --kernel, or once per --kernel in order. Without it, timed against STREAM copy."),
    kernel_cflags: Optional[List[str]] = typer.Option(None, "--kernel-cflags", help="Extra compiler flags for --kernel sources, e.g. \"-O2 -DUNROLL=4\" (once for all, or once per --kernel)."),
    kernel_thread_safe: bool = typer.Option(False, "--kernel-thread-safe", help="Every --kernel may run on several rows at once from several threads: their --shape batches are then measured with --threads too."),
    kernel_timeout: Optional[float] = typer.Option(None, "--kernel-timeout", help="Seconds one verification case of a --kernel may take before it is killed and recorded as hung (default 10)."),
    resume: Optional[str] = typer.Option(None, "--resume", metavar="FILE", help="Carry on a stopped run: measure only the points FILE lacks, with its own suite, on the machine that started it."),
    force: bool = typer.Option(False, "--force", help="Replace the --output file if it exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the result records as JSON on stdout (progress goes to stderr)."),
) -> None:
    """Sweep sizes from L1 to far out of the last-level cache, time every kernel next to its traffic
    twin (the memory roofline measured in the same run) and STREAM-style bandwidth, and write a
    self-describing result file as the run goes.

    Example: softbench run --suite paper --isa avx2 --output zen3-paper.json

    Example: softbench run --shape 4096x8192 --sizes 4xLLC --threads 1,2,4,8,16

    Example: softbench run --resume softbench-myhost-20260101-120000.json

    Example: softbench run --kernel my_softmax.c:my_softmax@avx2 --kernel-passes "r, rw"
    """
    from pathlib import Path

    def joined(values: Optional[List[str]]) -> Optional[str]:
        return ",".join(split_list(values)) or None

    if resume is not None:
        given = [name for name, v in (("--suite", suite if suite != "quick" else None), ("--algorithms", algorithms),
                 ("--isa", isa_names), ("--sizes", sizes), ("--shape", shape), ("--threads", threads),
                 ("--repetitions", repetitions), ("--min-time", min_time), ("--seed", seed), ("--variants", variants),
                 ("--baselines", baselines), ("--output", output), ("--force", force or None), ("--kernel", kernel)) if v is not None]  # fmt: skip
        if given:
            raise InputError(f"--resume carries on the file's own suite into the same file; drop {', '.join(given)}")
        plan = plan_for_resume(Path(resume))
    else:
        plan = runner.make_plan(suite, algorithms=joined(algorithms), isas=joined(isa_names), sizes=joined(sizes),
                                shapes=joined(shape), threads=joined(threads), repetitions=repetitions, min_time=min_time,
                                seed=seed, variants=joined(variants), baselines=joined(baselines), kernels=kernel,
                                kernel_passes=kernel_passes, kernel_cflags=kernel_cflags, kernel_timeout=kernel_timeout,
                                kernel_thread_safe=kernel_thread_safe)  # fmt: skip
    if output and output.endswith(("/", os.sep)) and not Path(output).is_dir():  # "-o newdir/": a folder
        try:
            Path(output).mkdir(parents=True)
        except OSError as e:
            raise InputError(f"{output}: cannot create the folder ({e.strerror}); choose another --output") from None
    err_console = _console(stderr=True)
    with terminal.RunProgress(err_console) as progress:
        terminal.print_plan(err_console, plan)
        outcome = runner.run(plan, Path(output) if output else None, progress,
                             resume=Path(resume) if resume is not None else None, overwrite=force)  # fmt: skip
    # what this run measured (and, resumed, what the file already held), not a re-read of it
    records = [record_from_dict(r) for r in outcome.records]
    if json_out:
        _print_json({"file": str(outcome.path), "complete": True,  # a stopped run raises instead
                     "results": [r.to_dict() for r in records], "bandwidth": outcome.bandwidth,
                     "warnings": outcome.warnings, "failures": outcome.failures,
                     "crossovers": crossover_dicts(pair_crossovers(records))})  # fmt: skip
    else:
        terminal.print_run_summary(_console(), outcome, summaries.regime_cells(records))
    if outcome.failures:
        raise typer.Exit(3)


@app.command("cache")
def cache_cmd(clear: bool = typer.Option(False, "--clear", help="Delete every cached kernel module.")) -> None:
    """Where the compiled kernels are cached; --clear empties it (they are rebuilt on next use).

    Example: softbench cache --clear
    """
    if clear:
        typer.echo(f"removed {build.clear_cache()} files from {build.cache_dir()}")
    else:
        typer.echo(str(build.cache_dir()))


# compare and report live in their own module; they register on the same app.

_register_analysis(app)

# profile and tune (softbench.profile, softbench.tuning) likewise.

_register_profile(app)


# export (softbench.reporters.export) likewise.
_register_export(app)

escape_help(app)  # after every command is registered: [baselines] must not be read as markup


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback.

    typer (standalone mode) handles usage errors, --help and Ctrl-C itself; what reaches here is
    softbench's own SoftbenchError.
    """
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal (LC_ALL=C) gets "?" for "…", not a traceback
        try:
            "…─".encode(stream.encoding or "ascii")
        except (UnicodeEncodeError, LookupError):
            try:
                stream.reconfigure(errors="replace")
            except (AttributeError, ValueError):
                pass
    quiet_broken_pipe()
    try:
        app()
    except SoftbenchError as exc:
        sys.stderr.write(f"softbench: error: {exc}\n")
        sys.exit(exc.exit_code)
