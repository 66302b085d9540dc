#!/usr/bin/env python3
"""Time the kernels of another commit against this checkout's, side by side in one process.

    python benchmarks/ab_kernels.py --base main -a online -i avx2,avx512f --sizes 4Ki,64Ki,64Mi
    python benchmarks/ab_kernels.py --base HEAD~1 --json

The base commit's native/ folder is taken with `git archive` into a temporary folder and built
by softbench's own build (same compiler and flags; its own cache entry, by source digest), with
the store policy `softbench run` applies (non-temporal stores past the LLC). Both
modules are loaded into this process, and every (kernel, version) pair is timed by the same C loop
(softbench's Timer) on the same input and output buffers, in a shuffled order per repetition, after
one warm-up. This is done in --blocks separate blocks (default 2), each with its own calibration,
so a ratio is printed as the range over the blocks. Each kernel's output is compared between the
two versions: "identical" means every output bit is the same, otherwise the largest relative
difference is shown. Ratios are base time / new time: above 1 means the new kernel is faster.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np

from softbench import catalog
from softbench.bench.measure import Timer, pin_to_one_cpu
from softbench.bench.sizes import parse_size
from softbench.bridge import build

ROOT = Path(__file__).resolve().parent.parent


def load_base(rev: str, isas: list[str], folder: Path) -> dict:
    """{isa: module} built from native/ at `rev`."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "native"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    real = build.native_dir
    build.native_dir = lambda: folder / "native"  # build() reads its sources through this name
    saved = dict(build._loaded)
    build._loaded.clear()
    try:
        return {isa: build.use_store_policy(build.load(isa)) for isa in isas}
    finally:
        build.native_dir = real
        build._loaded.clear()
        build._loaded.update(saved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision whose kernels are the baseline (e.g. main)")
    ap.add_argument("-a", "--algorithms", default="all")
    ap.add_argument("-i", "--isa", default="avx2,avx512f")
    ap.add_argument("--sizes", default="4Ki,64Ki,64Mi")
    ap.add_argument("--repetitions", type=int, default=9, help="samples of each item per block")
    ap.add_argument("--blocks", type=int, default=2, help="separate blocks of samples, each calibrated anew")
    ap.add_argument("--min-time", type=float, default=0.02)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    algs = list(catalog.algorithms()) if args.algorithms == "all" else args.algorithms.split(",")
    isas = args.isa.split(",")
    sizes = [parse_size(s) for s in args.sizes.split(",")]

    cpu = pin_to_one_cpu()
    with tempfile.TemporaryDirectory(prefix="softbench-ab-") as tmp:
        base = load_base(args.base, isas, Path(tmp))
    new = {isa: build.use_store_policy(build.load(isa)) for isa in isas}  # as `run` uses them
    if all(base[i].path == new[i].path for i in isas):
        print("note: the base's native/ sources are the same as this checkout's (same module)", file=sys.stderr)
    timer = Timer(build.load(build.HARNESS_ISA), ftz_daz=True)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        x = (rng.standard_normal(n, dtype=np.float32) * np.float32(4.0)).astype(np.float32)
        y = np.zeros(n, np.float32)
        items = [(a, i, v, (base if v == "base" else new)[i].kernels[a]) for a in algs for i in isas for v in ("base", "new")]
        samples = {k[:3]: [[] for _ in range(args.blocks)] for k in items}
        for b in range(args.blocks):
            calls = {k[:3]: timer.calibrate(k[3], n, x, y, args.min_time) for k in items}
            order = list(range(len(items)))
            for rep in range(1 + args.repetitions):
                rng.shuffle(order)
                for j in order:
                    a, i, v, fn = items[j]
                    t = timer.time(fn, n, x, y, calls[(a, i, v)]) / (calls[(a, i, v)] * n)
                    if rep:
                        samples[(a, i, v)][b].append(t)
        for a in algs:
            for i in isas:
                outs = {}
                for v in ("base", "new"):
                    timer.time((base if v == "base" else new)[i].kernels[a], n, x, y, 1)
                    outs[v] = y.copy()
                same = bool(np.array_equal(outs["base"].view(np.uint32), outs["new"].view(np.uint32)))
                ref = np.maximum(np.abs(outs["base"].astype(np.float64)), np.finfo(np.float32).tiny)
                diff = float(np.max(np.abs(outs["new"].astype(np.float64) - outs["base"]) / ref))
                med = {v: [statistics.median(s) for s in samples[(a, i, v)]] for v in ("base", "new")}
                ratios = [bm / nm for bm, nm in zip(med["base"], med["new"])]
                rows.append({"algorithm": a, "isa": i, "n": n, "base_ns": med["base"], "new_ns": med["new"],
                             "base_over_new": ratios, "identical_output": same, "max_rel_difference": diff})  # fmt: skip
    if args.json:
        print(json.dumps({"base": args.base, "cpu": cpu, "rows": rows}, indent=1))
        return
    print(f"base = kernels of {args.base}; new = this checkout; ns/element medians per block; base / new > 1: new is faster")
    print(f"{'kernel':28} {'n':>12}  {'base ns':>13}  {'new ns':>13}  {'base/new':>11}  output")
    for r in rows:
        def rng_(v, f="{:.3f}"):
            lo, hi = min(v), max(v)
            return f.format(lo) if f.format(lo) == f.format(hi) else f"{f.format(lo)}-{f.format(hi)}"

        out = "identical" if r["identical_output"] else f"differs, max rel {r['max_rel_difference']:.1e}"
        print(f"{r['algorithm'] + '/' + r['isa']:28} {r['n']:>12,}  {rng_(r['base_ns']):>13}  {rng_(r['new_ns']):>13}  "
              f"{rng_(r['base_over_new'], '{:.2f}'):>11}  {out}")  # fmt: skip


if __name__ == "__main__":
    main()
