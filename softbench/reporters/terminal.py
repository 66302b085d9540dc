"""Human-readable terminal output (rich). Plain text when stdout is not a TTY: rich drops
colour and styles by itself, and tables use ASCII-safe borders."""

from __future__ import annotations

from typing import Any

from softbench.analysis.crossovers import Crossover
from softbench.analysis.crossovers import pair_crossovers
from softbench.reporters.compare_terminal import print_table
from softbench.reporters.tables import crossover_sentence, scaling_speedup_table, scaling_table
from softbench.results.naming import series_name
from softbench.results.schema import record_from_dict


def _table(console, title: str | None = None):
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, title_justify="left")


def _bytes(n) -> str:
    """32 KiB, 1.5 MiB, 23.5 GiB: whole units as they are, others to one decimal."""
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return str(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def _virtual_machine(virt: dict[str, Any]) -> str:
    """yes (KVM), yes, no or unknown."""
    v = virt.get("virtualized")
    if v is True:
        name = virt.get("hypervisor")
        return f"yes ({name})" if isinstance(name, str) and name not in ("", "unknown") else "yes"
    return "no" if v is False else "unknown"


def print_info(console, ctx: dict[str, Any], tiles: dict[str, Any] | None = None) -> None:
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
    console.print(f"[bold]virtual machine[/bold]: {_virtual_machine(ctx.get('virtualization', {}))}")
    isas = ctx["isas"]
    console.print(f"[bold]ISAs[/bold]       runs: {', '.join(isas['runs'])}")
    for name, why in isas["skipped"].items():
        console.print(f"           skipped {name}: {why}")
    for k, name in enumerate(n for n in isas["runs"] if n in (tiles or {})):
        console.print(f"{'[bold]tiles[/bold]      ' if k == 0 else '           '}{name}: {_tile_list(tiles[name])}")
    t = _table(console, "caches")
    for col in ("level", "type", "size", "shared by", "line"):
        t.add_column(col)
    for c in ctx["caches"]:
        t.add_row(str(c.get("level")), str(c.get("type")), _bytes(c.get("size_bytes")), str(c.get("shared_by")), str(c.get("line_size")))
    if not ctx["caches"]:
        t.add_row("unknown", "", "", "", "")
    console.print(t)
    comp = ctx["compiler"]
    if "problem" in comp:
        from rich.markup import escape

        console.print(f"[bold]compiler[/bold]   none: {escape(comp['problem'])}")
    else:
        console.print(f"[bold]compiler[/bold]   {comp['name']} {comp['version']} ({comp['path']})")
    for name, b in comp.get("per_isa", {}).items():
        console.print(f"           {name}: {' '.join(b['flags'])}")


def _tile_list(tiles) -> str:
    """"x64-acc4 (default), x32-acc2, ...": the ISA's tiles in tiles.def's order."""
    return ", ".join(t.name + (" (default)" if t.default else "") for t in tiles.values())


def print_tiles(console, tiles, status) -> None:
    """Each ISA's kernel tiles (native/tiles.def)."""
    t = _table(console, "kernel tiles: x<elements per unrolled iteration>-acc<accumulators> "
                        "(run --variants and tune --tiles measure them)")  # fmt: skip
    t.add_column("isa", no_wrap=True)
    t.add_column("runs")
    t.add_column("tiles")
    for name, per_isa in tiles.items():
        t.add_row(name, "yes" if status[name].runs else "no", _tile_list(per_isa))
    console.print(t)


def print_kernel_matrix(console, algorithms, isas, status) -> None:
    t = _table(console, "softmax kernels: does each run on this host? (bytes/element: read x + read y + write y = total, +RFO)")
    t.add_column("algorithm", no_wrap=True)
    t.add_column("bytes/elem")
    for name in isas:
        t.add_column(name)
    for alg in algorithms.values():
        traffic = f"{alg.read_x}+{alg.read_y}+{alg.write_y}={alg.bytes_total} ({alg.bytes_with_rfo})"
        t.add_row(alg.name, traffic, *("yes" if status[n].runs else "no" for n in isas))
    console.print(t)
    for name, st in status.items():
        if not st.runs:
            console.print(f"skipped {name}: {st.reason}")


def verify_json(reports, exp, skipped, passed: bool) -> dict:
    return {
        "passed": passed,
        "kernels": [
            {
                "algorithm": r.algorithm,
                "isa": r.isa,
                "passed": r.passed,
                "max_rel_error": r.max_rel_error,
                "exp_max_ulp": exp[r.isa].max_ulp,
                "exp_ext_max_ulp": exp[r.isa].max_ulp_ext,
                "exp_max_ulp_bound": exp[r.isa].bound_ulp,
                "exp_ext_max_ulp_bound": exp[r.isa].bound_ulp_ext,
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
        t.add_row(r.algorithm, r.isa, verdict, str(len(r.results)), f"{r.max_rel_error:.2e}", f"{e.max_ulp:.2f} (<= {e.bound_ulp:g})",
                  f"{e.max_ulp_ext:.2f} (<= {e.bound_ulp_ext:g})")
    console.print(t)
    for e in exp.values():
        if not e.within_bounds:
            console.print(f"FAIL {e.isa} exp: {e.max_ulp:.2f} ULP (promised <= {e.bound_ulp:g}), extended form "
                          f"{e.max_ulp_ext:.2f} ULP (promised <= {e.bound_ulp_ext:g})", markup=False)
    for r in reports:
        for f in r.failures[:10]:
            console.print(f"[red]FAIL[/red] {r.algorithm}/{r.isa} {f.case} (n={f.n}): {f.detail}")
    for name, why in skipped.items():
        console.print(f"skipped {name}: {why}")
    bad = sum(not r.passed for r in reports)
    console.print(f"{len(reports) - bad} kernels passed, {bad} failed")


class RunProgress:
    """The run's progress bar with an ETA (on a TTY); plain lines otherwise."""

    def __init__(self, console):
        self.console = console
        self._bar = None
        self._task = None

    def __enter__(self):
        if self.console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console, transient=True,
            )  # fmt: skip
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def start(self, total: float) -> None:
        if self._bar is not None:
            self._task = self._bar.add_task("measuring", total=total)

    def advance(self, amount: float) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def describe(self, text: str) -> None:
        from rich.markup import escape

        # escaped: a kernel's tags ("two-pass[x32-acc2]") would otherwise read as markup and vanish
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=escape(text))
        elif self._bar is None:
            self.console.print(escape(text))

    def message(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(escape(text))


def print_plan(console, plan) -> None:
    s = plan.suite
    sizes = f"{len(plan.sizes)} sizes ({plan.sizes[0]:,} .. {plan.sizes[-1]:,} elements)" if plan.sizes else ""
    shapes = f"{len(plan.shapes)} batches ({', '.join(f'{r:,}x{c:,}' for r, c in plan.shapes)})" if plan.shapes else ""
    threads = f", threads {', '.join(map(str, plan.threads))}" if plan.threads != [1] else ""
    console.print(
        f"suite {s.name}: {len(plan.algorithms)} algorithms x {', '.join(plan.isas)}, {' and '.join(filter(None, (sizes, shapes)))}"
        f"{threads}, {s.repetitions} samples of >= {s.min_time * 1e3:g} ms each"
    )
    for name, why in plan.skipped_isas.items():
        console.print(f"skipped {name}: {why}")
    tiles = getattr(plan, "tiles", {})
    if any(t is not None for ts in tiles.values() for t in ts):  # say so only when not just the defaults
        console.print("tiles: " + "; ".join(f"{i} {', '.join(t or 'default' for t in tiles[i])}" for i in plan.isas if i in tiles))
    for k in getattr(plan, "user_kernels", []):
        built = "prebuilt" if k.compile_command is None else ("compiled now" if k.compiled_now else "cached")
        console.print(f"user kernel {k.label}: {k.spec.path.name} ({built}), {k.twin_description()}")


def print_run_summary(console, outcome, cells) -> None:
    t = _table(console, "softmax per algorithm and regime (medians over the sizes in each regime)")
    for col in ("isa", "algorithm", "regime", "sizes", "ns/elem", "GB/s eff", "GB/s actual", "roofline eff", "max rel err"):
        t.add_column(col, justify="left" if col in ("isa", "algorithm", "regime") else "right")
    from rich.markup import escape  # "two-pass[nt]" is not a style tag

    for alg, isa_name, regime, c in cells:  # summaries.regime_cells
        lo, hi = c.n_min, c.n_max
        eff, err = c.roofline_efficiency, c.max_rel_error
        t.add_row(
            isa_name, escape(alg), regime, f"{lo:,}" if lo == hi else f"{lo:,}..{hi:,}",
            f"{c.ns_per_element:.3f}", f"{c.gbps_effective:.1f}", f"{c.gbps_actual:.1f}",
            "-" if eff is None else f"{eff:.0%}", "-" if err is None else f"{err:.1e}",
        )  # fmt: skip
    console.print(t)
    if outcome.bandwidth:
        bw = _table(console, f"STREAM-style bandwidth, GB/s ({outcome.bandwidth[0]['isa']}; bytes moved without RFO)")
        kernels = list(dict.fromkeys(b["kernel"] for b in outcome.bandwidth))
        bw.add_column("regime")
        for k in kernels:
            bw.add_column(k, justify="right")
        by_regime: dict[str, dict[str, list[float]]] = {}
        for b in outcome.bandwidth:  # batches and thread counts apart: "L3 batch x4"
            where = series_name(b["regime"], None, b.get("threads", 1), (b.get("shape") or [1])[0])
            by_regime.setdefault(where, {}).setdefault(b["kernel"], []).append(b["gbps"])
        import statistics

        for reg, vals in by_regime.items():
            bw.add_row(reg, *(f"{statistics.median(vals[k]):.1f}" if k in vals else "-" for k in kernels))
        console.print(bw)
    console.print("GB/s eff counts 8 bytes/element (read x, write y); GB/s actual counts the algorithm's traffic model "
                  "(softbench list); roofline eff = traffic-twin time / kernel time at the same size.")  # fmt: skip

    if len({r.get("threads", 1) for r in outcome.records}) > 1:  # a run with --threads
        records = [record_from_dict(r) for r in outcome.records]
        for table in (scaling_table(records), scaling_speedup_table(records)):
            if table is not None:
                print_table(console, table)
    print_crossovers(console, pair_crossovers(outcome.records))
    from rich.markup import escape

    for w in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w)}")
    for f in outcome.failures:
        console.print(f"[red]FAILED[/red] {escape(f['kernel'])}: {escape(f['message'])}")
    console.print(f"results: {outcome.path}")


# --- crossovers, profile, tune (softbench.tuning, softbench.profile) ---------------------------


def print_crossovers(console, crossovers, title: str | None = None) -> None:
    """For each ISA and pair of algorithms, the N from which one beats the other for good."""
    if not crossovers:
        return
    t = _table(console, title or "crossovers: for each pair, the N from which the first is faster at every larger N measured")
    for col in ("isa", "faster", "than", "from N", "slower at"):
        t.add_column(col, justify="right" if col in ("from N", "slower at") else "left")
    for c in crossovers:
        frm = f"{c.n:,}" if c.status == "crosses" else c.status
        below = f"{c.n_below:,}" if c.n_below is not None else "-"
        t.add_row(c.isa, c.algorithm, c.baseline, frm, below)
    console.print(t)
    traded = [c for c in crossovers if c.status == "crosses" and any(n < c.n for n in c.wins_at)]
    for c in traded:
        early = ", ".join(f"{n:,}" for n in c.wins_at if n < c.n)
        console.print(f"note: {c.isa} {c.algorithm} is also faster than {c.baseline} below its crossover, at N = {early}")
    for c in crossovers:
        if c.status == "never":
            console.print(f"note: {crossover_sentence(c)}")


def _ns(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.0f} ns"


def _opt(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def print_profile(console, prof: dict[str, Any]) -> None:
    """One profile (softbench.profile.profile_kernel) as text."""
    k = prof["kernel"]
    bpe = prof["bytes_per_element"]
    console.print(
        f"[bold]{prof['algorithm']} / {prof['isa']}, N = {prof['n']:,}[/bold] ({prof['regime']}): whole kernel "
        f"{_ns(k['ns_per_call'])} = {k['ns_per_element']:.3f} ns/element, {k['gbps_actual']:.1f} GB/s actual "
        f"({bpe['total']} B/element); traffic twin {k['twin_ns_per_element']:.3f} ns/element, roofline efficiency "
        f"{k['roofline_efficiency']:.0%}"
    )
    t = _table(console, None)
    for col in ("pass", "share", "time", "ns/elem", "B/elem", "GB/s", "twin GB/s", "efficiency", "L1 ns/elem", "≈ exps", "bound"):
        t.add_column(col, justify="left" if col in ("pass", "bound") else "right")
    for p in prof["passes"]:
        b = p["bytes_per_element"]
        over = p["time_over_floor"]
        bound = p["bound"] + ("" if over <= 1.15 else f" (+{over - 1:.0%} over its floor)")
        t.add_row(
            p["name"], f"{p['share']:.0%}", _ns(p["ns_per_call"]), f"{p['ns_per_element']:.3f}",
            f"{b['total']} ({b['read_x']}+{b['read_y']}+{b['write_y']})", _opt(p["gbps"], ".1f"), _opt(p["twin_gbps"], ".1f"),
            _opt(p["efficiency"], ".0%"), f"{p['l1_ns_per_element']:.3f}", _opt(p["exp_equivalents"], ".2f"), bound,
        )  # fmt: skip
    console.print(t)
    s = prof["sum_check"]
    verdict = "[green]within[/green]" if s["within"] else "[yellow]outside[/yellow]"
    console.print(
        f"sum of passes = {_ns(s['sum_of_passes_ns'])} vs whole kernel = {_ns(s['kernel_ns'])} "
        f"({s['difference_pct']:+.1f}% difference; {verdict} {s['tolerance_pct']:g}%): {s['explanation']}"
    )
    console.print(f"output stores: {prof['kernel']['stores']} (the kernel softmax() and `run` use at this N, and its passes)")
    f = prof["compute_floor"]
    console.print(
        f"compute floor: at N = {f['n']:,} (8N = {8 * f['n'] // 1024} KiB <= half the L1d of {f['l1d_bytes'] // 1024} KiB, "
        f"{f['l1d_source']}) the kernel takes {f['kernel_ns_per_element']:.3f} ns/element; one exp costs "
        f"{f['ns_per_exp']:.3f} ns, x {f['exps_per_element']} exps/element = {f['exp_ns_per_element']:.3f} ns/element. "
        f"The kernel at N is {f['kernel_bound']}."
    )
    console.print(
        "B/elem = read x + read y + write y; efficiency = twin time / pass time; L1 ns/elem = the pass alone at the "
        "L1 size; ≈ exps = that time in exps; memory-bound: the twin at N (memory floor) is above the L1 time "
        "(compute floor), compute-bound: the reverse."
    )
    c = prof["counters"]
    if c.get("available"):
        ct = _table(console, f"hardware counters ({', '.join(c['events'])}; user space, one loop of the calibrated calls)")
        for col in ("what", "cycles/elem", "instr/elem", "IPC", "cache misses/elem", "miss rate", "L1d misses/elem", "GHz"):
            ct.add_column(col, justify="left" if col == "what" else "right")
        rows = [("kernel", c["kernel"]), (f"kernel at N = {f['n']:,}", c["l1_kernel"])]
        rows += [(f"pass {name}", d) for name, d in c["passes"].items()]
        for name, d in rows:
            ct.add_row(
                name, _opt(d.get("cycles_per_element"), ".2f"), _opt(d.get("instructions_per_element"), ".2f"),
                _opt(d.get("ipc"), ".2f"), _opt(d.get("cache_misses_per_element"), ".4f"), _opt(d.get("cache_miss_rate"), ".1%"),
                _opt(d.get("l1d_load_misses_per_element"), ".4f"), _opt(d.get("clock_ghz"), ".2f"),
            )  # fmt: skip
        console.print(ct)
        if any(d.get("multiplexed") for _, d in rows):
            console.print("note: the PMU was multiplexed; counts are scaled by time enabled / time running")
    else:
        console.print(f"counters: {c['reason']}")
        est = c.get("estimated") or {}
        if est.get("clock_ghz"):
            per = ", ".join(f"{name} ~{v:.2f}" for name, v in est["passes"].items())
            console.print(
                f"cycles/element ESTIMATED from the timer x {est['clock_ghz']:.2f} GHz ({est['clock_source']}; not counted): "
                f"kernel ~{est['kernel_cycles_per_element']:.2f}; {per}"
            )
        elif est:
            console.print(f"cycles/element cannot be estimated: {est.get('clock_source')}")
    for note in prof.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")


def print_tuning(console, doc: dict[str, Any], path, notes: list[str] = ()) -> None:
    """A tuning document (softbench.tuning.derive) as text."""
    m = doc["machine"]
    console.print(f"tuning for {m['hostname']} ({m['cpu_model']}), softbench {doc['softbench_version']}")
    for isa_name, entry in doc["isas"].items():
        t = _table(console, f"{isa_name}: the fastest algorithm per size band (what softmax(x, algorithm='auto') runs)")
        tiled = any("tile" in b for b in entry["bands"])  # format 1 files name no tile
        for col in ("N from", "N below", "algorithm", *(("tile",) if tiled else ()), "measured at"):
            t.add_column(col, justify="left" if col in ("algorithm", "tile") else "right")
        for b in entry["bands"]:
            t.add_row(f"{b['from_n']:,}", "-" if b["to_n"] is None else f"{b['to_n']:,}", b["algorithm"],
                      *((str(b.get("tile") or "default"),) if tiled else ()),
                      ", ".join(f"{n:,}" for n in b["measured"]))  # fmt: skip
        console.print(t)
        print_crossovers(console, [Crossover(**c) for c in entry["crossovers"]], f"{isa_name}: crossovers")
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"tuning file: {path}")


def print_doctor(console, checks) -> None:
    from rich.markup import escape

    t = _table(console, "softbench doctor: this machine, before measuring (read-only)")
    for col in ("check", "state", "found", "what to do"):
        t.add_column(col, overflow="fold")
    style = {"ok": "green", "warn": "yellow", "unknown": "dim"}
    for c in checks:
        t.add_row(c.name, f"[{style.get(c.state, '')}]{c.state}[/]", escape(c.found), escape(c.advice or "-"))
    console.print(t)
    warned = sum(c.state == "warn" for c in checks)
    console.print(f"{warned} of {len(checks)} checks warn" + ("; figures measured now may move between runs" if warned else ""))
