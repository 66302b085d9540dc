#!/usr/bin/env python3
"""How much does softbench's measuring path cost, and how long does the quick suite take?

Side by side in one run:

* the time per call of every kernel of the best ISA this host runs, at N = 1024 and N = 65536,
  measured (a) by softbench's own path -- ``measure.Timer.calibrate``/``Timer.time``, i.e. the
  harness's ``sb_time_calls`` reached through cffi, exactly as ``softbench run`` times a point --
  and (b) by a standalone C program that #includes the same kernel source
  (``native/kernels/<isa>.c``), is compiled with the same flags as softbench's module (minus
  ``-shared``/``-fPIC``) and times the kernel with its own clock_gettime(CLOCK_MONOTONIC_RAW)
  loop. The goal is softbench / pure C within 2%.
* the wall time of ``softbench run`` (the quick suite, default options), unless --skip-quick.

Both methods get the same input (x = normal * 4 from numpy's default_rng(seed), written to a file
for the C program), the same buffer addresses mod 4096 (alignment, and 4K aliasing between x and y), the same calibration rule (calls
per sample so one sample lasts >= min_time), the same FTZ/DAZ setting and the same CPU (the
process is pinned like `softbench run`; the C program inherits the affinity). They are measured
in alternating rounds, the method that goes first alternating too, so drift hits both alike.
Each round takes a warm-up sample and then --samples-per-round samples of every kernel,
interleaved in a shuffled order shared by both methods.

This is a benchmark, not a test: it prints what it measured and asserts nothing.

    python benchmarks/harness_overhead.py [--skip-quick] [--json] [--rounds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (1024, 1 << 16)
TARGET = 0.02  # softbench within 2% of the pure-C loop
NOISY = 0.05  # a side's IQR / median above this: the point was disturbed by other load

# The standalone program. SB_KERNEL_SOURCE is the absolute path of native/kernels/<isa>.c and
# SB_TABLE the ISA's table function; both are given with -D on the command line.
C_PROGRAM = r"""
#define _GNU_SOURCE
#include SB_KERNEL_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static unsigned fpmode_enter(int ftz_daz) {
    unsigned old = _mm_getcsr();
    if (ftz_daz) _mm_setcsr(old | 0x8040u); /* FTZ | DAZ, as softbench's harness does */
    return old;
}
static void fpmode_leave(unsigned old) { _mm_setcsr(old); }
#elif defined(__aarch64__)
static unsigned fpmode_enter(int ftz_daz) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    if (ftz_daz) {
        uint64_t on = fpcr | (1u << 24);
        __asm__ volatile("msr fpcr, %0" : : "r"(on));
    }
    return (unsigned)fpcr;
}
static void fpmode_leave(unsigned old) {
    uint64_t fpcr = old;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
#else
static unsigned fpmode_enter(int ftz_daz) { (void)ftz_daz; return 0; }
static void fpmode_leave(unsigned old) { (void)old; }
#endif

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int g_ftz_daz;

/* The pure-C loop: the kernel called directly through its table entry, back to back. */
static __attribute__((noinline)) double time_calls(sb_softmax_fn fn, size_t n, const float *x, float *y,
                                                   uint64_t calls) {
    unsigned mode = fpmode_enter(g_ftz_daz);
    double start = now_ns();
    for (uint64_t c = 0; c < calls; c++) fn(n, x, y);
    double end = now_ns();
    fpmode_leave(mode);
    return end - start;
}

/* Same rule as softbench.bench.measure.Timer.calibrate. */
static uint64_t calibrate(sb_softmax_fn fn, size_t n, const float *x, float *y, double target_ns) {
    uint64_t calls = 1;
    for (int i = 0; i < 40; i++) {
        double t = time_calls(fn, n, x, y, calls);
        if (t >= target_ns) return calls;
        double want = ceil((double)calls * target_ns * 1.2 / (t > 1.0 ? t : 1.0));
        uint64_t w = (uint64_t)want;
        calls = w > 2 * calls ? w : 2 * calls;
    }
    return calls;
}

typedef struct {
    char alg[64];
    size_t n;
    char xfile[1024];
    unsigned xoff, yoff;
    uint64_t calls;
    sb_softmax_fn fn;
    float *x, *y;
    double *samples;
} spec_t;

static float *aligned_buffer(size_t n, unsigned off) {
    void *p = NULL;
    if (posix_memalign(&p, 4096, n * sizeof(float) + 4096) != 0) { perror("posix_memalign"); exit(2); }
    return (float *)((char *)p + off);
}

int main(int argc, char **argv) {
    /* harness_c MODE(calibrate|run) FTZ_DAZ MIN_TIME_NS WARMUP SAMPLES SPEC...
       SPEC = alg,n,xfile,xoff,yoff,calls (calls ignored when calibrating) */
    if (argc < 7) { fprintf(stderr, "usage: %s calibrate|run ftz_daz min_time_ns warmup samples spec...\n", argv[0]); return 2; }
    int calibrating = strcmp(argv[1], "calibrate") == 0;
    g_ftz_daz = atoi(argv[2]);
    double min_time_ns = atof(argv[3]);
    int warmup = atoi(argv[4]), samples = atoi(argv[5]);
    int nspec = argc - 6;
    spec_t *specs = calloc((size_t)nspec, sizeof *specs);
    size_t count = 0;
    const sb_kernel_entry *table = SB_TABLE(&count);
    for (int i = 0; i < nspec; i++) {
        spec_t *s = &specs[i];
        unsigned long long n, calls;
        if (sscanf(argv[6 + i], "%63[^,],%llu,%1023[^,],%u,%u,%llu", s->alg, &n, s->xfile, &s->xoff, &s->yoff, &calls) != 6) {
            fprintf(stderr, "bad spec %s\n", argv[6 + i]); return 2;
        }
        s->n = (size_t)n; s->calls = (uint64_t)calls;
        for (size_t k = 0; k < count; k++)
            if (strcmp(table[k].algorithm, s->alg) == 0) s->fn = table[k].kernel;
        if (!s->fn) { fprintf(stderr, "no kernel %s\n", s->alg); return 2; }
        /* one x and one y per size, shared by every algorithm (as softbench's measure_point does) */
        for (int j = 0; j < i; j++)
            if (strcmp(specs[j].xfile, s->xfile) == 0) { s->x = specs[j].x; s->y = specs[j].y; break; }
        if (!s->x) {
            s->x = aligned_buffer(s->n, s->xoff);
            s->y = aligned_buffer(s->n, s->yoff);
            FILE *f = fopen(s->xfile, "rb");
            if (!f || fread(s->x, sizeof(float), s->n, f) != s->n) { fprintf(stderr, "cannot read %s\n", s->xfile); return 2; }
            fclose(f);
            memset(s->y, 0, s->n * sizeof(float)); /* touched before timing */
        }
        s->samples = calloc((size_t)samples + 1, sizeof(double));
    }
    if (calibrating) {
        for (int i = 0; i < nspec; i++) {
            specs[i].calls = calibrate(specs[i].fn, specs[i].n, specs[i].x, specs[i].y, min_time_ns);
            printf("calls %s %zu %llu\n", specs[i].alg, specs[i].n, (unsigned long long)specs[i].calls);
        }
        return 0;
    }
    /* Specs arrive grouped by size, each group in the round's shuffled order: per size, every
       repetition times every kernel once, like softbench.bench.measure.measure_point. */
    int start = 0;
    while (start < nspec) {
        int end = start;
        while (end < nspec && specs[end].n == specs[start].n) end++;
        for (int rep = 0; rep < warmup + samples; rep++)
            for (int i = start; i < end; i++) {
                double t = time_calls(specs[i].fn, specs[i].n, specs[i].x, specs[i].y, specs[i].calls);
                if (rep >= warmup) specs[i].samples[rep - warmup] = t;
            }
        start = end;
    }
    for (int i = 0; i < nspec; i++) {
        spec_t *s = &specs[i];
        s->fn(s->n, s->x, s->y); /* recompute and check: a broken kernel gets no figure */
        double sum = 0.0;
        for (size_t k = 0; k < s->n; k++) sum += s->y[k];
        printf("samples %s %zu %llu %.17g", s->alg, s->n, (unsigned long long)s->calls, sum);
        for (int k = 0; k < samples; k++) printf(" %.1f", s->samples[k]);
        printf("\n");
    }
    return 0;
}
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_c_program(module, isa: str, workdir: Path) -> tuple[Path, list[str]]:
    from softbench.catalog import native_dir

    source = native_dir() / "kernels" / f"{isa}.c"
    prog_c = workdir / "harness_c.c"
    prog_c.write_text(C_PROGRAM)
    flags = [f for f in module.build_info()["flags"] if f not in ("-shared", "-fPIC")]
    exe = workdir / "harness_c"
    cmd = [
        *shlex.split(module.compiler.command), *flags,
        f'-DSB_KERNEL_SOURCE="{source}"', f"-DSB_TABLE=sb_kernel_table__{isa}",
        "-o", str(exe), str(prog_c), "-lm",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compiling the pure-C timing program failed:\n{shlex.join(cmd)}\n{out.stderr}")
    return exe, cmd


def run_c(exe: Path, mode: str, ftz_daz: bool, min_time: float, warmup: int, samples: int, specs: list[str]) -> list[list[str]]:
    out = subprocess.run([str(exe), mode, str(int(ftz_daz)), repr(min_time * 1e9), str(warmup), str(samples), *specs],
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"the pure-C timing program failed ({out.returncode}): {out.stderr.strip()}")
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


def quick_suite_wall_time() -> dict:
    exe = Path(sys.executable).with_name("softbench")
    argv = [str(exe)] if exe.exists() else ([shutil.which("softbench")] if shutil.which("softbench") else
                                           [sys.executable, "-c", "from softbench.cli import main; main()"])  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="softbench-quick-") as tmp:
        out_file = Path(tmp) / "quick.json"
        cmd = [*argv, "run", "--output", str(out_file)]
        log(f"running the quick suite: {shlex.join(cmd)}")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        info: dict = {"command": shlex.join(cmd), "wall_s": wall, "returncode": proc.returncode}
        try:
            doc = json.loads(out_file.read_text())
            info["points"] = len(doc.get("records", doc.get("results", [])))
            info["sizes"] = len(doc.get("context", {}).get("sizes", []))
        except (OSError, ValueError, AttributeError):
            pass
        if proc.returncode != 0:
            info["stderr_tail"] = proc.stderr[-2000:]
        return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-quick", action="store_true", help="do not run the quick suite")
    ap.add_argument("--json", action="store_true", help="print the results as JSON (progress goes to stderr)")
    ap.add_argument("--rounds", type=int, default=8, help="alternating rounds per method (default 8)")
    ap.add_argument("--samples-per-round", type=int, default=3, help="samples per kernel per round (default 3)")
    ap.add_argument("--min-time", type=float, default=0.01, help="seconds per sample (default 0.01, as the quick suite)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from softbench.bridge import build
    from softbench.host import isa as isa_mod, machine
    from softbench.bench import stats
    from softbench.catalog import algorithms
    from softbench.bench.measure import Timer, pin_to_one_cpu, reference_check

    isa = isa_mod.best()
    module = build.use_store_policy(build.load(isa))  # the stores softmax() uses at each size
    harness = build.load(build.HARNESS_ISA)
    ftz_daz = bool(harness.lib.sb_ftz_daz_supported())
    cpu = pin_to_one_cpu()  # like `softbench run`; the C program inherits this affinity
    timer = Timer(harness, ftz_daz=ftz_daz)
    algs = [a for a in algorithms() if a in module.kernels]
    cpu_info = machine.collect_cpu()
    virt = machine.collect_virtualization().get("virtualized")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    with tempfile.TemporaryDirectory(prefix="softbench-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        exe, c_cmd = build_c_program(module, isa, tmp)

        # Same data, and the same buffer addresses mod 4096 (alignment and 4K aliasing between x and y
        # change kernel speed by several percent) for both methods.
        data = {}
        for n in SIZES:
            rng = np.random.default_rng(args.seed)
            x = rng.standard_normal(n, dtype=np.float32) * np.float32(4.0)
            y = np.zeros(n, np.float32)
            xfile = tmp / f"x_{n}.bin"
            x.tofile(xfile)
            data[n] = (x, y, xfile, x.ctypes.data % 4096, y.ctypes.data % 4096)

        def spec(alg: str, n: int, calls: int = 0) -> str:
            _, _, xfile, xo, yo = data[n]
            return f"{alg},{n},{xfile},{xo},{yo},{calls}"

        points = [(a, n) for n in SIZES for a in algs]
        log(f"{isa} kernels {', '.join(algs)} at N = {', '.join(map(str, SIZES))}; pinned to CPU {cpu}")

        # Calibration, once per method, each by the same rule.
        c_calls = {}
        for row in run_c(exe, "calibrate", ftz_daz, args.min_time, 0, 0, [spec(a, n) for a, n in points]):
            c_calls[(row[1], int(row[2]))] = int(row[3])
        sb_calls = {}
        for a, n in points:
            x, y = data[n][:2]
            sb_calls[(a, n)] = timer.calibrate(module.kernels[a], n, x, y, args.min_time)

        c_samples = {p: [] for p in points}
        sb_samples = {p: [] for p in points}
        c_sums: dict = {}
        order_rng = np.random.default_rng(args.seed + 1)
        warmup, per_round = 1, args.samples_per_round

        def c_round(order: dict[int, list[str]]) -> None:
            specs = [spec(a, n, c_calls[(a, n)]) for n in SIZES for a in order[n]]
            for row in run_c(exe, "run", ftz_daz, args.min_time, warmup, per_round, specs):
                key = (row[1], int(row[2]))
                c_sums[key] = float(row[4])
                c_samples[key] += [float(v) for v in row[5:]]

        def sb_round(order: dict[int, list[str]]) -> None:
            for n in SIZES:  # exactly measure_point's loop, on the Timer
                x, y = data[n][:2]
                for rep in range(warmup + per_round):
                    for a in order[n]:
                        t = timer.time(module.kernels[a], n, x, y, sb_calls[(a, n)])
                        if rep >= warmup:
                            sb_samples[(a, n)].append(t)

        t_start = time.perf_counter()
        for r in range(args.rounds):
            order = {}
            for n in SIZES:
                perm = list(algs)
                order_rng.shuffle(perm)
                order[n] = perm
            first_c = r % 2 == 0
            for method in ((c_round, sb_round) if first_c else (sb_round, c_round)):
                method(order)
            log(f"round {r + 1}/{args.rounds} done ({'C' if first_c else 'softbench'} first)")
        measure_s = time.perf_counter() - t_start

        # Output checks, after timing, for both methods.
        problems = []
        check_rng = np.random.default_rng(args.seed + 2)
        for a, n in points:
            x, y = data[n][:2]
            timer.time(module.kernels[a], n, x, y, 1)
            _, problem = reference_check(x, y, check_rng)
            if problem:
                problems.append(f"softbench path {a} n={n}: {problem}")
            if abs(c_sums.get((a, n), float("nan")) - 1.0) > 1e-4 or c_sums.get((a, n)) is None:
                problems.append(f"pure-C path {a} n={n}: outputs sum to {c_sums.get((a, n))}")

    rows = []
    for a, n in points:
        c_per = np.asarray(c_samples[(a, n)]) / c_calls[(a, n)]
        s_per = np.asarray(sb_samples[(a, n)]) / sb_calls[(a, n)]
        cs, ss = stats.summarize(c_per), stats.summarize(s_per)
        ratio = ss["median"] / cs["median"]
        rows.append({
            "algorithm": a, "isa": isa, "n": n,
            "c_median_ns_per_call": cs["median"], "softbench_median_ns_per_call": ss["median"],
            "ratio": ratio, "within_2pct": abs(ratio - 1.0) <= TARGET,
            "c_min_ns_per_call": cs["min"], "softbench_min_ns_per_call": ss["min"],
            "ratio_of_mins": ss["min"] / cs["min"],
            "c_rel_spread": cs["rel_spread"], "softbench_rel_spread": ss["rel_spread"],
            "c_calls_per_sample": c_calls[(a, n)], "softbench_calls_per_sample": sb_calls[(a, n)],
            "samples_each": int(cs["n"]),
            "c_samples_ns": c_samples[(a, n)], "softbench_samples_ns": sb_samples[(a, n)],
        })  # fmt: skip

    quick = None if args.skip_quick else quick_suite_wall_time()

    result = {
        "machine": {
            "cpu_model": cpu_info.get("model_name"), "arch": platform.machine(), "isa": isa,
            "logical_cpus": os.cpu_count(), "virtualized": virt, "pinned_cpu": cpu,
            "load_average_1min_before": load1, "ftz_daz": ftz_daz,
        },
        "kernel_build": {"softbench_module": module.build_info(), "pure_c_command": shlex.join(c_cmd)},
        "method": {
            "rounds": args.rounds, "samples_per_round": per_round, "warmup_per_round": warmup,
            "min_time_s": args.min_time, "seed": args.seed, "measure_wall_s": measure_s,
            "address_mod4096": {str(n): {"x": data[n][3], "y": data[n][4]} for n in SIZES},
        },
        "target": f"softbench / pure C within {TARGET:.0%}",
        "overhead": rows,
        "output_problems": problems,
        "quick_suite": quick,
    }  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 0


def print_table(res: dict) -> None:
    m = res["machine"]
    print(f"softbench harness overhead -- {m['cpu_model']} ({m['arch']}, {m['logical_cpus']} logical CPUs"
          f"{', virtualized' if m['virtualized'] is True else ''}), ISA {m['isa']}, pinned to CPU {m['pinned_cpu']}, "
          f"FTZ/DAZ {'on' if m['ftz_daz'] else 'off'}, 1-min load average before {m['load_average_1min_before']:.2f}")  # fmt: skip
    meth = res["method"]
    print(f"compiler: {res['kernel_build']['softbench_module']['compiler_version']}; "
          f"flags: {' '.join(res['kernel_build']['softbench_module']['flags'])} (pure C: same, minus -shared -fPIC)")  # fmt: skip
    print(f"{meth['rounds']} alternating rounds x {meth['samples_per_round']} samples (+1 warm-up) per method, "
          f">= {meth['min_time_s'] * 1e3:g} ms per sample; buffer addresses mod 4096 (x, y): "
          + ", ".join(f"N={n}: {a['x']},{a['y']}" for n, a in meth["address_mod4096"].items()))  # fmt: skip
    print()
    head = f"{'algorithm':<22}{'N':>7}  {'pure C ns/call':>15}  {'softbench ns/call':>18}  {'ratio':>7}  {'within 2%':>9}  {'spread C/sb':>12}  {'min ratio':>9}"
    print(head)
    print("-" * len(head))
    for r in res["overhead"]:
        print(f"{r['algorithm']:<22}{r['n']:>7}  {r['c_median_ns_per_call']:>15.1f}  {r['softbench_median_ns_per_call']:>18.1f}  "
              f"{r['ratio']:>7.4f}  {'yes' if r['within_2pct'] else 'NO':>9}  "
              f"{r['c_rel_spread']:>5.1%}/{r['softbench_rel_spread']:<5.1%}  {r['ratio_of_mins']:>9.4f}")  # fmt: skip
    inside = sum(r["within_2pct"] for r in res["overhead"])
    print(f"\n{inside} of {len(res['overhead'])} points within 2% (ratio = softbench median / pure-C median; "
          f"spread = IQR / median of the samples; min ratio = softbench min / pure-C min)")  # fmt: skip
    noisy = [r for r in res["overhead"] if max(r["c_rel_spread"], r["softbench_rel_spread"]) > NOISY]
    if noisy:
        print(f"warning: {len(noisy)} of {len(res['overhead'])} points have a sample spread above {NOISY:.0%}: other load on the "
              "machine; their ratios say little (compare the min ratio, or run again on an idle machine)")  # fmt: skip
    for p in res["output_problems"]:
        print(f"OUTPUT PROBLEM: {p}")
    q = res["quick_suite"]
    if q is None:
        print("quick suite: skipped (--skip-quick)")
    else:
        extra = f", {q['points']} points over {q['sizes']} sizes" if "points" in q else ""
        status = "ok" if q["returncode"] == 0 else f"FAILED (exit {q['returncode']})"
        print(f"quick suite wall time: {q['wall_s']:.1f} s  ({q['command'].split(' --output')[0]}, {status}{extra})")
        if q["returncode"] != 0:
            print(q.get("stderr_tail", ""))


if __name__ == "__main__":
    sys.exit(main())
