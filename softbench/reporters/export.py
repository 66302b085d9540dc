"""`softbench export`: result files in the formats other tools read. One table of formats
(`FORMATS`); each format is its own reporter module (csv_out, gbench_json, markdown), a function
from loaded files to text."""

from __future__ import annotations

from typing import Callable, Sequence

from softbench.errors import InputError
from softbench.reporters.csv_out import to_csv
from softbench.reporters.gbench_json import to_gbench_json
from softbench.reporters.markdown import files_markdown
from softbench.results.schema import ResultFile

__all__ = ["FORMATS", "export"]

# name -> (writer, what it is for); the one list of export formats (the CLI's choices come from it)
FORMATS: dict[str, tuple[Callable[..., str], str]] = {
    "csv": (to_csv, "one row per record, for pandas.read_csv and spreadsheets"),
    "gbench-json": (to_gbench_json, "Google Benchmark JSON, for google/benchmark's compare.py and CI dashboards"),
    "markdown": (files_markdown, "a Markdown table of every point per file"),
}


def export(files: Sequence[ResultFile], fmt: str, context: bool = False) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return FORMATS[fmt][0](files, context=context)
