"""Reading a result file of any schema version this softbench knows, or a Google Benchmark JSON
file (the layout is in softbench.results.files)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from softbench.errors import ResultFileError
from softbench.results import gbench
from softbench.results.schema import _short, record_from_dict, ResultFile, SCHEMA_VERSION, TOOL


def load(path: str | os.PathLike) -> ResultFile:
    """Read a result file of any schema version this softbench knows, or a Google Benchmark JSON
    file (softbench.results.gbench: its records marked `imported`).

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
        "and \"schema_version\", or Google Benchmark JSON with \"context\" and \"benchmarks\"); "
        "pass a file written by 'softbench run' or by a benchmark run with --benchmark_out_format=json"
    )
    if isinstance(doc, dict) and doc.get("tool") != TOOL and gbench.is_gbench(doc):
        return gbench.read(p, doc)
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
