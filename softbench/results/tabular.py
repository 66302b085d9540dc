"""Result files as flat rows: one dict per record, the same columns for CSV and for DataFrames.

A row holds the record's figures (medians, not the raw samples: those stay in the JSON file) and,
when asked, a few columns of the file's machine context. Missing values are None (an empty CSV
cell, NaN in pandas). The column list is the contract: `COLUMNS` in this order, then
`CONTEXT_COLUMNS` with `context=True`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMNS", "CONTEXT_COLUMNS", "columns", "record_row", "file_rows", "context_row"]

COLUMNS = (
    "file", "source_format", "algorithm", "isa", "variant", "n", "rows", "cols", "threads", "regime",
    "samples", "calls_per_sample", "ns_per_element", "min_ns_per_element", "gbps_effective",
    "gbps_actual", "roofline_efficiency", "twin_ns_per_element", "max_rel_error", "sync_ns",
    "bytes_per_element", "imported_name", "tile",
)  # fmt: skip
CONTEXT_COLUMNS = ("hostname", "cpu_model", "created", "suite", "complete")


def columns(context: bool = False) -> list[str]:
    return list(COLUMNS) + (list(CONTEXT_COLUMNS) if context else [])


def record_row(r: Any, file: str = "", source_format: str = "softbench") -> dict[str, Any]:
    """The columns of one Record (softbench.results.Record)."""
    return {
        "file": file, "source_format": source_format, "algorithm": r.algorithm, "isa": r.isa,
        "variant": r.variant, "n": r.n, "rows": r.rows, "cols": r.cols, "threads": r.threads,
        "regime": r.regime, "samples": len(r.samples_ns), "calls_per_sample": r.calls_per_sample,
        "ns_per_element": r.ns_per_element, "min_ns_per_element": r.min_ns_per_element,
        "gbps_effective": r.gbps_effective, "gbps_actual": r.gbps_actual,
        "roofline_efficiency": r.roofline_efficiency, "twin_ns_per_element": r.twin_ns_per_element,
        "max_rel_error": r.max_rel_error, "sync_ns": r.sync_ns,
        "bytes_per_element": r.bytes_per_element.get("total"),
        "imported_name": (r.imported or {}).get("name"),
        "tile": r.tile,  # last: added after the others, so their positions hold; empty: the default tile
    }  # fmt: skip


def context_row(ctx: dict[str, Any], complete: bool) -> dict[str, Any]:
    """The machine columns of a file's context (None where the file does not say)."""
    cpu = ctx.get("cpu") if isinstance(ctx.get("cpu"), dict) else {}
    suite = ctx.get("suite") if isinstance(ctx.get("suite"), dict) else {}
    return {
        "hostname": ctx.get("hostname"), "cpu_model": cpu.get("model_name"),
        "created": ctx.get("created"), "suite": suite.get("name"), "complete": complete,
    }  # fmt: skip


def file_rows(rf: Any, context: bool = False) -> list[dict[str, Any]]:
    """One row per record of a ResultFile, in the file's order."""
    extra = context_row(rf.context, rf.complete) if context else {}
    return [{**record_row(r, str(rf.path), rf.source_format), **extra} for r in rf.results]
