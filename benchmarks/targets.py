#!/usr/bin/env python3
"""Print each performance goal of issue #12, met or not, from runs of suites/targets.toml.

    python benchmarks/targets.py                       # two runs (~4 min each), then the table
    python benchmarks/targets.py --runs 3 --keep DIR   # three runs, result files kept in DIR
    python benchmarks/targets.py --from A.json B.json  # the table from existing result files

Each run is one `softbench run` process: every algorithm on every ISA the suite names (avx2 and
avx512f, those this CPU runs), their traffic twins, STREAM and XNNPACK's softmax operator, all
interleaved in a shuffled order per repetition, on one and on all threads. Every figure below is a
ratio of medians taken inside one run; with several runs a figure is printed as the range over the
runs ("lo-hi"), and a goal is met only when every run meets it. The goals:

  1. every algorithm x ISA at least as fast as XNNPACK's operator in every regime
     (XNNPACK time / ours >= 1, the median over the sizes of the regime);
  2. out of cache, 1 thread: roofline efficiency (twin time / kernel time) >= 0.90;
  3. out of cache, 1 thread: two-pass over the faster three-pass >= 1.18x (AVX2), >= 1.28x (AVX-512);
  4. out of cache, all threads: >= 0.90 of the traffic twin on the same threads;
  5. in cache (L1, L2): two-pass / three-pass-reload time <= 1.45 (the worst size of the regime);
  6. accuracy kept: every kernel's max relative error <= 1e-5.

"Out of cache" is an input of at least 4x the last-level cache (the STREAM rule). Where that
buffer is larger than --max-buffer (default 0.25 GiB; 4 such arrays live at once) or does not fit
in the memory available, the largest power-of-two size that does is used instead, and the
output says so with the numbers, beside STREAM copy's bandwidth at each size (which shows where
the memory floor really starts). On the 2-vCPU Xeon VM this was written on, the OS reports a
480 MiB L3 (the host's), 4x that is 1.9 GiB per buffer and a run of ~40 min; copy bandwidth
drops to its DRAM level from 1Mi elements on, so 64Mi elements is far past the cache this VM
gets to use.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from softbench.bench import suites
from softbench.bench.sizes import ARRAYS_PER_POINT, LLCMultiple, bytes_needed
from softbench.host import machine
from softbench.host.caches import last_level_cache_bytes
from softbench.results import files as results

SUITE = "targets"
LIBRARY = "xnnpack"  # the bar of goal 1
SPEEDUP_GOAL = {"avx2": 1.18, "avx512f": 1.28}  # the paper's Two-Pass gains, Skylake-X
EFFICIENCY_GOAL = 0.90
THREADS_GOAL = 0.90
IN_CACHE_RATIO_GOAL = 1.45  # XNNPACK's own two-pass / reloading ratio on AVX-512 (Zen 4)
ERROR_GOAL = 1e-5
IN_CACHE = ("L1", "L2")
THREE_PASS = ("three-pass-recompute", "three-pass-reload")
OUT = "out of cache"
GiB = 2**30


# --- choosing the sizes ------------------------------------------------------------------------


def out_of_cache_size(llc: int | None, available: int, max_buffer: int) -> tuple[str, int | None, str]:
    """(the size to pass to `softbench run`, its elements if known, a sentence saying why)."""
    if not llc:
        return "4xLLC", None, "last-level cache size unknown: softbench run will refuse 4xLLC"
    n4 = math.ceil(4 * llc / 4)
    if 4 * n4 <= max_buffer and bytes_needed(n4) <= available:
        return str(n4), n4, f"out of cache: N = {n4:,} (input {_bytes(4 * n4)} = 4x the {_bytes(llc)} LLC)"
    n = 1 << int(math.log2(max_buffer // 4))
    while n > 1 and bytes_needed(n) > available:
        n //= 2
    why = (
        f"{_bytes(4 * n4)} per buffer (x{ARRAYS_PER_POINT} arrays = {bytes_needed(n4) / 1e9:.1f} GB; "
        f"{available / 1e9:.1f} GB available, --max-buffer {max_buffer / GiB:g} GiB)"
    )
    return str(n), n, (
        f"out of cache: N = {n:,} (input {_bytes(4 * n)} = {4 * n / llc:.2f}x the {_bytes(llc)} LLC), "
        f"short of the 4x rule: 4x LLC would need {why}"
    )


def _bytes(b: float) -> str:
    return f"{b / GiB:.2f} GiB" if b >= GiB else f"{b / 2**20:.0f} MiB"


def run_sizes(out_size: str) -> str:
    """The suite's sizes, with its "xLLC" entries replaced by the out-of-cache size chosen here."""
    suite = suites.load_suite(SUITE)
    sizes = [out_size if isinstance(s, LLCMultiple) else str(s) for s in suite.sizes]
    return ",".join(dict.fromkeys(sizes))


def run_suite(out: Path, sizes: str, seed: int) -> None:
    cmd = [sys.executable, "-m", "softbench.cli", "run", "--suite", SUITE, "--sizes", sizes,
           "--baselines", LIBRARY, "--seed", str(seed), "-o", str(out)]  # fmt: skip
    print("$ softbench", " ".join(cmd[3:]), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if p.returncode not in (0, 3):  # 3: some kernel failed; its record is missing and the table says so
        sys.exit(f"targets: softbench run failed (exit {p.returncode}); see above")


# --- the goals, per run ------------------------------------------------------------------------


def _median(values):
    return statistics.median(values) if values else None


def goals_of_run(records: list, out_n: int) -> dict[tuple[str, str], tuple[float, bool, str]]:
    """{(goal, where): (value, met, note)} for one run's records. out_n: the out-of-cache size."""
    kernels = [r for r in records if r.isa != "library" and not r.variant and r.rows == 1]
    single = {(r.algorithm, r.isa, r.n): r for r in kernels if r.threads == 1}
    most = max((r.threads for r in kernels), default=1)
    parallel = {(r.algorithm, r.isa, r.n): r for r in kernels if r.threads == most > 1}
    lib = {r.n: r for r in records if r.isa == "library" and r.algorithm == LIBRARY}
    isas = list(dict.fromkeys(r.isa for r in kernels))
    algs = list(dict.fromkeys(r.algorithm for r in kernels))
    regime = {r.n: (OUT if r.n == out_n else r.regime) for r in kernels}
    out: dict = {}

    # 1. against XNNPACK, per regime: the median over that regime's sizes of XNNPACK / ours
    for isa in isas:
        for alg in algs:
            by_regime: dict[str, list[tuple[int, float]]] = {}
            for (a, i, n), r in single.items():
                if a == alg and i == isa and n in lib:
                    by_regime.setdefault(regime[n], []).append((n, lib[n].ns_per_element / r.ns_per_element))
            for reg, pts in by_regime.items():
                v = _median([p for _, p in pts])
                sizes = sorted(n for n, _ in pts)
                out[("1", f"{alg}/{isa}|{reg}")] = (v, v >= 1.0, _sizes(sizes))
    # 2., 3., 4. out of cache
    for isa in isas:
        for alg in algs:
            r = single.get((alg, isa, out_n))
            if r and r.roofline_efficiency is not None:
                out[("2", f"{alg}/{isa}")] = (r.roofline_efficiency, r.roofline_efficiency >= EFFICIENCY_GOAL, "")
            r = parallel.get((alg, isa, out_n))
            if r and r.roofline_efficiency is not None:
                out[("4", f"{alg}/{isa}, {most} threads")] = (r.roofline_efficiency, r.roofline_efficiency >= THREADS_GOAL, "")
        two = single.get(("two-pass", isa, out_n))
        three = [single[(a, isa, out_n)] for a in THREE_PASS if (a, isa, out_n) in single]
        if two and three:
            best = min(three, key=lambda r: r.ns_per_element)
            v = best.ns_per_element / two.ns_per_element
            goal = SPEEDUP_GOAL.get(isa)
            out[("3", f"{isa}")] = (v, goal is not None and v >= goal, f"vs {best.algorithm}")
    # 5. in cache: two-pass / reloading, the worst size of each regime
    for isa in isas:
        for reg in IN_CACHE:
            pts = [(n, single[("two-pass", isa, n)].ns_per_element / single[("three-pass-reload", isa, n)].ns_per_element)
                   for n in sorted({n for (_, i, n) in single if i == isa and regime[n] == reg})
                   if ("two-pass", isa, n) in single and ("three-pass-reload", isa, n) in single]  # fmt: skip
            if pts:
                n, v = max(pts, key=lambda p: p[1])
                out[("5", f"{isa} {reg}")] = (v, v <= IN_CACHE_RATIO_GOAL, f"worst at n={_size(n)} of {_sizes([p[0] for p in pts])}")
    # 6. accuracy
    for isa in isas:
        rs = [r for r in kernels if r.isa == isa]
        worst = max(rs, key=lambda r: r.max_rel_error)
        out[("6", isa)] = (worst.max_rel_error, worst.max_rel_error <= ERROR_GOAL, f"{worst.algorithm} n={_size(worst.n)}")
    return out


def _size(n: int) -> str:
    for unit, k in (("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if n >= 1 << k and n % (1 << k) == 0:
            return f"{n >> k}{unit}"
    return f"{n:,}"


def _sizes(ns) -> str:
    ns = sorted(ns)
    return _size(ns[0]) if len(ns) == 1 else f"{_size(ns[0])}..{_size(ns[-1])}"


def table(paths: list[Path]) -> dict:
    docs = [results.load(p) for p in paths]
    runs = []
    out_ns = []
    for doc in docs:
        ns = sorted({r.n for r in doc.results if r.isa != "library"})
        dram = [n for n in ns if any(r.n == n and r.regime == "DRAM" for r in doc.results)]
        out_n = max(dram or ns)  # the largest size, whether or not it reaches the 4x rule
        out_ns.append(out_n)
        runs.append(goals_of_run(doc.results, out_n))
    merged: dict = {}
    for run in runs:
        for key, (v, ok, note) in run.items():
            m = merged.setdefault(key, {"values": [], "met": [], "note": note})
            m["values"].append(v)
            m["met"].append(ok)
    rows = [{"goal": g, "where": w, "values": m["values"], "runs": len(m["values"]),
             "met": all(m["met"]) and len(m["values"]) == len(runs), "note": m["note"]}
            for (g, w), m in sorted(merged.items(), key=lambda kv: kv[0][0])]  # fmt: skip
    ctx = docs[0].context
    cpu = ctx.get("cpu", {})
    llc = _llc(ctx)
    out_n = out_ns[0]
    out_regime = next((r.regime for r in docs[0].results if r.n == out_n and r.isa != "library"), "?")
    raw = json.loads(Path(paths[0]).read_text()).get("results", [])  # the baseline's version string
    lib = next((r.get("baseline") for r in raw if r.get("algorithm") == LIBRARY and r.get("baseline")), None)
    timer = next((r.get("timer") for r in raw if r.get("algorithm") == LIBRARY and r.get("timer")), None)
    # STREAM copy on one thread, per size: shows where this machine's memory floor really starts
    copy = {b["n"]: b["gbps"] for b in docs[0].bandwidth if b.get("kernel") == "copy" and b.get("threads", 1) == 1}
    return {
        "files": [str(p) for p in paths],
        "machine": f"{cpu.get('model_name', '?')} ({cpu.get('microarchitecture', {}).get('name', '?')}), "
        + (f"LLC {llc / 2**20:.0f} MiB" if llc else "LLC unknown"),
        "isas": sorted({r.isa for d in docs for r in d.results if r.isa != "library"}),
        "out_of_cache_n": out_n,
        "out_of_cache_note": (f"N = {out_n:,}: input {_bytes(4 * out_n)} = {4 * out_n / llc:.1f}x the LLC "
                              f"(regime {out_regime})") if llc else f"N = {out_n:,}",  # fmt: skip
        "library": (f"{lib}; timed by a {timer}" if timer else lib) if lib else f"{LIBRARY} not measured (see the run's warnings)",
        "stream_copy_gbps": {str(n): copy[n] for n in sorted(copy)},
        # what each run said about its own reliability (load, spread), so noise is not hidden
        "run_warnings": [[w for w in d.warnings if "spread" in w or "load average" in w] for d in docs],
        "same_out_n": len(set(out_ns)) == 1,
        "rows": rows,
    }


def _llc(ctx) -> int | None:
    return last_level_cache_bytes(ctx.get("caches", []))


# --- printing ----------------------------------------------------------------------------------

TITLES = {
    "1": f"1. at least as fast as XNNPACK's operator: {LIBRARY} time / ours, median over the regime's sizes (goal >= 1)",
    "2": f"2. out of cache, 1 thread: roofline efficiency, twin time / kernel time (goal >= {EFFICIENCY_GOAL})",
    "3": "3. out of cache, 1 thread: two-pass speedup over the faster three-pass (goal >= "
    + ", ".join(f"{v} {k}" for k, v in SPEEDUP_GOAL.items()) + ")",
    "4": f"4. out of cache, all threads: twin time / kernel time, same threads (goal >= {THREADS_GOAL})",
    "5": f"5. in cache: two-pass / three-pass-reload time, the regime's worst size (goal <= {IN_CACHE_RATIO_GOAL})",
    "6": f"6. accuracy: max relative error of every kernel (goal <= {ERROR_GOAL:g})",
}
REGIME_ORDER = ("L1", "L2", "L3", "DRAM", "transition", "unknown", OUT)


def _fmt(values: list[float]) -> str:
    def one(v):
        return f"{v:.2f}" if v >= 0.01 else f"{v:.1e}"

    lo, hi = min(values), max(values)
    if one(lo) == one(hi):
        return one(lo)
    return f"{one(lo)}-{one(hi)}" if lo >= 0.01 else f"{one(lo)}..{one(hi)}"  # no '-' beside an exponent


def _mark(row) -> str:
    return "yes" if row["met"] else "NO"


def show(t: dict) -> None:
    runs = len(t["files"])
    print(f"softbench against issue #12's goals on {t['machine']}; ISAs {', '.join(t['isas'])}")
    print(f"{runs} run{'s' if runs > 1 else ''}: {', '.join(t['files'])}")
    print(f"figures: one run's ratio of medians; with several runs, the range over the runs (a goal is met when every run meets it)")
    print(f"{OUT} here: {t['out_of_cache_note']}" + ("" if t["same_out_n"] else "  (the runs differ in their largest size!)"))
    print(f"library: {t['library']}")
    if t["stream_copy_gbps"]:
        print("STREAM copy, 1 thread, GB/s (run 1): " + ", ".join(f"{_size(int(n))} {v:.1f}" for n, v in t["stream_copy_gbps"].items()))
    by_goal: dict[str, list] = {}
    for r in t["rows"]:
        by_goal.setdefault(r["goal"], []).append(r)
    for goal, title in TITLES.items():
        rows = by_goal.get(goal, [])
        print(f"\n{title}")
        if not rows:
            print("   not measured in these runs")
            continue
        if goal == "1":
            _show_matrix(rows)
            continue
        width = max(len(r["where"]) for r in rows)
        for r in rows:
            note = f"   {r['note']}" if r["note"] else ""
            print(f"   {r['where']:<{width}}  {_fmt(r['values']):>11}  {_mark(r):<3}{note}")
    for i, ws in enumerate(t["run_warnings"], 1):
        for w in ws:
            print(f"run {i}: {w}")
    met = sum(r["met"] for r in t["rows"])
    print(f"\n{met} of {len(t['rows'])} figures meet their goal")


def _show_matrix(rows) -> None:
    cells: dict[str, dict[str, dict]] = {}
    sizes: dict[str, str] = {}
    for r in rows:
        who, reg = r["where"].split("|")
        cells.setdefault(who, {})[reg] = r
        sizes[reg] = r["note"]
    regs = sorted(sizes, key=lambda g: REGIME_ORDER.index(g) if g in REGIME_ORDER else 99)
    heads = [f"{g} ({sizes[g]})" if g != OUT else OUT for g in regs]
    width = max(len(w) for w in cells)
    col = max(17, *(len(h) for h in heads))
    print(f"   {'':<{width}}  " + "  ".join(f"{h:>{col}}" for h in heads))
    for who, by in cells.items():
        line = [f"{_fmt(by[g]['values']) + ' ' + _mark(by[g]):>{col}}" if g in by else f"{'-':>{col}}" for g in regs]
        print(f"   {who:<{width}}  " + "  ".join(line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="sources", type=Path, nargs="+", help="result files to read instead of running")
    ap.add_argument("--runs", type=int, default=2, help="separate runs of the suite (default 2)")
    ap.add_argument("--keep", type=Path, help="write the runs' result files into this folder (default: a temporary one)")
    ap.add_argument("--max-buffer", type=float, default=0.25,
                    help="largest input buffer in GiB for the out-of-cache point (default 0.25: 64Mi elements)")
    ap.add_argument("--json", action="store_true", help="print the table as JSON")
    args = ap.parse_args()
    if args.sources:
        paths = args.sources
    else:
        import psutil  # heavy: only when running (CONTRIBUTING.md)

        if args.runs < 1:
            ap.error("--runs must be >= 1")
        folder = args.keep or Path(tempfile.mkdtemp(prefix="softbench-targets-"))
        folder.mkdir(parents=True, exist_ok=True)
        llc = last_level_cache_bytes(machine.collect_caches())
        size, _, why = out_of_cache_size(llc, psutil.virtual_memory().available, int(args.max_buffer * GiB))
        print(why, file=sys.stderr)
        sizes = run_sizes(size)
        paths = []
        for i in range(args.runs):
            path = folder / f"targets-run{i + 1}.json"
            if path.exists():
                sys.exit(f"targets: {path} exists; give another --keep folder")
            run_suite(path, sizes, seed=i)
            paths.append(path)
    t = table(paths)
    if args.json:
        print(json.dumps(t, indent=1))
    else:
        show(t)


if __name__ == "__main__":
    main()
