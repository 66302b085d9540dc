"""benchmarks/targets.py: each goal of issue #12 computed from records as the issue defines it, a
goal met only when every run meets it, and the out-of-cache size chosen (and explained) by the
memory it needs. Records are made by hand here: no timing, only the arithmetic of the table."""

import importlib.util
from pathlib import Path

import pytest

from softbench.bench import sizes, suites
from softbench.results import files as results
from softbench.results import schema

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "targets.py"
_spec = importlib.util.spec_from_file_location("targets", _PATH)
targets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(targets)

OUT_N = 1 << 24
ALGS = ("three-pass-recompute", "three-pass-reload", "two-pass", "online")


def rec(alg, isa, n, ns, *, twin=None, threads=1, regime=None, err=2e-6):
    twin = ns if twin is None else twin
    return schema.Record(
        algorithm=alg, isa=isa, n=n, threads=threads,
        regime=regime or ("L1" if n <= 4096 else "L2" if n <= 1 << 18 else "DRAM"),
        bytes_per_element={"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16},
        samples_ns=[ns * n] * 5, calls_per_sample=1, ns_per_element=ns, min_ns_per_element=ns,
        gbps_effective=8 / ns, gbps_actual=12 / ns,
        roofline_efficiency=None if alg == "xnnpack" else twin / ns, max_rel_error=err,
        twin_ns_per_element=twin, shape=[1, n] if threads > 1 else None,
    )  # fmt: skip


def one_run(two_pass_out=0.50, reload_l1=0.30, xnn_l1=0.40):
    rs = []
    for isa in ("avx2", "avx512f"):
        # in cache: reload 0.30, two-pass 0.42 (1.40x), the others 0.50; out of cache: see below
        for n in (1024, 4096, 1 << 16):
            rs += [rec("three-pass-reload", isa, n, reload_l1), rec("two-pass", isa, n, 0.42),
                   rec("three-pass-recompute", isa, n, 0.50), rec("online", isa, n, 0.50)]  # fmt: skip
        # out of cache: twin 0.45 for every algorithm; recompute 0.70 is the faster three-pass
        rs += [rec("three-pass-recompute", isa, OUT_N, 0.70, twin=0.45), rec("three-pass-reload", isa, OUT_N, 0.80, twin=0.45),
               rec("two-pass", isa, OUT_N, two_pass_out, twin=0.45), rec("online", isa, OUT_N, 0.60, twin=0.45)]  # fmt: skip
        rs += [rec(a, isa, OUT_N, 0.5, twin=0.46, threads=2) for a in ALGS]
    rs += [rec("xnnpack", "library", n, xnn_l1 if n <= 4096 else 0.9) for n in (1024, 4096, 1 << 16, OUT_N)]
    return rs


def test_each_goal_is_the_ratio_the_issue_defines():
    g = targets.goals_of_run(one_run(), OUT_N)
    # 1. XNNPACK / ours per regime: L1 0.40 / 0.30, out of cache 0.9 / 0.5
    v, ok, note = g[("1", "three-pass-reload/avx2|L1")]
    assert v == pytest.approx(0.40 / 0.30) and ok and note == "1Ki..4Ki"
    v, ok, _ = g[("1", "online/avx512f|L1")]
    assert v == pytest.approx(0.8) and not ok
    assert g[("1", "two-pass/avx2|out of cache")][0] == pytest.approx(0.9 / 0.5)
    # 2. efficiency out of cache, 1 thread: 0.45 / 0.50 = 0.90 is met, 0.45 / 0.60 is not
    assert g[("2", "two-pass/avx2")][:2] == (pytest.approx(0.9), True)
    assert g[("2", "online/avx2")][:2] == (pytest.approx(0.75), False)
    # 3. two-pass over the faster three-pass (recompute, 0.70): 1.40, against 1.18 and 1.28
    v, ok, note = g[("3", "avx2")]
    assert v == pytest.approx(1.4) and ok and note == "vs three-pass-recompute"
    assert g[("3", "avx512f")][1]
    # 4. all threads: the same-thread twin, 0.46 / 0.50
    assert g[("4", "online/avx2, 2 threads")][:2] == (pytest.approx(0.92), True)
    # 5. in cache: two-pass / reloading = 1.40 in L1 and L2
    assert g[("5", "avx2 L1")][:2] == (pytest.approx(1.4), True)
    assert ("5", "avx2 L2") in g
    # 6. accuracy
    assert g[("6", "avx512f")][1]


def test_goals_that_fall_short_say_so():
    g = targets.goals_of_run(one_run(two_pass_out=0.60, reload_l1=0.25), OUT_N)
    assert not g[("3", "avx512f")][1]  # 0.70 / 0.60 = 1.17 < 1.28
    assert not g[("3", "avx2")][1]  # and < 1.18
    assert g[("5", "avx2 L1")][:2] == (pytest.approx(0.42 / 0.25), False)


def test_a_goal_is_met_only_when_every_run_meets_it(tmp_path):
    paths = []
    for i, two in enumerate((0.50, 0.60)):  # run 2: two-pass too slow out of cache
        p = tmp_path / f"run{i}.json"
        with results.ResultWriter(p, {"caches": [{"level": 3, "type": "Unified", "size_bytes": 1 << 22}]}) as w:
            w.extend([r.to_dict() for r in one_run(two_pass_out=two)], [])
        paths.append(p)
    t = targets.table(paths)
    row = next(r for r in t["rows"] if r["goal"] == "3" and r["where"] == "avx2")
    assert row["values"] == [pytest.approx(1.4), pytest.approx(0.7 / 0.6)] and not row["met"]
    row = next(r for r in t["rows"] if r["goal"] == "5" and r["where"] == "avx2 L1")
    assert row["met"] and row["runs"] == 2
    assert t["out_of_cache_n"] == OUT_N and "input 64 MiB = 16.0x the LLC (regime DRAM)" in t["out_of_cache_note"]
    assert targets._fmt(row["values"]) == "1.40"
    assert targets._fmt([1.17, 1.4]) == "1.17-1.40"


def test_the_out_of_cache_size_follows_the_4x_rule_or_says_why_not():
    llc = 32 << 20
    size, n, why = targets.out_of_cache_size(llc, 64 << 30, 1 << 30)
    assert n == 32 << 20 and size == str(n) and "input 128 MiB = 4x the 32 MiB LLC" in why
    llc = 480 << 20  # 4x = 1.9 GiB per buffer: more than --max-buffer 0.25 GiB
    size, n, why = targets.out_of_cache_size(llc, 10 << 30, 1 << 28)
    assert n == 64 << 20 and "short of the 4x rule" in why and "1.88 GiB per buffer" in why
    assert "input 256 MiB = 0.53x the 480 MiB LLC" in why
    # and never more than the memory available
    size, n, why = targets.out_of_cache_size(llc, 1 << 30, 1 << 30)
    assert sizes.bytes_needed(n) <= 1 << 30 and sizes.bytes_needed(2 * n) > 1 << 30


def test_the_suite_replaces_only_its_llc_multiples():
    sizes = targets.run_sizes("67108864").split(",")
    assert sizes[-1] == "67108864" and "1024" in sizes and not any("LLC" in s for s in sizes)
    suite = suites.load_suite("targets")
    assert set(suite.isas) == {"avx2", "avx512f"} and "all" in suite.threads
