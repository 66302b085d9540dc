"""`softbench compare` and `softbench report`: thin typer commands over softbench.analysis.compare
and softbench.reporters.report. cli/app.py adds them to its app with `register(app)`.

Result files that cannot be read (not JSON, not softbench's, a newer schema, damaged) are named
one line each on stderr; the command then stops (exit 2) unless --skip-bad is given, in which case
it goes on without them and says so in its output. Nothing is skipped silently.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from softbench.analysis import compare as cmp, gate
from softbench.catalog import check_isa_name, ISAS
from softbench.errors import InputError, ResultFileError
from softbench.reporters import report
from softbench.reporters.compare_terminal import print_compare
from softbench.reporters.console import is_quiet, make_console as _console, say
from softbench.reporters.json_out import compare_json
from softbench.reporters.markdown import compare_markdown

_MODES = ("auto", "same", "cross")


def _load(paths: List[Path], skip_bad: bool, need: int) -> tuple[list, list[str]]:
    """Loaded files and, with --skip-bad, one note per skipped file. Without it, every bad file
    is printed (one line each) and the last is raised, so the exit is non-zero."""
    files, errors = cmp.load_files(paths)
    if errors and not skip_bad:
        for line in errors[:-1]:
            sys.stderr.write(f"softbench: error: {line}\n")
        enough = len(files) >= need
        raise ResultFileError(errors[-1] + (" (use --skip-bad to go on without the unreadable files)" if enough else ""))
    notes = [f"skipped (unreadable): {line}" for line in errors]
    for line in notes:
        sys.stderr.write(f"softbench: warning: {line}\n")
    for f in files:
        say(f"read {f.path}: {len(f.results)} records ({f.source_format}, {'complete' if f.complete else 'incomplete'})")
    return files, notes


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise InputError(f"--mode must be one of {', '.join(_MODES)}, got {mode!r}")
    return mode


def register(app: typer.Typer) -> None:
    """Add the `compare` and `report` commands to `app`."""

    @app.command("compare")
    def compare_cmd(
        files: List[Path] = typer.Argument(..., metavar="RESULT.json...", help="Result files written by 'softbench run', or Google Benchmark JSON; the first is the baseline.", show_default=False),
        mode: str = typer.Option("auto", "--mode", help=f"One of {', '.join(_MODES)}. auto: same-machine comparison when every file has the first one's CPU model and hostname, else across machines; same or cross force one."),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the Mann-Whitney U test (same machine), after the correction for the number of points."),
        correction: str = typer.Option("holm", "--correction", help="Correction for testing many points at once: holm (no unchanged point called changed, at level alpha), bh (Benjamini-Hochberg: false calls at most alpha of the calls) or none."),
        fail_above: Optional[str] = typer.Option(None, "--fail-above", metavar="PCT", help="CI gate (same machine): exit 1 when a point is significantly slower than the baseline by more than PCT percent, or per regime: L1=8,DRAM=3 (only those regimes), 5,DRAM=3 (DRAM 3, the others 5). Also fails on failed kernels, unfinished runs, missing or untestable points (see --allow)."),
        allow: Optional[str] = typer.Option(None, "--allow", help="With --fail-above: let these problems through instead of failing, comma-separated: failed, incomplete, missing, untested."),
        isa: str = typer.Option("best", "--isa", help=f"Across machines: 'best' (each machine's widest ISA), 'all' (a row per ISA) or an ISA name: {', '.join(ISAS)}."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help="Go on without result files that cannot be read (each is named on stderr and in the output)."),
        json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout instead of tables."),
        markdown_out: bool = typer.Option(False, "--markdown", help="Print Markdown tables on stdout instead of terminal tables."),
        changed_only: bool = typer.Option(False, "--changed-only", help="Same machine: list only the points that changed significantly (slower or faster)."),
    ) -> None:
        """Compare result files. From one machine (same CPU model and hostname): per point the ratio
        of medians (later file / first), the Hodges-Lehmann ratio with its 95% interval, a
        Mann-Whitney U test on the raw samples corrected for the number of points, the geometric
        mean per algorithm, and the largest change any point can have ("no change beyond +-X%").
        From different machines: per algorithm and regime each machine's ns/element, GB/s and
        roofline efficiency, the Two-Pass and online speedup over each Three-Pass, and the
        machines side by side.

        Example: softbench compare before.json after.json --fail-above 5

        Example: softbench compare before.json after.json --fail-above L1=8,L2=8,L3=5,DRAM=3
        """
        _check_mode(mode)
        if json_out and markdown_out:
            raise InputError("choose one of --json and --markdown")
        thresholds = gate.parse_thresholds(fail_above) if fail_above is not None else None
        allowed = gate.parse_allow(allow)
        if allow is not None and thresholds is None:
            raise InputError("--allow only applies to the gate; add --fail-above")
        loaded, skipped = _load(files, skip_bad, 2)
        if len(loaded) < 2:
            raise InputError(f"compare needs at least two readable result files, got {len(loaded)}")
        if isa not in ("best", "all"):
            check_isa_name(isa)
        result = cmp.compare(loaded, mode=mode, alpha=alpha, isa=isa, correction=correction)
        say(f"compared as {'the same machine' if result.kind == 'same-machine' else 'different machines'} (--mode {mode}; "
            "same machine: CPU model and hostname known and equal, or for an imported file hostname, caches and CPU count)")  # fmt: skip
        result.notes[:0] = skipped
        verdict = None
        extra: list[str] = []
        if thresholds is not None:
            if result.kind != "same-machine":
                raise InputError(
                    "--fail-above needs result files from one machine (same CPU model and hostname); "
                    "these are from different machines (use --mode same to force it)"
                )
            verdict = gate.evaluate(result, loaded, thresholds, allowed)
            extra += [f"gate: allowed: {line}" for line in verdict.allowed]
            if verdict.ungated_regimes:
                extra.append(f"gate: no threshold for regime(s) {', '.join(verdict.ungated_regimes)}: their points are not gated")
        if json_out:
            doc = compare_json(result, verdict)
            if extra:
                doc["notes"] = doc["notes"] + extra
            sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        elif markdown_out:
            sys.stdout.write(compare_markdown(result, extra, changed_only=changed_only))
        else:
            print_compare(_console(), result, extra, changed_only=changed_only)
        if verdict is not None:
            for line in verdict.problems:
                sys.stderr.write(f"softbench: gate: {line}\n")
            if verdict.regressions:
                label, p = max(verdict.regressions, key=lambda lp: lp[1].hl_ratio)
                sys.stderr.write(
                    f"softbench: {len(verdict.regressions)} point(s) significantly slower than the baseline by more than "
                    f"{verdict.thresholds.text()} (worst: {label} {p.algorithm}/{p.isa} n={p.n} {p.regime}, "
                    f"{(p.hl_ratio - 1) * 100:+.1f}% [{(p.ci_low - 1) * 100:+.1f}%, {(p.ci_high - 1) * 100:+.1f}%], "
                    f"p={p.p_adjusted:.2g} {result.pairs[0].correction})\n"
                )
            if not verdict.passed:
                if not verdict.regressions:
                    sys.stderr.write(f"softbench: gate failed: {len(verdict.problems)} problem(s) above; "
                                     "the comparison does not cover what it should\n")  # fmt: skip
                raise typer.Exit(1)
            if not json_out:
                sys.stderr.write(f"softbench: no point significantly slower than the baseline by more than {verdict.thresholds.text()}\n")

    @app.command("report")
    def report_cmd(
        files: List[Path] = typer.Argument(..., metavar="RESULT.json...", help="Result files written by 'softbench run', or Google Benchmark JSON.", show_default=False),
        output: Path = typer.Option(..., "--output", "-o", help="Folder to write into (created if missing); existing files of the same names are replaced."),
        markdown_name: str = typer.Option("report.md", "--markdown-name", help="Name of the Markdown file in the output folder, e.g. README.md to write results/README.md."),
        html: bool = typer.Option(True, "--html/--no-html", help="Also write index.html (the same content, SVG plots)."),
        plots_dir: str = typer.Option("plots", "--plots-dir", help="Subfolder of the output folder for the PNG and SVG plots (linked relatively)."),
        title: str = typer.Option("softbench report", "--title", help="Title of the report."),
        mode: str = typer.Option("auto", "--mode", help=f"How to compare two or more files, one of {', '.join(_MODES)}: auto (by the same-machine rule), same or cross."),
        isa: str = typer.Option("best", "--isa", help=f"Across files: 'best' (each file's widest ISA) or an ISA name: {', '.join(ISAS)}."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help="Go on without result files that cannot be read (each is named on stderr and in the report)."),
        json_out: bool = typer.Option(False, "--json", help="Print the list of files written as JSON on stdout."),
    ) -> None:
        """Write PNG and SVG plots and a Markdown report (and index.html) that embeds them with the
        tables and the machine context: throughput, speedup over Three-Pass (with the paper's
        figures and the crossover N), roofline efficiency and accuracy against N, per file and
        across files. The same files give the same bytes.

        Example: softbench report results/*.json --output results --markdown-name README.md
        """
        _check_mode(mode)
        if isa not in ("best", "all"):
            check_isa_name(isa)
        if not plots_dir or Path(plots_dir).is_absolute() or ".." in Path(plots_dir).parts:
            raise InputError(f"--plots-dir must be a subfolder name inside the output folder, got {plots_dir!r}")
        loaded, skipped = _load(files, skip_bad, 1)
        if not loaded:
            raise InputError("report needs at least one readable result file")
        if output.exists() and not output.is_dir():
            raise InputError(f"{output}: exists and is not a folder; choose an output folder")
        out = report.write_report(
            loaded, output, markdown_name=markdown_name, html_name="index.html" if html else None,
            plots_dir=plots_dir, title=title, mode=mode, isa=isa, notes=skipped,
        )  # fmt: skip
        if json_out:
            sys.stdout.write(json.dumps({
                "markdown": str(out.markdown), "html": str(out.html) if out.html else None,
                "plots": [str(p) for p in out.plots], "notes": out.notes,
            }, indent=2) + "\n")  # fmt: skip
        elif not is_quiet():
            typer.echo(f"wrote {out.markdown}" + (f", {out.html}" if out.html else "") + f" and {len(out.plots)} plots in {output / plots_dir}")
            for note in out.notes:
                typer.echo(f"note: {note}")
