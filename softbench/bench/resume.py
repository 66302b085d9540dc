"""`softbench run --resume FILE`: carry on a stopped run. The plan is rebuilt from the file's own
suite, and the run goes on only on the machine that started it and only when the suite resolves
to the same points there; otherwise the figures of the two sessions could not be put side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softbench.bench import runner, suites
from softbench.bridge import build
from softbench.errors import InputError
from softbench.host import machine
from softbench.host.context import collect_compiler
from softbench.results.files import load


def _machine_of(ctx: dict[str, Any]) -> tuple[str, str]:
    host = ctx.get("hostname") or (ctx.get("os") or {}).get("hostname") or "unknown"
    model = (ctx.get("cpu") or {}).get("model_name") or "unknown"
    return str(host), str(model)


def plan_for_resume(path: Path):
    """The runner.Plan that finishes the stopped run in `path`; an InputError saying why not."""
    rf = load(path)
    if rf.complete:
        raise InputError(f"{path}: the run is complete; nothing to resume (start a new one with another --output)")
    ctx = rf.context
    if ctx.get("fixture") is True:
        raise InputError(f"{path}: synthetic test data, not a stopped run; nothing to resume")
    raw = ctx.get("suite")
    if not isinstance(raw, dict):
        raise InputError(f"{path}: records no suite (written by 'softbench profile' or an old softbench); it cannot be resumed")
    here = (machine.collect_os().get("hostname", "unknown"), machine.collect_cpu().get("model_name", "unknown"))
    there = _machine_of(ctx)
    if "unknown" in here or here != there:
        raise InputError(f"{path}: was measured on {there[0]} ({there[1]}), this is {here[0]} ({here[1]}); "
                         "a run is resumed only on the machine that started it")  # fmt: skip
    data = {k: v for k, v in raw.items() if k != "source"}
    suite = suites.suite_from_dict(data, source=f"{path} (its suite)", default_name=str(raw.get("name", "resumed")))
    variants = ctx.get("variants")
    plan = runner.make_plan(
        suite,
        variants=",".join(variants) if isinstance(variants, list) and variants else None,
        baselines=",".join(ctx["baselines"]) if isinstance(ctx.get("baselines"), list) and ctx["baselines"] else None,
    )
    for key, now in (("sizes", plan.sizes), ("shapes", [list(s) for s in plan.shapes]), ("threads", plan.threads)):
        if key in ctx and ctx[key] != now:
            raise InputError(f"{path}: its suite gives other {key} on this machine now ({_few(now)} instead of "
                             f"{_few(ctx[key])}: memory or CPUs changed); start a new run")  # fmt: skip
    measured_isas = sorted((ctx.get("compiler") or {}).get("per_isa", {}))
    if measured_isas and sorted(plan.isas) != measured_isas:
        raise InputError(f"{path}: its suite runs ISAs {', '.join(plan.isas)} here now, the stopped run "
                         f"{', '.join(measured_isas)}; start a new run")  # fmt: skip
    then = (ctx.get("kernel_sources") or {}).get("sha256")
    if then is not None and then != build.source_digest():
        raise InputError(f"{path}: the kernels' sources have changed since it was measured; start a new run")
    built = {i: c.get("command") for i, c in collect_compiler(plan.isas)["per_isa"].items()}
    before = {i: c.get("command") for i, c in (ctx.get("compiler") or {}).get("per_isa", {}).items() if isinstance(c, dict)}
    changed = [i for i in plan.isas if i in before and before[i] != built[i]]
    if changed:
        raise InputError(f"{path}: the {', '.join(changed)} kernels were built differently then (other sources, "
                         "compiler or flags); start a new run")  # fmt: skip
    return plan


def _few(values: list) -> str:
    text = ", ".join(map(str, values[:6]))
    return text + (", ..." if len(values) > 6 else "")
