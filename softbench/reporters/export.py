"""`softbench export`: result files in the formats other tools read.

One table of formats (`FORMATS`), each a function from loaded files to text:

* ``csv``: one row per record (softbench.results.tabular's columns), for `pandas.read_csv`, spreadsheets.
* ``gbench-json``: Google Benchmark JSON, for google/benchmark's tools/compare.py and CI
  dashboards that read it (github-action-benchmark's "googlecpp"). Each raw sample is one
  repetition (run_type "iteration", `iterations` = the sample's calls), followed by the mean,
  median, stddev and cv aggregates as google/benchmark writes them. Names are
  `<algorithm>/<isa>/<N>` (then `/rows:R`, `/variant:V`, `/threads:T` where they apply), and
  softbench.results.gbench reads them back. softbench times wall-clock only, so `cpu_time` repeats
  `real_time` (the context says so).
* ``markdown``: per file, the table of every point (the report's table).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Callable, Sequence

import numpy as np

from softbench.analysis import machines
from softbench.catalog import EFFECTIVE_BYTES
from softbench.errors import InputError
from softbench.reporters import markdown
from softbench.reporters import tables as tb
from softbench.results import tabular
from softbench.results.naming import sort_key
from softbench.results.schema import Record, ResultFile
from softbench.version import __version__

__all__ = ["FORMATS", "export", "to_csv", "to_gbench_json", "to_markdown", "gbench_document", "gbench_name"]

CPU_TIME_NOTE = "cpu_time repeats real_time: softbench measures wall-clock time (CLOCK_MONOTONIC_RAW) only"


def to_csv(files: Sequence[ResultFile], context: bool = False) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=tabular.columns(context=context), lineterminator="\n")
    w.writeheader()
    for f in files:
        for row in f.to_rows(context=context):
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def gbench_name(r: Record) -> str:
    """`<algorithm>/<isa>/<N>[/rows:R][/variant:V][/threads:T]`, as softbench.results.gbench reads it."""
    return (f"{r.algorithm}/{r.isa}/{r.n}" + (f"/rows:{r.rows}" if r.rows > 1 else "")
            + (f"/variant:{r.variant}" if r.variant else "") + (f"/threads:{r.threads}" if r.threads > 1 else ""))  # fmt: skip


def _gbench_context(rf: ResultFile) -> dict[str, Any]:
    ctx = rf.context
    out: dict[str, Any] = {"date": str(ctx.get("created", "unknown")), "host_name": machines.hostname(ctx), "executable": "softbench"}
    cores = ctx.get("cores")
    if isinstance(cores, dict) and isinstance(cores.get("logical"), int):
        out["num_cpus"] = cores["logical"]
    power = ctx.get("power")
    if isinstance(power, dict) and power.get("governor") not in (None, "", "unknown"):
        out["cpu_scaling_enabled"] = power["governor"] != "performance"
    caches = []
    for c in ctx.get("caches") or []:
        if isinstance(c, dict) and isinstance(c.get("level"), int) and isinstance(c.get("size_bytes"), int):
            caches.append({"type": str(c.get("type", "Unified")), "level": c["level"], "size": c["size_bytes"],
                           "num_sharing": c["shared_by"] if isinstance(c.get("shared_by"), int) else 0})  # fmt: skip
    out["caches"] = caches
    load = ctx.get("load")
    if isinstance(load, dict) and all(isinstance(load.get(k), (int, float)) for k in ("1min", "5min", "15min")):
        out["load_avg"] = [load["1min"], load["5min"], load["15min"]]
    out.update({"library_version": f"softbench {__version__}", "library_build_type": "release", "json_schema_version": 1})
    out["softbench"] = {"file": str(rf.path), "cpu_model": machines.cpu_model(ctx), "note": CPU_TIME_NOTE}
    if ctx.get("fixture") is True:
        out["fixture"] = "synthetic test data, not a measurement"
    return out


def _counters(r: Record, per_call_ns: float) -> dict[str, float]:
    secs = per_call_ns * 1e-9
    c = {"bytes": EFFECTIVE_BYTES * r.n / secs, "elements": r.n / secs}
    if r.roofline_efficiency is not None:
        c["roofline_efficiency"] = r.roofline_efficiency
    if r.max_rel_error is not None:
        c["max_rel_error"] = r.max_rel_error
    return c


_AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda v: float(np.mean(v)),
    "median": lambda v: float(np.median(v)),
    "stddev": lambda v: float(np.std(v, ddof=1)),
    "cv": lambda v: float(np.std(v, ddof=1) / np.mean(v)),
}


def gbench_document(rf: ResultFile) -> dict[str, Any]:
    """One result file as a Google Benchmark JSON document (see the module doc)."""
    benchmarks: list[dict[str, Any]] = []
    for family, r in enumerate(sorted(rf.results, key=lambda r: sort_key(r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows))):
        name = gbench_name(r)
        per_call = np.asarray(r.samples_ns, dtype=np.float64) / r.calls_per_sample
        reps = len(per_call)
        head = {"name": name, "family_index": family, "per_family_instance_index": 0, "run_name": name}
        for i, t in enumerate(per_call):
            benchmarks.append({**head, "run_type": "iteration", "repetitions": reps, "repetition_index": i, "threads": r.threads,
                               "iterations": r.calls_per_sample, "real_time": float(t), "cpu_time": float(t), "time_unit": "ns",
                               **_counters(r, float(t))})  # fmt: skip
        if reps < 2:  # google/benchmark writes aggregates only for two or more repetitions
            continue
        for agg, fn in _AGGREGATES.items():
            v = fn(per_call)
            if not math.isfinite(v):
                continue
            counters = {k: fn(np.asarray([_counters(r, float(t))[k] for t in per_call])) for k in _counters(r, float(per_call[0]))}
            benchmarks.append({**head, "name": f"{name}_{agg}", "run_type": "aggregate", "repetitions": reps, "threads": r.threads,
                               "aggregate_name": agg, "aggregate_unit": "percentage" if agg == "cv" else "time",
                               "iterations": reps, "real_time": v, "cpu_time": v, "time_unit": "ns",
                               **{k: x for k, x in counters.items() if math.isfinite(x)}})  # fmt: skip
    return {"context": _gbench_context(rf), "benchmarks": benchmarks}


def to_gbench_json(files: Sequence[ResultFile], context: bool = False) -> str:
    if len(files) != 1:
        raise InputError(
            f"--format gbench-json takes one result file, got {len(files)} (a Google Benchmark file is one run on "
            "one machine); export each file on its own"
        )
    return json.dumps(gbench_document(files[0]), indent=2, allow_nan=False) + "\n"


def to_markdown(files: Sequence[ResultFile], context: bool = False) -> str:
    labels = machines.file_labels(files)
    parts = []
    for f, label in zip(files, labels):
        parts.append(f"## {markdown.escape(label)}: {markdown.escape(machines.machine_name(f.context))}\n")
        notes = machines.file_notes(f, label)
        if notes:
            parts.append(markdown.bullet_list(notes))
        parts.append(markdown.table(tb.points_table(f)))
    return "\n".join(parts)


# name -> (writer, what it is for); the one list of export formats (the CLI's choices come from it)
FORMATS: dict[str, tuple[Callable[..., str], str]] = {
    "csv": (to_csv, "one row per record, for pandas.read_csv and spreadsheets"),
    "gbench-json": (to_gbench_json, "Google Benchmark JSON, for google/benchmark's compare.py and CI dashboards"),
    "markdown": (to_markdown, "a Markdown table of every point per file"),
}


def export(files: Sequence[ResultFile], fmt: str, context: bool = False) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return FORMATS[fmt][0](files, context=context)
