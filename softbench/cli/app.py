"""The softbench command line: thin typer commands that parse options and call the library.

Human text goes to the terminal (plain when not a TTY); data goes to files, or to stdout with
--json. Heavy imports happen inside the command that needs them.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from softbench.analysis.crossovers import crossover_dicts, pair_crossovers
from softbench.bench import runner, verify
from softbench.bridge import build
from softbench.catalog import algorithms, check_algorithm, ISAS
from softbench.cli.analysis import register as _register_analysis
from softbench.cli.profile import register as _register_profile
from softbench.errors import SoftbenchError
from softbench.host import isa
from softbench.host.context import collect_full_context
from softbench.reporters import terminal
from softbench.reporters.console import make_console as _console, print_json as _print_json
from softbench.results.files import load
from softbench.version import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmark and profile softmax kernels on this CPU (the Two-Pass paper's algorithms and the online softmax).",
)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"softbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    pass


@app.command("info")
def info_cmd(json_out: bool = JsonOpt) -> None:
    """The machine: CPU, microarchitecture, ISAs, caches, memory, compiler.

    Example: softbench info --json > machine.json
    """
    ctx = collect_full_context()
    if json_out:
        _print_json(ctx)
    else:
        terminal.print_info(_console(), ctx)


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
    if json_out:
        _print_json({"kernels": rows, "isas": {n: {"runs": s.runs, "reason": s.reason} for n, s in status.items()}})
    else:
        terminal.print_kernel_matrix(_console(), algorithms(), ISAS, status)


@app.command("verify")
def verify_cmd(
    algorithm: Optional[List[str]] = typer.Option(None, "--algorithm", "-a", help="Only this algorithm (repeatable)."),
    isa_names: Optional[List[str]] = typer.Option(None, "--isa", "-i", help="Only this ISA (repeatable)."),
    quick: bool = typer.Option(False, "--quick", help="Skip the 2^26-element accuracy cases (a few seconds instead of ~a minute)."),
    json_out: bool = JsonOpt,
) -> None:
    """Check every kernel that runs here against a float64 reference on the correctness matrix
    (tail lengths, misalignment, scales, huge and masked inputs, NaN/inf rows, 2^26 elements).
    Exits 1 when any kernel fails.

    Example: softbench verify --isa avx2 --quick
    """
    algs = [check_algorithm(a).name for a in algorithm] if algorithm else list(algorithms())
    isas = [isa.resolve(i) for i in isa_names] if isa_names else isa.runnable()
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
        _print_json(terminal.verify_json(reports, exp, skipped))
    else:
        terminal.print_verify(console, reports, exp, skipped)
    if not all(r.passed for r in reports):
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    suite: str = typer.Option("quick", "--suite", "-s", help="Built-in suite name (quick, paper, full, models, rowlength, targets) or a path to a suite TOML file."),
    algorithms: Optional[str] = typer.Option(None, "--algorithms", "-a", help="Comma-separated algorithms (or 'all'); overrides the suite."),
    isa_names: Optional[str] = typer.Option(None, "--isa", "-i", help="Comma-separated ISAs, or 'best'/'all'; overrides the suite."),
    sizes: Optional[str] = typer.Option(None, "--sizes", help="Comma-separated sizes in elements: 4096, 4Ki, 64Mi, 1e6, 4xLLC."),
    shape: Optional[str] = typer.Option(None, "--shape", help="Comma-separated batches ROWSxCOLUMNS (softmax over each row): 4096x8192,64x50257. With --shape alone, the suite's sizes are not run (and with --sizes alone, not its shapes)."),
    threads: Optional[str] = typer.Option(None, "--threads", "-t", help="Comma-separated thread counts, or 'all' (every CPU this process may use): 1,2,4,all. Rows are split across threads, a single row into chunks; twins and STREAM figures use the same threads."),
    repetitions: Optional[int] = typer.Option(None, "--repetitions", "-r", help="Samples per point (>= 5)."),
    min_time: Optional[float] = typer.Option(None, "--min-time", help="Seconds per sample (the loop of calls is calibrated to last at least this)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for the input data and the shuffled run order."),
    variants: Optional[str] = typer.Option(None, "--variants", help="Comma-separated store variants to measure: auto (by size: non-temporal past the LLC; the default), temporal, nt."),
    baselines: Optional[str] = typer.Option(None, "--baselines", help="Also measure libraries: comma-separated numpy, scipy, torch, onnxruntime, xnnpack, or 'all' (torch/onnxruntime: pip install 'softbench[baselines]'; xnnpack: apt-get install libxnnpack0)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Result file to write (default: ./softbench-<host>-<time>.json); never overwritten."),
    json_out: bool = typer.Option(False, "--json", help="Print the result records as JSON on stdout (progress goes to stderr)."),
) -> None:
    """Sweep sizes from L1 to far out of the last-level cache, time every kernel next to its traffic
    twin (the memory roofline measured in the same run) and STREAM-style bandwidth, and write a
    self-describing result file as the run goes.

    Example: softbench run --suite paper --isa avx2 --output zen3-paper.json

    Example: softbench run --shape 4096x8192 --sizes 4xLLC --threads 1,2,4,8,16
    """
    from pathlib import Path

    plan = runner.make_plan(suite, algorithms=algorithms, isas=isa_names, sizes=sizes, shapes=shape, threads=threads,
                            repetitions=repetitions, min_time=min_time, seed=seed, variants=variants, baselines=baselines)  # fmt: skip
    err_console = _console(stderr=True)
    with terminal.RunProgress(err_console) as progress:
        terminal.print_plan(err_console, plan)
        outcome = runner.run(plan, Path(output) if output else None, progress)
    if json_out:
        doc = load(outcome.path)
        _print_json({"file": str(outcome.path), "complete": doc.complete,
                     "results": [r.to_dict() for r in doc.results], "bandwidth": doc.bandwidth,
                     "warnings": doc.warnings, "failures": doc.failures,
                     "crossovers": crossover_dicts(pair_crossovers(doc.results))})  # fmt: skip
    else:
        terminal.print_run_summary(_console(), outcome, runner.summarize_by_regime(outcome.records))
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


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback.

    typer (standalone mode) handles usage errors, --help and Ctrl-C itself; what reaches here is
    softbench's own SoftbenchError.
    """
    try:
        app()
    except SoftbenchError as exc:
        sys.stderr.write(f"softbench: error: {exc}\n")
        sys.exit(exc.exit_code)
