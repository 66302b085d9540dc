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

from softbench.results.reader import load
from softbench.results.writer import default_result_path, json_ready, ResultWriter

__all__ = [
    "ResultWriter",
    "load",
    "default_result_path",
    "json_ready",
]
