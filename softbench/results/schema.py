"""The result file's schema: its version and history, one record (`Record`) and its validation,
and a loaded file (`ResultFile`). softbench.results.files reads and writes them."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from softbench.errors import ResultFileError
from softbench.results import tabular


TOOL = "softbench"
# Format history (bump SCHEMA_VERSION only for changes old readers would misread):
#   1 (softbench 0.1.0): first format. Top level schema_version, tool, context, results,
#     warnings, complete, failures; records as in `Record` below.
#     Added since without a version bump (old readers ignore them): top-level "profiles", a list of
#     `softbench profile` results (softbench.bench.profile.profile_kernel), written only when present;
#     records' "shape" ([rows, cols]: a batch, or one row split across threads) and "sync_ns"
#     (an empty parallel call's time, threads > 1), and bandwidth points' "shape". A record
#     without "shape" is one row of n: [1, n]. The context's "kernel_sources" ({"sha256": digest of
#     every .c/.h/.def file the kernels were compiled from}). Records'
#     "samples_involuntary_switches" and "samples_steal_ms" (what disturbed each sample) and
#     "numa_node"; context "thp", "allowed_cpus", "variants", "baselines"; runs stopped by a signal
#     say so in "warnings". Tightened: times and rates must be > 0 (the reader refuses a zero or
#     negative sample).
#     Records' "imported" marks records read from another tool's file (softbench.results.gbench);
#     softbench never writes such records. The JSON Schema: softbench/schema/result-v1.json.
#     Records' "user_kernel" (a user's own kernel, whose name is then the record's algorithm).
#     Records' "tile" (the kernel's tile, native/tiles.def, e.g. "x32-acc2"), written only for a
#     tile other than its ISA's default: a record without it is the default tile, as every record
#     before tiles existed was; context "tiles" (the tiles a run measured, per ISA).
SCHEMA_VERSION = 1
SOFTBENCH_FORMAT = "softbench"  # ResultFile.source_format of softbench's own files
# The traffic model per element (bytes), as in design/measurement.md.
BYTES_KEYS = ("read_x", "read_y", "write_y", "total", "with_rfo")


@dataclass
class Record:
    """One measured point: an (algorithm, isa, n, threads) combination.

    `samples_ns[i]` is the time in ns of `calls_per_sample` back-to-back calls, so one call on one
    element takes samples_ns[i] / (calls_per_sample * n) ns. `ns_per_element` is the median of
    that, `min_ns_per_element` the fastest. `gbps_effective` counts 8 bytes per element (one read,
    one write), `gbps_actual` counts `bytes_per_element["total"]`; both are decimal GB/s from the
    median. `roofline_efficiency` is traffic-twin time / kernel time (None when the twin could
    not be measured). The fields after `max_rel_error` are optional and are written only when set.
    """

    algorithm: str
    isa: str
    n: int
    threads: int
    regime: str  # "L1", "L2", "L3", "DRAM" or "unknown"
    bytes_per_element: dict[str, float]
    samples_ns: list[float]
    calls_per_sample: int
    ns_per_element: float
    min_ns_per_element: float
    gbps_effective: float
    gbps_actual: float
    roofline_efficiency: float | None
    max_rel_error: float
    # Optional: written only when not None.
    variant: str | None = None  # e.g. "nt-store" when an algorithm has several implementations
    twin_ns_per_element: float | None = None  # median of the traffic twin at the same n
    twin_samples_ns: list[float] | None = None
    twin_calls_per_sample: int | None = None
    cpu: int | None = None  # the CPU the measuring thread was pinned to
    # [rows, cols], rows * cols = n: softmax over each of `rows` rows (a batch when rows > 1). Written
    # for every point measured through the thread pool; absent: one row of n.
    shape: list[int] | None = None
    # ns of one empty parallel call with the same threads and phases (dispatch, barriers, merges):
    # the synchronisation each call pays, included in ns_per_element. Only with threads > 1.
    sync_ns: float | None = None
    # What disturbed each sample (samples_ns[i]): the process's involuntary context switches
    # during it (getrusage) and the steal time on its CPUs (/proc/stat, ms). Only where the OS says.
    samples_involuntary_switches: list[int] | None = None
    samples_steal_ms: list[float] | None = None
    numa_node: int | None = None  # the NUMA node holding most of the input buffer's pages

    def disturbed_samples(self) -> list[int]:
        """Indices of the samples during which another task or guest took a CPU from the run."""
        sw = self.samples_involuntary_switches or []
        st = self.samples_steal_ms or []
        return [i for i in range(len(self.samples_ns)) if (i < len(sw) and sw[i] > 0) or (i < len(st) and st[i] > 0)]

    # Where a record read from another tool's file came from: {"format": "google-benchmark",
    # "name": the benchmark's name as given, ...}. Such a record has no traffic twin and no
    # accuracy check (max_rel_error None); softbench's own records never carry it.
    imported: dict[str, Any] | None = None

    # A user's own kernel (`run --kernel`, softbench.bench.user_kernels): its name, spec, file, the
    # source's SHA-256, the exact compile command (or prebuilt), its declared traffic and its twin.
    user_kernel: dict[str, Any] | None = None

    # The kernel's tile (native/tiles.def: unroll x accumulators, e.g. "x32-acc2"); None: the ISA's
    # default tile, what every record without the field measured.
    tile: str | None = None

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def cols(self) -> int:
        return self.shape[1] if self.shape else self.n

    def to_dict(self) -> dict[str, Any]:
        """The record as written to the file: optional fields left out when None."""
        d = dataclasses.asdict(self)
        for name in _OPTIONAL:
            if d[name] is None:
                del d[name]
        return d


_FIELDS = {f.name: f for f in dataclasses.fields(Record)}
_OPTIONAL = tuple(n for n, f in _FIELDS.items() if f.default is None)
_REQUIRED = tuple(n for n in _FIELDS if n not in _OPTIONAL)
_STR = "a string"
_POS_INT = "an integer >= 1"
_NUMBER = "a finite number"
_POSITIVE = "a finite number > 0"
_NON_NEGATIVE = "a finite number >= 0"
_POSITIVE_OR_NULL = "a finite number > 0, or null"
_SAMPLES = "a non-empty list of finite numbers > 0 (ns per sample)"
_BYTES = "an object with numbers " + ", ".join(BYTES_KEYS)
_EXPECTED = {
    "algorithm": _STR, "isa": _STR, "regime": _STR, "variant": _STR, "tile": _STR,
    "n": _POS_INT, "threads": _POS_INT, "calls_per_sample": _POS_INT,
    "twin_calls_per_sample": _POS_INT, "cpu": "an integer >= 0",
    "bytes_per_element": _BYTES,
    "samples_ns": _SAMPLES, "twin_samples_ns": _SAMPLES,
    # a time or a rate of zero or below is impossible: such a file would print "-200%, faster"
    "ns_per_element": _POSITIVE, "min_ns_per_element": _POSITIVE, "gbps_effective": _POSITIVE,
    "gbps_actual": _POSITIVE, "max_rel_error": _NON_NEGATIVE, "twin_ns_per_element": _POSITIVE,
    "roofline_efficiency": _POSITIVE_OR_NULL, "sync_ns": _NON_NEGATIVE,
    "shape": "a list [rows, cols] of integers >= 1 whose product is n",
    "samples_involuntary_switches": "a list of integers >= 0, one per sample",
    "samples_steal_ms": "a list of numbers >= 0, one per sample",
    "numa_node": "an integer >= 0",
    "imported": "an object (where an imported record came from)",
    "user_kernel": "an object with a string 'name'",
}  # fmt: skip
_PER_SAMPLE = ("samples_involuntary_switches", "samples_steal_ms")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _valid(name: str, v: Any) -> bool:
    kind = _EXPECTED[name]
    if kind == _STR:
        return isinstance(v, str) and v != ""
    if kind == _POS_INT:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1
    if name in ("cpu", "numa_node"):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if name == "samples_involuntary_switches":
        return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)
    if name == "samples_steal_ms":
        return isinstance(v, list) and all(_is_number(x) and x >= 0 for x in v)
    if kind == _NUMBER:
        return _is_number(v)
    if kind == _POSITIVE:
        return _is_number(v) and v > 0
    if kind == _NON_NEGATIVE:
        return _is_number(v) and v >= 0
    if kind == _POSITIVE_OR_NULL:
        return v is None or (_is_number(v) and v > 0)
    if kind == _SAMPLES:
        return isinstance(v, list) and len(v) > 0 and all(_is_number(x) and x > 0 for x in v)
    if kind == _BYTES:
        return isinstance(v, dict) and all(_is_number(v.get(k)) for k in BYTES_KEYS)
    if name == "shape":
        return isinstance(v, list) and len(v) == 2 and all(_valid("n", d) for d in v)
    if name == "imported":
        return isinstance(v, dict)
    if name == "user_kernel":
        return isinstance(v, dict) and isinstance(v.get("name"), str) and v["name"] != ""
    raise AssertionError(name)


def _short(v: Any) -> str:
    text = json.dumps(v, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def record_from_dict(d: Any, path: str | os.PathLike | None = None, index: int | None = None) -> Record:
    """Build a Record from a parsed JSON object, ignoring unknown fields.

    A missing required field or a field of the wrong type is a ResultFileError naming the file,
    the record index and the field.
    """
    where = f"{path if path is not None else '<record>'}: record {index if index is not None else '?'}"
    hint = "the file is damaged or was edited by hand; re-run the benchmark or restore the file"
    if not isinstance(d, dict):
        raise ResultFileError(f"{where} is {_short(d)}, expected a JSON object; {hint}")
    values = {}
    for name in _FIELDS:
        if name not in d:
            if name in _REQUIRED:
                raise ResultFileError(
                    f"{where} has no field '{name}' (expected {_EXPECTED[name]}); {hint}"
                )
            continue
        v = d[name]
        if name in _OPTIONAL and v is None:
            continue
        if not _valid(name, v):
            got = _short(v)
            if _EXPECTED[name] == _SAMPLES and isinstance(v, list) and v:
                bad = next(i for i, x in enumerate(v) if not (_is_number(x) and x > 0))
                got = f"sample {bad} = {_short(v[bad])}"
            raise ResultFileError(f"{where} field '{name}' must be {_EXPECTED[name]}, got {got}; {hint}")
        if name == "bytes_per_element":
            v = {k: v[k] for k in BYTES_KEYS}  # drop model keys this reader does not know
        values[name] = v
    for name in _PER_SAMPLE:
        if name in values and len(values[name]) != len(values["samples_ns"]):
            raise ResultFileError(f"{where} field '{name}' has {len(values[name])} values for "
                                  f"{len(values['samples_ns'])} samples; {hint}")  # fmt: skip
    shape = values.get("shape")
    if shape is not None and shape[0] * shape[1] != values["n"]:
        raise ResultFileError(f"{where} field 'shape' must be {_EXPECTED['shape']}, got {_short(shape)} with n = {values['n']}; {hint}")
    return Record(**values)


@dataclass
class ResultFile:
    """A result file as read by `load`."""

    path: Path
    context: dict[str, Any]
    results: list[Record]
    warnings: list[str] = field(default_factory=list)
    complete: bool = False
    failures: list[dict[str, Any]] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    # STREAM-style figures measured in the same run: dicts with kernel ("read", "write", "copy",
    # "scale"), isa, n, threads, bytes_per_element, samples_ns, calls_per_sample, ns_per_element,
    # gbps. Read leniently (they are the reference, not the subject, of a run).
    bandwidth: list[dict[str, Any]] = field(default_factory=list)
    # What the run was measuring when the file was last written; set only for a stopped run (a
    # crash inside a kernel leaves it naming that kernel).
    in_progress: str | None = None
    # `softbench profile` results recorded in the file (softbench.profile.profile_kernel dicts);
    # read leniently, like bandwidth.
    profiles: list[dict[str, Any]] = field(default_factory=list)
    # "softbench" for softbench's own files; "google-benchmark" for a Google Benchmark JSON file
    # read by softbench.results.gbench (its records carry `imported`).
    source_format: str = "softbench"

    @property
    def imported(self) -> bool:
        return self.source_format != SOFTBENCH_FORMAT

    def to_rows(self, context: bool = False) -> list[dict[str, Any]]:
        """One flat dict per record (softbench.results.tabular), for CSV and DataFrames."""
        return tabular.file_rows(self, context=context)

    def to_dataframe(self, context: bool = False):
        """A pandas DataFrame, one row per record (columns: softbench.results.tabular.COLUMNS, and
        with context=True the machine's columns too): `softbench.load(path).to_dataframe()`."""
        import pandas as pd  # heavy: only when asked for

        return pd.DataFrame(self.to_rows(context=context), columns=tabular.columns(context=context))


SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / f"result-v{SCHEMA_VERSION}.json"


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the result file (softbench/schema/result-v1.json, in the wheel)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
