"""Google Benchmark JSON out, for google/benchmark's tools/compare.py and CI dashboards that read
it (github-action-benchmark's "googlecpp").

Each raw sample is one repetition (run_type "iteration", `iterations` = the sample's calls),
followed by the mean, median, stddev and cv aggregates as google/benchmark writes them. Names are
`<algorithm>/<isa>/<N>` (then `/rows:R`, `/variant:V`, `/tile:T`, `/threads:T` where they apply), and
softbench.results.gbench reads them back. softbench times wall-clock only, so `cpu_time` repeats
`real_time` (the context says so).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Sequence

import numpy as np

from softbench.analysis import machines
from softbench.catalog import EFFECTIVE_BYTES
from softbench.errors import InputError
from softbench.results.naming import sort_key
from softbench.results.schema import Record, ResultFile
from softbench.version import __version__

__all__ = ["CPU_TIME_NOTE", "gbench_name", "gbench_document", "to_gbench_json"]

CPU_TIME_NOTE = "cpu_time repeats real_time: softbench measures wall-clock time (CLOCK_MONOTONIC_RAW) only"


def gbench_name(r: Record) -> str:
    """`<algorithm>/<isa>/<N>[/rows:R][/variant:V][/tile:T][/threads:T]`, as softbench.results.gbench reads it."""
    return (f"{r.algorithm}/{r.isa}/{r.n}" + (f"/rows:{r.rows}" if r.rows > 1 else "")
            + (f"/variant:{r.variant}" if r.variant else "") + (f"/tile:{r.tile}" if r.tile else "")
            + (f"/threads:{r.threads}" if r.threads > 1 else ""))  # fmt: skip


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
    for family, r in enumerate(sorted(rf.results, key=lambda r: sort_key(r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows, r.tile))):
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
