"""CSV: one row per record (softbench.results.tabular's columns), for `pandas.read_csv` and
spreadsheets. Empty cells where a figure is unknown."""

from __future__ import annotations

import csv
import io
from typing import Sequence

from softbench.results import tabular
from softbench.results.schema import ResultFile

__all__ = ["to_csv"]


def to_csv(files: Sequence[ResultFile], context: bool = False) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=tabular.columns(context=context), lineterminator="\n")
    w.writeheader()
    for f in files:
        for row in f.to_rows(context=context):
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()
