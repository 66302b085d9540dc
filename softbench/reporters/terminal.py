"""Human-readable terminal output (rich). Plain text when stdout is not a TTY: rich drops
colour and styles by itself, and tables use ASCII-safe borders."""

from __future__ import annotations

from typing import Any


def _table(console, title: str | None = None):
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, title_justify="left")


def _bytes(n) -> str:
    if not isinstance(n, (int, float)):
        return str(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def print_info(console, ctx: dict[str, Any]) -> None:
    cpu, ua = ctx["cpu"], ctx["cpu"].get("microarchitecture", {})
    console.print(f"[bold]CPU[/bold]        {cpu.get('model_name')} ({cpu.get('vendor')}), microarchitecture {ua.get('name', 'unknown')}")
    cores = ctx["cores"]
    console.print(f"[bold]cores[/bold]      {cores.get('physical')} physical, {cores.get('logical')} logical; affinity {cores.get('affinity')}")
    mem = ctx["memory"]
    console.print(f"[bold]memory[/bold]     {_bytes(mem.get('total_bytes'))} total, {_bytes(mem.get('available_bytes'))} available")
    osd = ctx["os"]
    console.print(f"[bold]OS[/bold]         {osd.get('distro')} ({osd.get('system')} {osd.get('release')}, {osd.get('machine')})")
    pw = ctx["power"]
    console.print(f"[bold]power[/bold]      governor {pw.get('governor')}, boost {pw.get('boost')}; FTZ/DAZ settable: {ctx.get('ftz_daz')}")
    virt = ctx.get("virtualization", {})
    console.print(f"[bold]virtualized[/bold] {virt.get('virtualized')}")
    isas = ctx["isas"]
    console.print(f"[bold]ISAs[/bold]       runs: {', '.join(isas['runs'])}")
    for name, why in isas["skipped"].items():
        console.print(f"           skipped {name}: {why}")
    t = _table(console, "caches")
    for col in ("level", "type", "size", "shared by", "line"):
        t.add_column(col)
    for c in ctx["caches"]:
        t.add_row(str(c.get("level")), str(c.get("type")), _bytes(c.get("size_bytes")), str(c.get("shared_by")), str(c.get("line_size")))
    if not ctx["caches"]:
        t.add_row("unknown", "", "", "", "")
    console.print(t)
    comp = ctx["compiler"]
    console.print(f"[bold]compiler[/bold]   {comp['name']} {comp['version']} ({comp['path']})")
    for name, b in comp["per_isa"].items():
        console.print(f"           {name}: {' '.join(b['flags'])}")


def print_kernel_matrix(console, algorithms, isas, status) -> None:
    t = _table(console, "softmax kernels on this host (bytes/element: read x + read y + write y = total, +RFO)")
    t.add_column("algorithm")
    t.add_column("bytes/elem")
    for name in isas:
        t.add_column(name)
    for alg in algorithms.values():
        traffic = f"{alg.read_x}+{alg.read_y}+{alg.write_y}={alg.bytes_total} ({alg.bytes_with_rfo})"
        t.add_row(alg.name, traffic, *("runs" if status[n].runs else "skipped" for n in isas))
    console.print(t)
    for name, st in status.items():
        if not st.runs:
            console.print(f"skipped {name}: {st.reason}")


def verify_json(reports, exp, skipped) -> dict:
    return {
        "passed": all(r.passed for r in reports),
        "kernels": [
            {
                "algorithm": r.algorithm,
                "isa": r.isa,
                "passed": r.passed,
                "max_rel_error": r.max_rel_error,
                "exp_max_ulp": exp[r.isa].max_ulp,
                "exp_ext_max_ulp": exp[r.isa].max_ulp_ext,
                "cases": len(r.results),
                "failures": [{"case": f.case, "n": f.n, "detail": f.detail} for f in r.failures],
            }
            for r in reports
        ],
        "skipped_isas": skipped,
    }


def print_verify(console, reports, exp, skipped) -> None:
    t = _table(console, "softbench verify: kernels against a float64 reference (tolerance 1e-5 relative)")
    for col in ("algorithm", "isa", "result", "cases", "max rel error", "exp ULP", "ext-exp ULP"):
        t.add_column(col, justify="right" if col not in ("algorithm", "isa", "result") else "left")
    for r in reports:
        verdict = "[green]pass[/green]" if r.passed else f"[red]FAIL[/red] ({len(r.failures)})"
        e = exp[r.isa]
        t.add_row(r.algorithm, r.isa, verdict, str(len(r.results)), f"{r.max_rel_error:.2e}", f"{e.max_ulp:.2f}", f"{e.max_ulp_ext:.2f}")
    console.print(t)
    for r in reports:
        for f in r.failures[:10]:
            console.print(f"[red]FAIL[/red] {r.algorithm}/{r.isa} {f.case} (n={f.n}): {f.detail}")
    for name, why in skipped.items():
        console.print(f"skipped {name}: {why}")
    bad = sum(not r.passed for r in reports)
    console.print(f"{len(reports) - bad} kernels passed, {bad} failed")
