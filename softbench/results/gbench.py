"""Google Benchmark JSON (a binary run with `--benchmark_out_format=json`) read as a result file.

That is the format of XNNPACK's own benchmarks (bench/f32-softmax, f32-raddextexp, ...) and of
most C++ projects' microbenchmarks. Each benchmark becomes a `Record` marked `imported`:

* Names. XNNPACK's bench/f32-softmax names its runs `<Function>/<isa>_<recipe>/<N>/manual_time`:
  `TwoPassSoftMax` is two-pass, `ThreePassSoftMaxWithRecomputing` three-pass-recompute,
  `ThreePassSoftMaxWithReloading` three-pass-reload; the first word of the recipe
  (`avx512f_p5_scalef`) is the ISA. Runs that `softbench export --format gbench-json` wrote
  (`<algorithm>/<isa>/<N>[/rows:R][/variant:V][/tile:T]`) read back as they were. Any other name is kept
  as given for the algorithm, with its last integer argument as N and the ISA "unknown"
  (without an integer argument, N comes from an `elements` counter).
* Times. `real_time` in `time_unit` (XNNPACK times each call by hand, `UseManualTime`, so its
  real_time is the kernel's time); `cpu_time` is kept beside it in `imported`. Each repetition
  (`run_type` "iteration") is one sample of `iterations` calls. A file with aggregates only
  (`--benchmark_report_aggregates_only`) gives one sample, its median (else its mean).
* The machine: `context` (host_name, num_cpus, mhz_per_cpu, caches, load_avg, date) becomes the
  file's context; the original is kept under `context["google_benchmark"]`. It names no CPU model;
  see softbench.analysis.machines.same_machine for how such a file is matched to a softbench file.
* What it cannot say: there is no traffic twin (roofline_efficiency None) and no accuracy check
  (max_rel_error None). The traffic model is the algorithm's when the name maps to one of
  softbench's algorithms, else one read and one write (8 bytes per element, like the library
  baselines). Benchmarks that reported an error (e.g. XNNPACK's "no AVX512F extension" on a CPU
  without it) are not imported; the file's notes say which.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from softbench.catalog import EFFECTIVE_BYTES, ISAS, algorithms
from softbench.errors import ResultFileError
from softbench.host.caches import cache_levels, regime
from softbench.results.schema import Record, ResultFile

__all__ = ["FORMAT", "XNNPACK_ALGORITHMS", "TIME_UNITS", "is_gbench", "parse_name", "read"]

FORMAT = "google-benchmark"
TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}  # google/benchmark's time_unit -> ns
# XNNPACK bench/f32-softmax.cc: benchmark function -> softbench algorithm
XNNPACK_ALGORITHMS = {
    "TwoPassSoftMax": "two-pass",
    "ThreePassSoftMaxWithRecomputing": "three-pass-recompute",
    "ThreePassSoftMaxWithReloading": "three-pass-reload",
}
# Arguments google/benchmark appends to a run's name that say how it was run, not what ran.
_RUN_OPTIONS = re.compile(r"^(manual_time|real_time|process_time|(repeats|iterations|threads|min_time|min_warmup_time):[0-9.]+s?)$")
# The traffic of a softmax whose passes are unknown: one read, one write (as for library baselines).
_UNKNOWN_TRAFFIC = {"read_x": 4, "read_y": 0, "write_y": 4, "total": 8, "with_rfo": 12}


def parse_name(run_name: str, softbench_names: bool = False) -> dict[str, Any]:
    """{"algorithm", "isa", "n" (None when the name has none), "rows", "variant", "recipe"; "tile" when
    the name has one} of one
    run's name; see the module doc for the three kinds of names. `softbench_names`: the file was
    written by `softbench export` (its library_version says so), so `<name>/<isa>/<N>` is read as
    such for any name (library baselines too)."""
    parts = [p for p in run_name.split("/") if not _RUN_OPTIONS.match(p)]
    out: dict[str, Any] = {"algorithm": run_name, "isa": "unknown", "n": None, "rows": 1, "variant": None, "recipe": None}
    if not parts:
        return out
    family = parts[0]
    if family in XNNPACK_ALGORITHMS and len(parts) >= 3 and parts[2].isdigit():
        recipe = parts[1]
        word = recipe.split("_")[0]
        out.update(algorithm=XNNPACK_ALGORITHMS[family], isa=word, n=int(parts[2]), recipe=recipe)
        return out
    if (softbench_names or (family in algorithms() and parts[1:2] and parts[1] in ISAS)) and len(parts) >= 3 and parts[2].isdigit():
        out.update(algorithm=family, isa=parts[1], n=int(parts[2]))
        for p in parts[3:]:
            key, _, value = p.partition(":")
            if key == "rows" and value.isdigit():
                out["rows"] = int(value)
            elif key == "variant" and value:
                out["variant"] = value
            elif key == "tile" and value:  # only in softbench's own names: left out otherwise
                out["tile"] = value
        return out
    ints = [i for i, p in enumerate(parts) if p.isdigit()]
    if ints:
        k = ints[-1]
        out.update(algorithm="/".join(parts[:k] + parts[k + 1:]), n=int(parts[k]))
    else:
        out["algorithm"] = "/".join(parts)
    return out


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _context(g: dict[str, Any]) -> dict[str, Any]:
    """softbench's context keys from Google Benchmark's context (the original kept beside them)."""
    caches = []
    for c in g.get("caches") or []:
        if isinstance(c, dict) and isinstance(c.get("level"), int) and isinstance(c.get("size"), int):
            caches.append({"level": c["level"], "type": str(c.get("type", "Unified")), "size_bytes": c["size"],
                           "shared_by": c.get("num_sharing") if isinstance(c.get("num_sharing"), int) else None})  # fmt: skip
    ctx: dict[str, Any] = {"imported": {"format": FORMAT, "executable": g.get("executable"),
                                        "library_version": g.get("library_version")}}  # fmt: skip
    if isinstance(g.get("date"), str):
        ctx["created"] = g["date"]
    if isinstance(g.get("host_name"), str):
        ctx["hostname"] = g["host_name"]
    ctx["cpu"] = {"mhz_per_cpu": g.get("mhz_per_cpu"), "scaling_enabled": g.get("cpu_scaling_enabled")}
    if caches:
        ctx["caches"] = caches
    if isinstance(g.get("num_cpus"), int):
        ctx["cores"] = {"logical": g["num_cpus"]}
    if isinstance(g.get("load_avg"), list):
        ctx["load_avg"] = g["load_avg"]
    ctx["suite"] = {"name": Path(str(g.get("executable") or "google-benchmark")).name}
    if "fixture" in g:  # a synthetic file marks itself with --benchmark_context=fixture=...
        ctx["fixture"] = True
    ctx["google_benchmark"] = g
    return ctx


def is_gbench(doc: dict[str, Any]) -> bool:
    """Google Benchmark's JSON: a "context" object and a "benchmarks" list (google/benchmark's
    JSONReporter; also what its tools/compare.py reads)."""
    return isinstance(doc.get("context"), dict) and isinstance(doc.get("benchmarks"), list)


def read(p: Path, doc: dict[str, Any]) -> ResultFile:
    """A parsed Google Benchmark document as a ResultFile (source_format "google-benchmark")."""
    damaged = "the file is damaged or was edited by hand; re-run the benchmark with --benchmark_out_format=json"
    ctx = _context(doc["context"])
    levels = cache_levels(ctx.get("caches", []))
    softbench_names = str(doc["context"].get("library_version", "")).startswith("softbench")
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    aggregates: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    errors: dict[str, str] = {}  # run name -> its error (one per benchmark, not per repetition)
    order: list[tuple[str, int]] = []
    for i, b in enumerate(doc["benchmarks"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise ResultFileError(f"{p}: benchmark {i} has no 'name' (Google Benchmark JSON); {damaged}")
        name = b["name"]
        if b.get("error_occurred") or b.get("skipped"):
            errors.setdefault(str(b.get("run_name") or name), " ".join(str(b.get("error_message", "skipped")).split()))
            continue
        if b.get("time_unit") not in TIME_UNITS or _number(b.get("real_time")) is None:
            raise ResultFileError(
                f"{p}: benchmark {i} ({name}) needs a number 'real_time' and a 'time_unit' "
                f"({', '.join(TIME_UNITS)}); {damaged}"
            )
        threads = b.get("threads", 1)
        threads = threads if isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1 else 1
        key = (str(b.get("run_name") or name), threads)
        if key not in runs:
            runs[key], aggregates[key] = [], {}
            order.append(key)
        if b.get("run_type", "iteration") == "aggregate":
            aggregates[key][str(b.get("aggregate_name", ""))] = b
        else:
            runs[key].append(b)
    records, notes = [], []
    for key in order:
        chosen = sorted(runs[key], key=lambda b: b.get("repetition_index", 0) if isinstance(b.get("repetition_index"), int) else 0)
        if not chosen:
            agg = aggregates[key].get("median") or aggregates[key].get("mean")
            if agg is None:
                continue  # only spread aggregates (stddev, cv): no time to import
            chosen = [agg]
            notes.append(f"{key[0]}: only aggregates in the file; its {agg.get('aggregate_name')} stands as one sample")
        rec = _record(key, chosen, levels, softbench_names)
        if rec is None:
            notes.append(f"{key[0]}: no element count in its name or counters; not imported")
            continue
        records.append(rec)
    if errors:
        items = [f"{k}: {v}" for k, v in errors.items()]
        shown = "; ".join(items[:3]) + (f"; ... ({len(items) - 3} more)" if len(items) > 3 else "")
        notes.append(f"{len(items)} benchmarks reported an error and are not imported ({shown})")
    ctx["imported"]["notes"] = notes
    return ResultFile(path=p, context=ctx, results=records, warnings=[], complete=True, failures=[],
                      schema_version=1, source_format=FORMAT)  # fmt: skip


def _record(key: tuple[str, int], runs: list[dict[str, Any]], levels, softbench_names: bool) -> Record | None:
    run_name, threads = key
    parsed = parse_name(run_name, softbench_names)
    unit = TIME_UNITS[runs[0]["time_unit"]]
    iterations = runs[0].get("iterations")
    calls = int(iterations) if isinstance(iterations, (int, float)) and not isinstance(iterations, bool) and iterations >= 1 else 1
    per_call = [float(b["real_time"]) * TIME_UNITS[b["time_unit"]] for b in runs]
    cpu_per_call = [float(b["cpu_time"]) * TIME_UNITS[b["time_unit"]] for b in runs if _number(b.get("cpu_time")) is not None]
    counters = {k: v for k, v in runs[0].items() if k not in _RESERVED and _number(v) is not None}
    n = parsed["n"]
    if n is None:  # an `elements` rate counter (XNNPACK's) times the seconds per call
        rate = _number(counters.get("elements"))
        n = round(rate * per_call[0] * 1e-9) if rate else None
    if not n or n < 1:
        return None
    rows = parsed["rows"] if parsed["rows"] >= 1 and n % parsed["rows"] == 0 else 1
    alg = algorithms().get(parsed["algorithm"])
    traffic = alg.traffic() if alg is not None else dict(_UNKNOWN_TRAFFIC)
    per_elem = np.asarray(per_call) / n
    med = float(np.median(per_elem))
    imported = {"format": FORMAT, "name": run_name, "time": "real_time", "time_unit": runs[0]["time_unit"],
                "cpu_time_ns_per_call": cpu_per_call, "counters": counters}  # fmt: skip
    if parsed["recipe"]:
        imported["recipe"] = parsed["recipe"]
    return Record(
        algorithm=parsed["algorithm"], isa=parsed["isa"], n=n, threads=threads,
        regime=regime(n, levels),
        bytes_per_element=traffic, samples_ns=[t * calls for t in per_call], calls_per_sample=calls,
        ns_per_element=med, min_ns_per_element=float(per_elem.min()),
        gbps_effective=EFFECTIVE_BYTES / med if med > 0 else math.inf,
        gbps_actual=traffic["total"] / med if med > 0 else math.inf,
        roofline_efficiency=None, max_rel_error=None, variant=parsed["variant"], tile=parsed.get("tile"),
        shape=[rows, n // rows] if rows > 1 else None, imported=imported,
    )  # fmt: skip


# Keys google/benchmark writes in every run; the rest of a run's numbers are its counters.
_RESERVED = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label", "skipped",
}  # fmt: skip
