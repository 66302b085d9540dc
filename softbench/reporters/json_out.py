"""JSON output: the comparison's own data structures as plain JSON (stable key order)."""

from __future__ import annotations

from typing import Any

from softbench.analysis import compare as cmp, cross_machine, same_machine

# Bumped when a field of this output changes meaning; adding fields does not bump it.
COMPARE_JSON_VERSION = 1


def compare_json(
    result: same_machine.SameMachineComparison | cross_machine.CrossMachineComparison,
    verdict=None,  # analysis.gate.GateVerdict of --fail-above, or None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"softbench_compare": COMPARE_JSON_VERSION, **cmp.to_plain(result)}
    if result.kind == "cross-machine":
        # tuples of (field, values) read better as an object keyed by field
        doc["context"] = {name: dict(zip(result.files, values)) for name, values in result.context}
    if verdict is not None:
        t = verdict.thresholds
        if t.default is not None and not t.per_regime:
            doc["fail_above_pct"] = t.default
        doc["fail_above"] = {"default_pct": t.default, "per_regime_pct": dict(t.per_regime)}
        doc["regressions"] = [{"file": label, **cmp.to_plain(p)} for label, p in verdict.regressions]
        doc["gate"] = {"passed": verdict.passed, "problems": verdict.problems, "allowed": verdict.allowed,
                       "ungated_regimes": verdict.ungated_regimes}  # fmt: skip
    return doc
