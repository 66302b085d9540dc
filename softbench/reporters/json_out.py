"""JSON output: the comparison's own data structures as plain JSON (stable key order)."""

from __future__ import annotations

from typing import Any, Sequence

from softbench.analysis import compare as cmp, cross_machine, same_machine

# Bumped when a field of this output changes meaning; adding fields does not bump it.
COMPARE_JSON_VERSION = 1


def compare_json(
    result: same_machine.SameMachineComparison | cross_machine.CrossMachineComparison,
    regressions: Sequence[tuple[str, same_machine.PointComparison]] | None = None,
    fail_above_pct: float | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"softbench_compare": COMPARE_JSON_VERSION, **cmp.to_plain(result)}
    if result.kind == "cross-machine":
        # tuples of (field, values) read better as an object keyed by field
        doc["context"] = {name: dict(zip(result.files, values)) for name, values in result.context}
    if fail_above_pct is not None:
        doc["fail_above_pct"] = fail_above_pct
        doc["regressions"] = [{"file": label, **cmp.to_plain(p)} for label, p in (regressions or [])]
    return doc
