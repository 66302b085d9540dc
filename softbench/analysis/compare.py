"""Comparing result files, the entry point: load them, then compare them as runs of one machine
(softbench.analysis.same_machine) or of several (softbench.analysis.cross_machine).

The same-machine rule is softbench.analysis.machines.same_machine; callers can force either mode
(`compare(..., mode="same"|"cross")`); forcing "same" on files that fail the rule adds a note.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from softbench.analysis.cross_machine import compare_cross_machine, CrossMachineComparison
from softbench.analysis.machines import all_same_machine, check_files
from softbench.analysis.same_machine import compare_same_machine, DEFAULT_ALPHA, SameMachineComparison
from softbench.errors import InputError, ResultFileError
from softbench.results import files as results
from softbench.results.schema import ResultFile

__all__ = [
    "load_files",
    "compare",
    "to_plain",
]


def load_files(paths: Sequence[str | Path]) -> tuple[list[ResultFile], list[str]]:
    """Load every path; return the files that loaded and one error line per file that did not.

    Nothing is skipped silently: the caller either stops on the errors or shows each one.
    """
    files, errors = [], []
    for p in paths:
        try:
            files.append(results.load(p))
        except ResultFileError as e:
            errors.append(str(e))
    return files, errors


def to_plain(obj: Any) -> Any:
    """Dataclasses/tuples/numpy to JSON-ready Python; non-finite floats to None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def compare(
    files: Sequence[ResultFile], mode: str = "auto", alpha: float = DEFAULT_ALPHA, isa: str = "best", correction: str = "holm"
) -> SameMachineComparison | CrossMachineComparison:
    """mode "auto": same-machine comparison when every file passes `same_machine` with the
    first, else across machines; "same" or "cross" force one."""
    if mode not in ("auto", "same", "cross"):
        raise InputError(f"unknown compare mode {mode!r}; choose auto, same or cross")
    check_files(files)
    if mode == "same" or (mode == "auto" and all_same_machine(files)):
        return compare_same_machine(files, alpha, correction)
    return compare_cross_machine(files, isa)
