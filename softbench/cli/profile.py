"""`softbench profile` and `softbench tune`: thin typer commands over softbench.profile and
softbench.tuning. cli.py adds them to its app with `register(app)`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from softbench.analysis import tuning
from softbench.bench import profile as prof_mod, runner
from softbench.bench.plan import ALL_TILES, is_tile_word
from softbench.catalog import algorithms, check_algorithm, ISAS, tile_names
from softbench.cli.common import choices, split_list
from softbench.bench.sizes import resolve_size
from softbench.errors import InputError
from softbench.host import isa as isa_mod, machine
from softbench.host.caches import last_level_cache_bytes
from softbench.reporters import terminal
from softbench.reporters.console import make_console as _console, print_json as _print_json
from softbench.results import files as results
from softbench.results.files import default_result_path

DEFAULT_PROFILE_SIZE = "16Ki"
TUNE_REPETITIONS = 9  # more than the quick suite's 5: a wrong pick costs every later call


_split = split_list  # the one list syntax (cli/common.py)


def register(app: typer.Typer) -> None:
    """Add the `profile` and `tune` commands to `app`."""

    @app.command("profile")
    def profile_cmd(
        algorithm: Optional[List[str]] = typer.Option(None, "--algorithms", "--algorithm", "-a", help=f"Algorithms to profile (repeatable or comma-separated; 'all'): {choices(algorithms())}. Default: all."),
        isa_names: Optional[List[str]] = typer.Option(None, "--isa", "-i", help=f"ISAs (repeatable or comma-separated; 'best'): {choices(ISAS)}. Default: the best this host runs."),
        size: Optional[List[str]] = typer.Option(None, "--sizes", "--size", "-n", help=f"Sizes in float32 elements (repeatable or comma-separated): 4096, 16Ki, 64Mi, 1e6, 2^26, 4xLLC. Default: {DEFAULT_PROFILE_SIZE}."),
        repetitions: int = typer.Option(5, "--repetitions", "-r", help="Samples of each item (kernel, each pass, each twin), after one warm-up."),
        min_time: float = typer.Option(0.01, "--min-time", help="Seconds per sample (the loop of calls is calibrated to last at least this)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the input (normal * 4, as `run` uses) and of the shuffled order."),
        no_counters: bool = typer.Option(False, "--no-counters", help="Do not try the hardware counters (perf_event_open)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Record the profiles in this result file: created when missing, else added to its 'profiles' list."),
        json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables."),
    ) -> None:
        """Where one softmax kernel spends its time at one size: each pass timed alone (share,
        bytes, GB/s against that pass's traffic twin), the sum of the passes against the whole
        kernel, the compute floor (the kernel at an L1-resident size and the cost of one exp), and
        hardware counters where perf_event_open works (else one line why, and an estimate).

        Example: softbench profile -a two-pass -a three-pass-reload --isa avx2 --size 16Ki --size 2^26
        """
        algs = _split(algorithm)
        algs = list(algorithms()) if not algs or algs == ["all"] else [check_algorithm(a).name for a in algs]
        isas = _split(isa_names) or ["best"]
        isas = [isa_mod.best() if i in ("best", "auto") else isa_mod.resolve(i) for i in isas]
        if repetitions < 1:
            raise InputError(f"--repetitions must be >= 1, got {repetitions}")
        if not min_time > 0:
            raise InputError(f"--min-time must be a positive number of seconds, got {min_time}")
        llc = last_level_cache_bytes(machine.collect_caches())
        sizes = [resolve_size(s, llc) for s in (_split(size) or [DEFAULT_PROFILE_SIZE])]
        for n in sizes:
            prof_mod.check_memory(n)
        if output is not None and output.exists() and output.is_dir():
            raise InputError(f"{output}: is a folder; --output takes a result file (.json)")
        err = _console(stderr=True)
        profiles = []
        for isa_name in isas:
            for alg in algs:
                for n in sizes:
                    if err.is_terminal:
                        err.print(f"profiling {alg} / {isa_name} at N = {n:,} ...", end="\r")
                    p = prof_mod.profile_kernel(alg, isa_name, n, repetitions=repetitions, min_time=min_time,
                                                seed=seed, counters=not no_counters)  # fmt: skip
                    profiles.append(p)
                    if not json_out:
                        terminal.print_profile(_console(), p)
                        _console().print()
        done = prof_mod.record(output, profiles, isas) if output is not None else None
        if json_out:
            _print_json({"profiles": profiles, **({"recorded": str(output)} if output is not None else {})})
        elif done:
            typer.echo(done)

    @app.command("tune")
    def tune_cmd(
        from_file: Optional[Path] = typer.Option(None, "--from", metavar="RESULT.json", help="Derive the tuning from an existing result file instead of measuring."),
        suite: str = typer.Option("quick", "--suite", "-s", help="Suite whose sizes the sweep uses (built-in name or TOML path)."),
        isa_names: Optional[List[str]] = typer.Option(None, "--isa", "-i", help=f"ISAs to tune (repeatable or comma-separated): {choices(ISAS)}. Default: the best this host runs."),
        sizes: Optional[List[str]] = typer.Option(None, "--sizes", "--size", "-n", help="Sizes (repeatable or comma-separated: 4Ki, 1e6, 2^26, 4xLLC); override the suite's (4Ki ... past 4x LLC)."),
        repetitions: Optional[int] = typer.Option(None, "--repetitions", "-r", help=f"Samples per point (>= 5). Default: {TUNE_REPETITIONS}."),
        min_time: Optional[float] = typer.Option(None, "--min-time", help="Seconds per sample. Default: the suite's."),
        tiles: Optional[List[str]] = typer.Option(None, "--tiles", help="Kernel tiles to measure and choose among (native/tiles.def): default (each ISA's default tile; the default), all (every tile of the ISA), or tile names (repeatable or comma-separated, e.g. x64-acc2). The chosen tile per size is recorded."),
        result: Optional[Path] = typer.Option(None, "--result", help="Where the sweep's result file goes. Default: runs/ beside the tuning file."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="The tuning file to write. Default: $SOFTBENCH_TUNING_FILE, else tuning.json in the per-user data folder."),
        show: bool = typer.Option(False, "--show", help="Print the current tuning file and what algorithm='auto' uses; measure nothing."),
        json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables."),
    ) -> None:
        """Measure which algorithm is fastest at each size on this CPU (every algorithm on the best
        ISA, sizes from L1 to past 4x the LLC; with --tiles, every algorithm in each tile) and
        write the tuning file that softbench.softmax(x, algorithm="auto") reads: per ISA the fastest
        algorithm and tile per size band, the crossovers, and the machine (CPU model, hostname)
        and softbench version.

        Example: softbench tune            (or: softbench tune --from results/run.json)

        Example: softbench tune --tiles all --sizes 4Ki,64Ki,1Mi
        """
        path = Path(output) if output is not None else tuning.tuning_path()
        isa_names = ",".join(split_list(isa_names)) or None
        sizes = ",".join(split_list(sizes)) or None
        if show and not path.exists():
            if json_out:
                _print_json({"tuning_file": str(path), "exists": False, "usable": False, "reason": "no tuning file",
                             "rule": tuning.DEFAULT_RULE, "tuning": None})  # fmt: skip
            else:
                _console().print(tuning.no_tuning_file(path), markup=False)
            return
        if show:
            doc = tuning.read(path)
            ok, why = tuning.usable(doc)
            note = "softmax(algorithm='auto') uses it" if ok else f"softmax(algorithm='auto') ignores it: {why}; it uses the default rule: {tuning.DEFAULT_RULE}"
            if json_out:
                _print_json({"tuning_file": str(path), "exists": True, "usable": ok, "reason": why, "rule": tuning.DEFAULT_RULE, "tuning": doc})
            else:
                terminal.print_tuning(_console(), doc, path, [note])
            return
        notes: list[str] = []
        if from_file is not None:
            if any(v is not None for v in (isa_names, sizes, repetitions, min_time, result, tiles)) or suite != "quick":
                raise InputError("--from derives the tuning from a finished run (with the tiles it measured); it takes no sweep options (--suite, --isa, --sizes, --repetitions, --min-time, --tiles, --result)")

            rf = results.load(from_file)
            doc = tuning.derive(rf.results, rf.context, source=str(from_file))
            if not rf.complete:
                notes.append(f"{from_file} is an incomplete run: the tuning covers only its finished points")
        else:
            import platform

            reps = TUNE_REPETITIONS if repetitions is None else repetitions
            plan = runner.make_plan(suite, isas=isa_names or "best", sizes=sizes, repetitions=reps, min_time=min_time,
                                    variants=_tile_words(tiles))  # fmt: skip
            if result is None:
                result = default_result_path(path.parent / "runs", {"hostname": platform.node()})
            err_console = _console(stderr=True)
            with terminal.RunProgress(err_console) as progress:
                terminal.print_plan(err_console, plan)
                outcome = runner.run(plan, Path(result), progress)
            for f in outcome.failures:
                notes.append(f"{f['kernel']} failed ({f['message']}): it is not in the tuning")
            doc = tuning.derive(outcome.records, outcome.context, source=str(outcome.path))
        ok, why = tuning.usable(doc)
        if not ok:
            notes.append(f"softmax(algorithm='auto') will ignore this tuning here: {why}")
        written = tuning.write(doc, path)
        if json_out:
            _print_json({"tuning_file": str(written), "usable": ok, "notes": notes, "tuning": doc})
        else:
            terminal.print_tuning(_console(), doc, written, notes)


def _tile_words(values: Optional[List[str]]) -> Optional[str]:
    """tune --tiles as run --variants words: default, all (= "tiles"), or tile names; only tiles."""
    words = split_list(values)
    for word in words:
        if word != "all" and not is_tile_word(word):
            raise InputError(f"unknown tile {word!r} for --tiles; choose default, all or a tile: {', '.join(tile_names())}")
    return ",".join(ALL_TILES if w == "all" else w for w in words) or None
