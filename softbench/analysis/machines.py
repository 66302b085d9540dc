"""Which machine a result file comes from, and the machines' context side by side.

The same-machine rule (`same_machine`): two files come from the same machine when their CPU model
(`context.cpu.model_name`) and their hostname (`context.hostname`, else `context.os.hostname`) are
both known (not missing, not "unknown") and equal. Anything else is treated as different machines,
because a rank test between two CPUs answers nothing useful.
"""

from __future__ import annotations

from typing import Any, Sequence

from softbench.analysis.points import point_key, point_text, user_kernels
from softbench.errors import InputError
from softbench.host import microarch
from softbench.results.naming import ISA_ORDER, best_isa, order_key
from softbench.results.regimes import bytes_text, cache_sizes
from softbench.results.schema import ResultFile


_UNKNOWN = ("", "unknown", None)


def _known(v: Any) -> bool:
    return isinstance(v, str) and v.strip() not in _UNKNOWN


def hostname(ctx: dict[str, Any]) -> str:
    h = ctx.get("hostname")
    if not _known(h):
        osd = ctx.get("os")
        h = osd.get("hostname") if isinstance(osd, dict) else None
    return h if _known(h) else "unknown"


def cpu_model(ctx: dict[str, Any]) -> str:
    cpu = ctx.get("cpu")
    m = cpu.get("model_name") if isinstance(cpu, dict) else None
    return " ".join(m.split()) if _known(m) else "unknown"


def machine_name(ctx: dict[str, Any]) -> str:
    """'Zen 4 (AMD EPYC), AVX-512', for titles: the core, the CPU model and the best ISA the host
    ran; the hostname stands in for the core where no name is known."""
    core = microarch.context_display(ctx)
    runs = ctx.get("isas", {}).get("runs") if isinstance(ctx.get("isas"), dict) else None
    best = best_isa(runs) if isinstance(runs, list) else None
    name = f"{core if core != 'unknown' else hostname(ctx)} ({cpu_model(ctx)})"
    return f"{name}, {microarch.isa_display(best)}" if best else name


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same-machine rule: CPU model and hostname both known and equal (see module doc).

    A file imported from another tool (Google Benchmark: context["imported"]) names no CPU model;
    with one, the rule asks for the same hostname, the same data/unified cache sizes (both
    known) and the same number of logical CPUs (both known) instead."""
    ma, mb, ha, hb = cpu_model(a), cpu_model(b), hostname(a), hostname(b)
    if "unknown" in (ha, hb) or ha != hb:
        return False
    if "unknown" not in (ma, mb):
        return ma == mb
    if not (_imported(a) or _imported(b)):
        return False
    ca, cb = cache_sizes(a), cache_sizes(b)
    na, nb = _logical_cpus(a), _logical_cpus(b)
    return bool(ca) and ca == cb and na is not None and na == nb


def _imported(ctx: dict[str, Any]) -> bool:
    return isinstance(ctx.get("imported"), dict)


def _logical_cpus(ctx: dict[str, Any]) -> int | None:
    c = ctx.get("cores")
    n = c.get("logical") if isinstance(c, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None


def all_same_machine(files: Sequence[ResultFile]) -> bool:
    return len(files) >= 1 and all(same_machine(files[0].context, f.context) for f in files[1:])


def machine_groups(files: Sequence[ResultFile]) -> list[list[int]]:
    """Indices of `files` grouped by the same-machine rule, in order of first appearance."""
    groups: list[list[int]] = []
    for i, f in enumerate(files):
        for g in groups:
            if same_machine(files[g[0]].context, f.context):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def file_labels(files: Sequence[ResultFile]) -> list[str]:
    """A short unique label per file (its name without .json; parent folder added on clashes)."""
    stems = [f.path.stem for f in files]
    labels = []
    for i, f in enumerate(files):
        label = stems[i]
        if stems.count(label) > 1:
            label = f"{f.path.parent.name}/{label}" if f.path.parent.name else label
        labels.append(label)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def file_notes(rf: ResultFile, label: str | None = None) -> list[str]:
    """What a reader must know about a file before trusting it: incomplete, failed kernels,
    the run's own warnings, no records, synthetic data. One line each."""
    name = label or rf.path.name
    notes = []
    if rf.context.get("fixture") is True:
        notes.append(f"{name}: synthetic test data (fixture), not a measurement")
    if rf.imported:
        imp = rf.context.get("imported") if isinstance(rf.context.get("imported"), dict) else {}
        notes.append(
            f"{name}: imported from a {rf.source_format} file: its own timings, with no traffic twin "
            "(no roofline efficiency) and no accuracy check; no CPU model, so the machine is matched by "
            "hostname, caches and CPU count"
        )
        notes.extend(f"{name}: {n}" for n in imp.get("notes", []) if isinstance(n, str))
    if not rf.complete:
        where = getattr(rf, "in_progress", None)
        notes.append(
            f"{name}: the run did not finish" + (f" (it was measuring {where})" if where else "")
            + f"; {len(rf.results)} finished points are used"
        )
    if not rf.results:
        notes.append(f"{name}: holds no measured points")
    for f in rf.failures:
        kernel = f.get("kernel", "?")
        msg = " ".join(str(f.get("message", "")).split())
        notes.append(f"{name}: kernel {kernel} failed and has no figures: {msg}")
    for w in rf.warnings:
        notes.append(f"{name}: run warning: {w}")
    for (uname, isa), u in user_kernels(rf).items():
        built = f"compiled as: {u['compile_command']}" if u.get("compile_command") else "a prebuilt library"
        notes.append(f"{name}: {uname}/{isa} is a user kernel ({u.get('kernel', '?')}, source sha256 "
                     f"{str(u.get('source_sha256', '?'))[:16]}, {u.get('traffic', 'traffic unknown')}; efficiency against "
                     f"its {u.get('twin', 'twin')}; {built})")  # fmt: skip
    seen = set()
    for r in rf.results:
        k = point_key(r)
        if k in seen:
            notes.append(f"{name}: duplicate point {point_text(k)}; the first one is used")
        seen.add(k)
    return notes


def check_files(files: Sequence[ResultFile]) -> None:
    if len(files) < 2:
        raise InputError(f"compare needs at least two result files, got {len(files)}")


def _g(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _text(v: Any) -> str:
    if v is None or v == "":
        return "unknown"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) if v else "none"
    return " ".join(str(v).split())


def _flags(v: Any) -> str:
    return " ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else _text(v)


def context_table(files: Sequence[ResultFile], labels: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
    """(field, value per file) rows: file, machine, CPU, caches, compiler, flags per ISA, ..."""
    labels = list(labels) if labels is not None else file_labels(files)
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, fn) -> None:
        rows.append((name, [fn(f) for f in files]))

    def caches(f: ResultFile, level: str) -> str:
        for c in f.context.get("caches") or []:
            if not isinstance(c, dict) or c.get("type") == "Instruction" or f"L{c.get('level')}" != level:
                continue
            size = c.get("size_bytes")
            text = bytes_text(size) if isinstance(size, (int, float)) else _text(size)
            shared = c.get("shared_by")
            return text + (f", shared by {shared}" if isinstance(shared, int) and shared > 1 else "")
        return "unknown"

    def ua(f: ResultFile) -> str:
        m = _g(f.context, "cpu", "microarchitecture")
        if not isinstance(m, dict):
            return _text(m)
        return _text(m.get("name"))

    def cores(f: ResultFile) -> str:
        c = f.context.get("cores")
        if isinstance(c, dict):
            return f"{_text(c.get('physical'))} physical, {_text(c.get('logical'))} logical"
        return _text(c)

    def memory(f: ResultFile) -> str:
        t = _g(f.context, "memory", "total_bytes")
        return bytes_text(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else "unknown"

    def os_text(f: ResultFile) -> str:
        o = f.context.get("os")
        if isinstance(o, dict):
            parts = [o.get("distro"), o.get("system"), o.get("release")]
            return " / ".join(_text(p) for p in parts if _known(p)) or "unknown"
        return _text(o)

    def compiler(f: ResultFile) -> str:
        c = f.context.get("compiler")
        if isinstance(c, dict):
            return f"{_text(c.get('name'))} {_text(c.get('version'))}"
        return _text(c)

    def samples(f: ResultFile) -> str:
        if not f.results:
            return "none"
        counts = [len(r.samples_ns) for r in f.results]
        lo, hi = min(counts), max(counts)
        return str(lo) if lo == hi else f"{lo}-{hi}"

    rows.append(("file", [f.path.name for f in files]))
    row("hostname", lambda f: hostname(f.context))
    row("CPU", lambda f: cpu_model(f.context))
    row("vendor", lambda f: _text(_g(f.context, "cpu", "vendor")))
    row("microarchitecture", ua)
    row("ISAs run", lambda f: _text(_g(f.context, "isas", "runs")))
    row("ISAs measured", lambda f: _text(sorted({r.isa for r in f.results}, key=lambda i: order_key(i, ISA_ORDER))))
    for level in sorted({lvl for f in files for lvl in cache_sizes(f.context)}):
        row(f"{level}{'d' if level == 'L1' else ''} cache", lambda f, level=level: caches(f, level))
    row("cores", cores)
    row("memory", memory)
    row("OS", os_text)
    row("compiler", compiler)
    isas = sorted({r.isa for f in files for r in f.results}, key=lambda i: order_key(i, ISA_ORDER))
    for i in isas:
        row(f"flags ({i})", lambda f, i=i: _flags(_g(f.context, "compiler", "per_isa", i, "flags")) if _g(f.context, "compiler", "per_isa", i) else "-")
    row("suite", lambda f: _text(_g(f.context, "suite", "name")))
    row("created (UTC)", lambda f: _text(f.context.get("created")))
    row("points", lambda f: str(len(f.results)))
    row("samples per point", samples)
    row("complete", lambda f: "yes" if f.complete else "no (stopped)")
    row("run warnings", lambda f: str(len(f.warnings)))
    if any(f.context.get("fixture") is True for f in files):
        row("synthetic test data", lambda f: "yes" if f.context.get("fixture") is True else "no")
    return rows
