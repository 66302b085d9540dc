"""The result file: one JSON file per run, the contract between `run` and `compare`/`report`.

Layout (google/benchmark style)::

    {"schema_version": 1, "tool": "softbench",
     "context": {...machine, compiler, suite, command line...},
     "results": [record, ...],          # one per (algorithm, isa, n, threads)
     "warnings": ["text", ...],         # what made the run less reliable
     "complete": true,                  # false while running, or when the run was stopped
     "failures": [{"kernel": "...", "message": "...", ...}, ...],
     "bandwidth": [stream, ...],        # STREAM-style read/write/copy/scale at each n (optional)
     "in_progress": "two-pass/avx2 n=4096",   # what was being measured; only while running
     "profiles": [profile, ...]}        # `softbench profile --output`: per-pass breakdowns (optional)

Writers write optional fields only when known; readers ignore fields they do not know, so
adding a field never needs a new schema version. Removing or changing the meaning of a field does.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from softbench.errors import InputError, ResultFileError

__all__ = [
    "SCHEMA_VERSION",
    "TOOL",
    "BYTES_KEYS",
    "Record",
    "ResultFile",
    "ResultWriter",
    "record_from_dict",
    "load",
    "default_result_path",
]

TOOL = "softbench"

# Format history (bump SCHEMA_VERSION only for changes old readers would misread):
#   1 (softbench 0.1.0): first format. Top level schema_version, tool, context, results,
#     warnings, complete, failures; records as in `Record` below.
#     Added since without a version bump (old readers ignore them): top-level "profiles", a list of
#     `softbench profile` results (softbench.bench.profile.profile_kernel), written only when present;
#     records' "shape" ([rows, cols]: a batch, or one row split across threads) and "sync_ns"
#     (an empty parallel call's time, threads > 1), and bandwidth points' "shape". A record
#     without "shape" is one row of n: [1, n]. The context's "kernel_sources" ({"sha256": digest of
#     every .c/.h/.def file the kernels were compiled from}).
SCHEMA_VERSION = 1

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
_NUMBER_OR_NULL = "a finite number or null"
_SAMPLES = "a non-empty list of finite numbers (ns per sample)"
_BYTES = "an object with numbers " + ", ".join(BYTES_KEYS)
_EXPECTED = {
    "algorithm": _STR, "isa": _STR, "regime": _STR, "variant": _STR,
    "n": _POS_INT, "threads": _POS_INT, "calls_per_sample": _POS_INT,
    "twin_calls_per_sample": _POS_INT, "cpu": "an integer >= 0",
    "bytes_per_element": _BYTES,
    "samples_ns": _SAMPLES, "twin_samples_ns": _SAMPLES,
    "ns_per_element": _NUMBER, "min_ns_per_element": _NUMBER, "gbps_effective": _NUMBER,
    "gbps_actual": _NUMBER, "max_rel_error": _NUMBER, "twin_ns_per_element": _NUMBER,
    "roofline_efficiency": _NUMBER_OR_NULL, "sync_ns": _NUMBER,
    "shape": "a list [rows, cols] of integers >= 1 whose product is n",
}  # fmt: skip


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _valid(name: str, v: Any) -> bool:
    kind = _EXPECTED[name]
    if kind == _STR:
        return isinstance(v, str) and v != ""
    if kind == _POS_INT:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1
    if name == "cpu":
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if kind == _NUMBER:
        return _is_number(v)
    if kind == _NUMBER_OR_NULL:
        return v is None or _is_number(v)
    if kind == _SAMPLES:
        return isinstance(v, list) and len(v) > 0 and all(_is_number(x) for x in v)
    if kind == _BYTES:
        return isinstance(v, dict) and all(_is_number(v.get(k)) for k in BYTES_KEYS)
    if name == "shape":
        return isinstance(v, list) and len(v) == 2 and all(_valid("n", d) for d in v)
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
            raise ResultFileError(
                f"{where} field '{name}' must be {_EXPECTED[name]}, got {_short(v)}; {hint}"
            )
        if name == "bytes_per_element":
            v = {k: v[k] for k in BYTES_KEYS}  # drop model keys this reader does not know
        values[name] = v
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


def _plain(v: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, tuples to lists, non-finite floats to None.

    Strict JSON has no NaN/Infinity, and other tools (jq, browsers) reject them.
    """
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


class ResultWriter:
    """Writes a result file incrementally so that a stopped run leaves a valid file.

    The file exists (valid, empty, complete=false) as soon as the writer is created; every
    `add`, `warn` and `fail` rewrites it atomically (temp file in the same folder, fsync,
    os.replace), so Ctrl-C or a crash at any moment leaves either the previous or the new
    version, never a torn one. Rewriting the whole file each time is fine: a run has at most a few
    hundred records, a few hundred KB. `close()` marks it complete=true. As a context manager,
    an exception leaves complete=false (with a warning saying why) and keeps every record.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        context: Mapping[str, Any],
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise InputError(
                f"{self.path}: a file of that name already exists; choose another output path "
                "or remove it first"
            )
        self.context = _plain(dict(context))
        self.results: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.failures: list[dict[str, Any]] = []
        self.bandwidth: list[dict[str, Any]] = []
        self.in_progress: str | None = None
        self._encoded: dict[int, str] = {}
        self.profiles: list[dict[str, Any]] = []
        self.complete = False
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{self.path}: cannot create the folder for it ({e.strerror})") from e
        self._write()

    def add(self, record: Record | Mapping[str, Any]) -> None:
        """Append one finished point and rewrite the file."""
        self.extend([record])

    def extend(self, records=(), bandwidth=()) -> None:
        """Append the records (and STREAM points) of one size with a single rewrite of the file:
        the file is rewritten whole, so one write per size rather than one per record."""
        for record in records:
            d = _plain(record.to_dict() if isinstance(record, Record) else dict(record))
            try:
                # Validate exactly what readers will validate, so we never write a file we cannot read.
                record_from_dict(d, self.path, len(self.results))
            except ResultFileError as e:
                raise ValueError(f"refusing to write an invalid record: {e}") from None
            self.results.append(d)
        self.bandwidth.extend(_plain(dict(b)) for b in bandwidth)
        self._write()

    def warn(self, text: str) -> None:
        """Record something that made the run less reliable (one line)."""
        self.warnings.append(" ".join(str(text).split()))
        self._write()

    def fail(self, kernel: str, message: str, **details: Any) -> None:
        """Record a kernel that failed (wrong output, crash); it gets no throughput figure."""
        self.failures.append(_plain({"kernel": kernel, "message": message, **details}))
        self._write()

    def add_bandwidth(self, point: Mapping[str, Any]) -> None:
        """Append one STREAM-style measurement and rewrite the file."""
        self.bandwidth.append(_plain(dict(point)))
        self._write()

    def add_profile(self, profile: Mapping[str, Any]) -> None:
        """Append one `softbench profile` result (written under "profiles") and rewrite the file."""
        self.profiles.append(_plain(dict(profile)))
        self._write()

    def set_in_progress(self, what: str | None) -> None:
        """Say (on disk) what is being measured now, so a crash inside a kernel names it.

        Not fsynced: a crashing process still leaves the renamed file for the OS to write, and a
        marker rewritten before every kernel is not worth a disk flush each time (~10 ms here)."""
        self.in_progress = what
        self._write(durable=False)

    def close(self) -> None:
        """Mark the run complete."""
        if not self._closed:
            self.in_progress = None
            self.complete = True
            self._closed = True
            self._write()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self._closed = True
        why = "interrupted (Ctrl-C)" if issubclass(exc_type, KeyboardInterrupt) else (
            f"stopped by an error: {exc_type.__name__}: {exc}"
        )
        try:
            self.warn(f"run {why}; results are incomplete")
        except OSError:
            pass  # the disk itself may be the problem; the last good version stays on disk

    def document(self) -> dict[str, Any]:
        """The JSON document as it is on disk now."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": TOOL,
            "context": self.context,
            "results": self.results,
            "warnings": self.warnings,
            "complete": self.complete,
            "failures": self.failures,
            **({"bandwidth": self.bandwidth} if self.bandwidth else {}),
            **({"in_progress": self.in_progress} if self.in_progress else {}),
            **({"profiles": self.profiles} if self.profiles else {}),
        }

    def _text(self) -> str:
        """The document as JSON, one record (or point) per line. Items are encoded once with the C
        encoder and reused: json's indent= falls back to the pure-Python encoder, which took ~10 ms
        per rewrite of a paper-suite file, and the file is rewritten before every kernel."""
        parts = []
        for key, value in self.document().items():
            if isinstance(value, list) and value:
                items = ",\n  ".join(self._encode(v) for v in value)
                parts.append(f" {json.dumps(key)}: [\n  {items}\n ]")
            else:
                parts.append(f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
        return "{\n" + ",\n".join(parts) + "\n}\n"

    def _encode(self, item: Any) -> str:
        # list items are never changed once appended, so their text is kept (keyed by identity;
        # the lists keep the items alive)
        key = id(item)
        text = self._encoded.get(key)
        if text is None:
            text = self._encoded[key] = json.dumps(item, allow_nan=False)
        return text

    def _write(self, durable: bool = True) -> None:
        text = self._text()
        d = self.path.parent
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a result file is for sharing
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:  # including KeyboardInterrupt: never leave temp files behind
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        if not durable:
            return
        try:  # make the rename itself durable; not possible everywhere (e.g. Windows)
            dfd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike) -> ResultFile:
    """Read a result file of any schema version this softbench knows.

    Every problem is a one-line ResultFileError naming the file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{p}: no such result file; check the path") from None
    except IsADirectoryError:
        raise ResultFileError(f"{p}: is a folder, expected a softbench result file (.json)") from None
    except UnicodeDecodeError:
        raise ResultFileError(f"{p}: not a text file, expected a softbench result file (JSON)") from None
    except OSError as e:
        raise ResultFileError(f"{p}: cannot read it ({e.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultFileError(
            f"{p}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); the file is "
            "damaged or truncated, re-run the benchmark or restore it"
        ) from None
    not_ours = (
        f"{p}: not a softbench result file (expected a JSON object with \"tool\": \"softbench\" "
        "and \"schema_version\"); pass a file written by 'softbench run'"
    )
    if not isinstance(doc, dict) or doc.get("tool") != TOOL or "schema_version" not in doc:
        raise ResultFileError(not_ours)
    version = doc["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFileError(
            f"{p}: key 'schema_version' must be a positive integer, got {_short(version)}; "
            "the file is damaged"
        )
    if version > SCHEMA_VERSION:
        raise ResultFileError(
            f"{p}: written by a newer softbench (schema {version}; this softbench reads up to "
            f"{SCHEMA_VERSION}); upgrade softbench"
        )
    return _read_v1(p, doc)


def _read_v1(p: Path, doc: dict[str, Any]) -> ResultFile:
    damaged = "the file is damaged; re-run the benchmark or restore it"

    def top(key: str, kind: type, expected: str, default: Any) -> Any:
        v = doc.get(key, default)
        if not isinstance(v, kind):
            raise ResultFileError(f"{p}: key '{key}' must be {expected}, got {_short(v)}; {damaged}")
        return v

    # context and results are what make a file useful; the rest defaults sensibly.
    context = top("context", dict, "an object", None)
    raw = top("results", list, "a list of records", None)
    warnings = top("warnings", list, "a list of strings", [])
    complete = top("complete", bool, "true or false", False)
    failures = top("failures", list, "a list of objects", [])
    bandwidth = top("bandwidth", list, "a list of objects", [])
    in_progress = doc.get("in_progress")
    profiles = doc.get("profiles", [])
    return ResultFile(
        path=p,
        context=context,
        results=[record_from_dict(r, p, i) for i, r in enumerate(raw)],
        warnings=[str(w) for w in warnings],
        complete=complete,
        failures=[f for f in failures if isinstance(f, dict)],
        schema_version=doc["schema_version"],
        bandwidth=[b for b in bandwidth if isinstance(b, dict)],
        in_progress=in_progress if isinstance(in_progress, str) else None,
        profiles=[x for x in profiles if isinstance(x, dict)] if isinstance(profiles, list) else [],
    )


def default_result_path(directory: str | os.PathLike, context: Mapping[str, Any]) -> Path:
    """`<directory>/softbench-<hostname>-<YYYYmmdd-HHMMSS>.json`, never an existing file.

    The time is context["created"] (UTC ISO 8601) when present, else now, in UTC, so that the
    name and the file's own timestamp agree.
    """
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(context.get("hostname") or "unknown-host"))
    host = host.strip("-.") or "unknown-host"
    when = None
    created = context.get("created")
    if isinstance(created, str):
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            when = None
    if when is None:
        when = datetime.now(timezone.utc)
    elif when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    stem = f"softbench-{host}-{when:%Y%m%d-%H%M%S}"
    d = Path(directory)
    candidate = d / f"{stem}.json"
    k = 2
    while candidate.exists():  # two runs within one second must not overwrite each other
        candidate = d / f"{stem}-{k}.json"
        k += 1
    return candidate
