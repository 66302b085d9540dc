"""`softbench export`: a thin typer command over softbench.reporters.export. cli/app.py adds it
to its app with `register(app)`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from softbench.analysis.compare import load_files
from softbench.errors import InputError, ResultFileError
from softbench.reporters import export
from softbench.reporters.console import is_quiet, say
from softbench.reporters.export import FORMATS


def register(app: typer.Typer) -> None:
    """Add the `export` command to `app`."""

    @app.command("export")
    def export_cmd(
        files: List[Path] = typer.Argument(..., metavar="RESULT.json...", help="Result files (softbench's, or Google Benchmark JSON).", show_default=False),
        fmt: str = typer.Option(..., "--format", "-f", help="One of: " + "; ".join(f"{k} ({v[1]})" for k, v in FORMATS.items()) + ".", show_default=False),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: stdout); an existing file is kept unless --force."),
        force: bool = typer.Option(False, "--force", help="Overwrite the --output file if it exists."),
        context: bool = typer.Option(False, "--context", help="csv: add the machine's columns (hostname, CPU model, created, suite, complete)."),
    ) -> None:
        """Write result files in another tool's format: csv (pandas.read_csv, spreadsheets),
        gbench-json (google/benchmark's compare.py, CI dashboards) or markdown.

        Example: softbench export run.json --format csv -o run.csv

        Example: softbench export run.json --format gbench-json > run.gbench.json
        """
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if output is not None:
            if output.is_dir():
                raise InputError(f"{output}: is a folder; --output takes a file name")
            if output.exists() and not force:
                raise InputError(f"{output}: a file of that name already exists; add --force to overwrite it, or choose another name")
        loaded, errors = load_files(files)
        if errors:
            for line in errors[:-1]:
                sys.stderr.write(f"softbench: error: {line}\n")
            raise ResultFileError(errors[-1])
        for f in loaded:
            say(f"read {f.path}: {len(f.results)} records ({f.source_format})")
        text = export.export(loaded, fmt, context=context)
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8", newline="\n")
        except OSError as e:
            raise InputError(f"{output}: cannot write it ({e.strerror})") from None
        if not is_quiet():
            typer.echo(f"wrote {output} ({fmt}, {sum(len(f.results) for f in loaded)} records)", err=True)
