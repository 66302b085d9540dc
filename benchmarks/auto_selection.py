#!/usr/bin/env python3
"""Is softmax(x, algorithm="auto") as fast as the best single algorithm, at every size of the
quick suite?

In one run, at each size of the quick suite (resolved for this machine, as `softbench run` does),
on the best ISA this host runs (or --isa), it times every algorithm and "auto" -- the kernel that
``softbench.analysis.tuning.choose(N, isa)`` picks, i.e. what ``softbench.softmax(x, algorithm="auto")``
runs for len(x) = N -- side by side: softbench's own timing path (``measure.Timer``: calibrated so
one sample lasts >= --min-time, C loop through cffi), one warm-up, then --repetitions samples of
every item in a shuffled order per repetition, so drift hits them all alike. "auto" is timed as
an item of its own even though it is one of the algorithms: the ratio of auto to that same
algorithm shows the noise of the run.

It prints, per size: each algorithm's median ns/element, the best, auto's pick and its time, the
ratio auto / best and whether it is within 5%; then the cost of the choice itself (ns per
``tuning.choose`` call) and where the choice came from (the tuning file `softbench tune` wrote on
this machine, or the default rule when there is none).

This is a benchmark, not a test: it prints what it measured and asserts nothing.

    softbench tune                              # measure this machine first (else: default rule)
    python benchmarks/auto_selection.py [--json] [--isa avx2] [--repetitions 9]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit

import numpy as np

TARGET = 0.05  # auto within 5% of the best single algorithm


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isa", default="best", help="ISA to measure (default: the best this host runs)")
    ap.add_argument("--suite", default="quick", help="suite whose sizes are used (default: quick)")
    ap.add_argument("--repetitions", type=int, default=9, help="samples per item and size (default 9)")
    ap.add_argument("--min-time", type=float, default=0.01, help="seconds per sample (default 0.01, as the quick suite)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the results as JSON (progress goes to stderr)")
    args = ap.parse_args(argv)

    from softbench.bridge import build
    from softbench.host import isa, machine
    from softbench.bench import runner
    from softbench.analysis import tuning
    from softbench.catalog import algorithms
    from softbench.bench.measure import Timer, pin_to_one_cpu, reference_check
    from softbench.host.caches import cache_levels, regime

    isa_name = isa.best() if args.isa in ("best", "auto") else isa.resolve(args.isa)
    plan = runner.make_plan(args.suite)
    sizes = plan.sizes
    algs = list(algorithms())
    sel = tuning.selector()
    source = sel.source(isa_name)
    choose_ns = timeit.timeit(lambda: tuning.choose(sizes[0], isa_name), number=20000) / 20000 * 1e9

    cpu = pin_to_one_cpu()
    harness = build.load(build.HARNESS_ISA)
    module = build.use_store_policy(build.load(isa_name))  # the stores softmax() uses at each size
    timer = Timer(harness, ftz_daz=bool(harness.lib.sb_ftz_daz_supported()))
    levels = cache_levels(machine.collect_caches())
    rng = np.random.default_rng(args.seed)
    cpu_model = machine.collect_cpu().get("model_name")
    log(f"auto_selection: {platform.node()} ({cpu_model}), isa {isa_name}, {len(sizes)} sizes of the {args.suite} suite; auto from {source}")

    rows = []
    for n in sizes:
        pick = tuning.choose(n, isa_name)
        x = rng.standard_normal(n, dtype=np.float32) * np.float32(4.0)
        y = np.zeros(n, np.float32)
        items = [(a, module.kernels[a]) for a in algs] + [("auto", module.kernels[pick])]
        calls = {}
        for name, fn in items:
            calls[name] = timer.calibrate(fn, n, x, y, args.min_time)
        samples: dict[str, list[float]] = {name: [] for name, _ in items}
        order = list(range(len(items)))
        for rep in range(1 + args.repetitions):
            rng.shuffle(order)
            for k in order:
                name, fn = items[k]
                t = timer.time(fn, n, x, y, calls[name])
                if rep:
                    samples[name].append(t / (calls[name] * n))
        timer.time(module.kernels[pick], n, x, y, 1)
        _, problem = reference_check(x, y, rng)
        med = {name: float(np.median(v)) for name, v in samples.items()}
        best = min(algs, key=lambda a: med[a])
        ratio = med["auto"] / med[best]
        rows.append({
            "n": n, "regime": regime(n, levels), "ns_per_element": {a: med[a] for a in algs},
            "best": best, "auto_pick": pick, "auto_ns_per_element": med["auto"], "ratio_auto_over_best": ratio,
            "within_target": ratio <= 1 + TARGET, "ratio_auto_over_same_kernel": med["auto"] / med[pick],
            "spread": {name: float(np.subtract(*np.percentile(v, [75, 25])) / np.median(v)) for name, v in samples.items()},
            **({"wrong_output": problem} if problem else {}),
        })  # fmt: skip
        log(f"  n={n:>11,}: best {best} {med[best]:.3f}, auto -> {pick} {med['auto']:.3f} ns/element, ratio {ratio:.3f}")

    within = sum(r["within_target"] for r in rows)
    worst = max(rows, key=lambda r: r["ratio_auto_over_best"])
    doc = {
        "machine": {"hostname": platform.node(), "cpu_model": cpu_model},
        "isa": isa_name, "suite": args.suite, "repetitions": args.repetitions, "min_time": args.min_time,
        "pinned_cpu": cpu, "auto_source": source, "choose_ns_per_call": choose_ns, "target": TARGET,
        "rows": rows, "within_target": within, "sizes": len(rows),
        "worst": {"n": worst["n"], "ratio": worst["ratio_auto_over_best"]},
    }  # fmt: skip
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"auto_selection on {doc['machine']['hostname']} ({cpu_model}), isa {isa_name}, {args.suite} suite sizes, "
          f"{args.repetitions} samples per item (shuffled, interleaved), pinned to CPU {cpu}")  # fmt: skip
    print(f"auto chooses from: {source}")
    short = {"three-pass-recompute": "3p-recomp", "three-pass-reload": "3p-reload", "two-pass": "two-pass", "online": "online"}
    head = f"{'N':>12} {'regime':<10} " + " ".join(f"{short.get(a, a):>10}" for a in algs)
    head += f"  {'best':<20} {'auto picks':<20} {'auto':>7} {'auto/best':>9} {'<=5%':>5} {'auto/same':>9}"
    print(head)
    for r in rows:
        line = f"{r['n']:>12,} {r['regime']:<10} " + " ".join(f"{r['ns_per_element'][a]:>10.3f}" for a in algs)
        line += (f"  {r['best']:<20} {r['auto_pick']:<20} {r['auto_ns_per_element']:>7.3f} {r['ratio_auto_over_best']:>9.3f} "
                 f"{'yes' if r['within_target'] else 'NO':>5} {r['ratio_auto_over_same_kernel']:>9.3f}")  # fmt: skip
        print(line + (f"  WRONG OUTPUT: {r['wrong_output']}" if "wrong_output" in r else ""))
    print(f"ns/element, medians. auto/same = auto against the same kernel timed as its own item (the run's noise).")
    print(f"auto within {TARGET:.0%} of the best single algorithm at {within} of {len(rows)} sizes; "
          f"worst ratio {worst['ratio_auto_over_best']:.3f} at N = {worst['n']:,}")
    print(f"the choice itself: {choose_ns:.0f} ns per tuning.choose() call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
