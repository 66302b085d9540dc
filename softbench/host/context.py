"""The full context of a run: the machine probes plus what only softbench knows (ISAs, compiler
and flags per ISA, FTZ/DAZ, the command line)."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import Any

from softbench.bridge import build
from softbench.errors import BuildError
from softbench.host import isa, machine


def collect_isas() -> dict[str, Any]:
    status = isa.host_status()
    return {
        "runs": [n for n, s in status.items() if s.runs],
        "skipped": {n: s.reason for n, s in status.items() if not s.runs},
        "cpu_features": isa.cpu_features(),
    }


def collect_compiler(isas: list[str]) -> dict[str, Any]:
    """Compiler name, version and the exact flags/command used for each ISA's module."""
    try:
        comp = build.find_compiler()
    except BuildError as e:  # `info` still describes the machine; `run` stops at the build
        return {"name": "unknown", "path": "unknown", "version": "unknown", "problem": str(e),
                **({"requested": os.environ["CC"]} if os.environ.get("CC") else {})}  # fmt: skip
    per_isa = {}
    for name in isas:
        info = build.load(name).build_info()
        per_isa[name] = {"flags": info["flags"], "command": info["command"]}
    return {"name": comp.name, "path": comp.path, "version": comp.version, "per_isa": per_isa}


def collect_full_context(isas: list[str] | None = None, suite: dict | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    ctx.update(machine.collect_context())
    ctx["isas"] = collect_isas()
    ctx["compiler"] = collect_compiler(isas if isas is not None else isa.runnable())
    # Which C sources these figures come from: the compile command alone can name another
    # checkout's cached module. build's cache key hashes the same files the same way.
    ctx["kernel_sources"] = {"sha256": build.source_digest()}
    if "problem" in ctx["compiler"]:
        ctx["ftz_daz"] = "unknown"  # the probe is C
    else:
        ctx["ftz_daz"] = bool(build.load(build.HARNESS_ISA).lib.sb_ftz_daz_supported())
    ctx["command_line"] = [sys.argv[0].rsplit("/", 1)[-1], *sys.argv[1:]]
    if suite is not None:
        ctx["suite"] = suite
    return ctx
