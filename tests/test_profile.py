"""softbench profile: the per-pass machinery, the breakdown and its checks, recording in a result
file, and the CLI (JSON, human text, bad input as one line)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from softbench.bridge import build
from softbench.host import isa
from softbench.bench import sizes
from softbench.bench import profile
from softbench.bench import passes
from softbench.results import files as results
from softbench.errors import InputError
from softbench.catalog import algorithms

ALGS = list(algorithms())
BEST = isa.best()


def sb(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True, env=e, timeout=600)


@pytest.mark.parametrize("isa_name", isa.runnable())
@pytest.mark.parametrize("alg", ALGS)
def test_passes_in_order_reproduce_the_kernel_exactly(alg, isa_name):
    module = build.load(isa_name)
    ffi = module.ffi
    rng = np.random.default_rng(3)
    for n in (1, 7, 37, 1000, 4099):
        x = (rng.standard_normal(n) * 4).astype(np.float32)
        y_kernel, y_passes = np.zeros(n, np.float32), np.zeros(n, np.float32)
        module.kernels[alg](n, ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y_kernel.ctypes.data))
        prepared = passes.run_passes(module, alg, x, y_passes)
        np.testing.assert_array_equal(y_passes, y_kernel)
        assert [pp.p.name for pp in prepared] == [p.name for p in module.passes[alg]]
        # a pass that reads y starts from the y the previous pass left
        for pp in prepared:
            assert (pp.y_before is not None) == bool(pp.p.read_y)


def test_timing_one_pass_leaves_its_state_input_untouched():
    """sb_time_pass_calls copies the state before each call: the prepared state is unchanged."""
    module = build.load(BEST)
    x = (np.random.default_rng(0).standard_normal(5000) * 4).astype(np.float32)
    y = np.zeros_like(x)
    prepared = passes.run_passes(module, "three-pass-recompute", x, y)
    sumexp = prepared[1]
    before = (sumexp.call.state.max, sumexp.call.state.sum)
    timer = passes.PassTimer(build.load(build.HARNESS_ISA))
    assert timer.time(sumexp.call, x.size, x, y, 3) > 0
    assert (sumexp.call.state.max, sumexp.call.state.sum) == before
    assert sumexp.call.state.max == x.max()


@pytest.fixture(scope="module")
def small_profiles():
    # generous settings for a noisy 2-core box: the 10% figure is for real runs, not for tests
    return {alg: profile.profile_kernel(alg, BEST, 1 << 14, repetitions=5, min_time=0.002, counters=True, pin=False) for alg in ALGS}


@pytest.mark.parametrize("alg", ALGS)
def test_breakdown_explains_the_kernel_at_a_small_n(small_profiles, alg):
    p = small_profiles[alg]
    a = algorithms()[alg]
    assert p["algorithm"] == alg and p["isa"] == BEST and p["n"] == 1 << 14
    assert p["max_rel_error"] < 1e-5
    # the passes' bytes add up to the algorithm's traffic model
    assert sum(q["bytes_per_element"]["read_x"] for q in p["passes"]) == a.read_x
    assert sum(q["bytes_per_element"]["read_y"] for q in p["passes"]) == a.read_y
    assert sum(q["bytes_per_element"]["write_y"] for q in p["passes"]) == a.write_y
    assert sum(q["bytes_per_element"]["total"] for q in p["passes"]) == a.bytes_total == p["bytes_per_element"]["total"]
    assert len(p["passes"]) == a.passes
    s = p["sum_check"]
    assert s["sum_of_passes_ns"] == pytest.approx(sum(q["ns_per_call"] for q in p["passes"]))
    # how close the passes come to the whole kernel is a measurement (README, Profiles), not a
    # unit test: on a shared 2-core machine it swung from -60% to +140% under load. What must
    # hold is the arithmetic: the gap is the sum against the kernel, and "within" says so.
    assert s["kernel_ns"] == pytest.approx(p["kernel"]["ns_per_call"])
    assert s["difference_pct"] == pytest.approx((s["sum_of_passes_ns"] - s["kernel_ns"]) / s["kernel_ns"] * 100)
    assert s["within"] == (abs(s["difference_pct"]) <= 10)
    for q in p["passes"]:
        assert q["ns_per_element"] > 0 and q["twin_ns_per_element"] > 0 and q["l1_ns_per_element"] > 0
        assert q["gbps"] == pytest.approx(q["bytes_per_element"]["total"] / q["ns_per_element"])
        assert q["efficiency"] == pytest.approx(q["twin_ns_per_element"] / q["ns_per_element"])
        assert q["share"] == pytest.approx(q["ns_per_call"] / p["kernel"]["ns_per_call"])
        assert q["bound"] in ("memory-bound", "compute-bound")
        assert len(q["samples_ns"]) == 5 and len(q["twin_samples_ns"]) == 5
    f = p["compute_floor"]
    assert 8 * f["n"] <= f["l1d_bytes"] // 2 and f["ns_per_exp"] > 0
    assert f["exp_ns_per_element"] == pytest.approx(a.exps_per_element * f["ns_per_exp"])
    json.dumps(p, allow_nan=False)  # JSON-ready as it is


def test_counters_fall_back_to_one_line_and_an_estimate(small_profiles):
    c = small_profiles["two-pass"]["counters"]
    if c["available"]:  # a machine with a PMU: real counts
        assert c["kernel"]["cycles"] > 0 and 0.05 < c["kernel"]["ipc"] < 10
        assert set(c["passes"]) == {q["name"] for q in small_profiles["two-pass"]["passes"]}
    else:
        assert c["reason"] and "\n" not in c["reason"]
        est = c["estimated"]
        if est["clock_ghz"]:
            k = small_profiles["two-pass"]["kernel"]["ns_per_element"]
            assert est["kernel_cycles_per_element"] == pytest.approx(k * est["clock_ghz"])


def test_classify_and_sum_check():
    assert profile.classify(1.0, memory_floor=0.9, compute_floor=0.3) == ("memory-bound", pytest.approx(1 / 0.9))
    assert profile.classify(0.5, memory_floor=0.2, compute_floor=0.5)[0] == "compute-bound"
    s = profile.sum_check(105.0, 100.0)
    assert s["within"] and s["difference_pct"] == pytest.approx(5.0)
    assert not profile.sum_check(80.0, 100.0)["within"]
    assert "longer than its passes" in profile.sum_check(80.0, 100.0)["explanation"]
    assert "longer than inside the kernel" in profile.sum_check(120.0, 100.0)["explanation"]


def test_sizes_and_l1():
    assert profile.l1_elements(32 * 1024) == 2048
    assert profile.l1_elements(48 * 1024) == 2048  # largest power of two with 8N <= 24 KiB
    assert profile.l1_size("unknown")[0] == 32 * 1024
    assert sizes.resolve_size("2^26", None) == 1 << 26
    assert sizes.resolve_size("16Ki", None) == 16384
    assert sizes.resolve_size("4xLLC", 32 << 20) == 32 << 20
    with pytest.raises(InputError, match="last-level cache"):
        sizes.resolve_size("4xLLC", None)
    with pytest.raises(InputError, match="needs"):
        profile.check_memory(1 << 30, available=1 << 30)


def test_unknown_algorithm_and_isa_are_input_errors():
    with pytest.raises(InputError, match="unknown algorithm"):
        profile.profile_kernel("bogus", BEST, 1024)
    with pytest.raises(InputError, match="unknown ISA"):
        profile.profile_kernel("two-pass", "avx1024", 1024)


def test_profile_recorded_in_a_new_and_an_existing_result_file(tmp_path, small_profiles):
    p = small_profiles["online"]
    new = tmp_path / "new.json"
    assert "wrote" in profile.record(new, [p], [BEST])
    rf = results.load(new)
    assert rf.complete and rf.results == [] and len(rf.profiles) == 1 and rf.profiles[0]["algorithm"] == "online"
    # added to an existing file, everything else kept
    existing = tmp_path / "run.json"
    fixture = json.loads(open(os.path.join(os.path.dirname(__file__), "fixtures", "machine-a-run1.json")).read())
    existing.write_text(json.dumps(fixture))
    assert "added 1" in profile.record(existing, [p], [BEST])
    rf2 = results.load(existing)
    assert len(rf2.results) == len(fixture["results"]) and len(rf2.profiles) == 1
    assert json.loads(existing.read_text())["context"] == fixture["context"]


def test_result_writer_writes_profiles_only_when_present(tmp_path):
    w = results.ResultWriter(tmp_path / "a.json", {"hostname": "h"})
    w.close()
    assert "profiles" not in json.loads((tmp_path / "a.json").read_text())
    assert results.load(tmp_path / "a.json").profiles == []


def test_cli_profile_json_end_to_end(tmp_path):
    out = tmp_path / "prof.json"
    p = sb("profile", "-a", "three-pass-reload", "-i", "scalar", "-n", "4Ki", "-r", "3", "--min-time", "0.002", "--json", "-o", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    (prof,) = data["profiles"]
    assert prof["algorithm"] == "three-pass-reload" and prof["isa"] == "scalar" and prof["n"] == 4096
    assert [q["name"] for q in prof["passes"]] == ["max", "store-exp", "scale"]
    assert "counters" in prof and "Traceback" not in p.stderr
    assert results.load(out).profiles[0]["n"] == 4096


def test_cli_profile_human_text_says_why_no_counters():
    p = sb("profile", "-a", "two-pass", "-i", "scalar", "-n", "2Ki", "-r", "3", "--min-time", "0.002")
    assert p.returncode == 0, p.stderr
    assert "sum of passes =" in p.stdout and "vs whole kernel =" in p.stdout
    assert "compute floor:" in p.stdout
    counters = [ln for ln in p.stdout.splitlines() if ln.startswith("counters: ")]
    if counters:  # no PMU here: one line why, and the estimate labelled as such
        assert len(counters) == 1
        assert "ESTIMATED" in p.stdout or "cannot be estimated" in p.stdout
    else:
        assert "hardware counters (" in p.stdout
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize(
    "args,words",
    [
        (["-a", "bogus"], "unknown algorithm 'bogus'"),
        (["-i", "avx1024"], "unknown ISA 'avx1024'"),
        (["-n", "0"], "must be positive"),
        (["-n", "2^44"], "needs"),
        (["-n", "lots"], "is not a number of elements"),
    ],
)
def test_cli_profile_bad_input_is_one_line(args, words):
    p = sb("profile", *args)
    assert p.returncode != 0
    assert words in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_cli_profile_isa_not_on_host_is_one_line():
    missing = next((n for n, s in isa.host_status().items() if not s.runs), None)
    if missing is None:
        pytest.skip("this host runs every ISA")
    p = sb("profile", "-i", missing)
    assert p.returncode != 0 and "does not run on this host" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_past_the_llc_the_breakdown_is_of_the_non_temporal_kernel():
    """Past the LLC the size-selected kernel uses non-temporal stores: the passes timed are their
    non-temporal forms, and they reproduce that kernel's output."""
    module = build.load(BEST)
    if not getattr(module, "variants", None):
        pytest.skip("this build has no store variants")
    old = getattr(module.lib, f"sb_nt_min_bytes__{BEST}")
    build.set_nt_min_bytes(module, 4096)  # pretend the LLC is 4 KiB
    try:
        p = profile.profile_kernel("two-pass", BEST, 1 << 14, repetitions=3, min_time=0.002, counters=False, pin=False)
    finally:
        build.set_nt_min_bytes(module, old)
    assert p["kernel"]["stores"].startswith("non-temporal")
    assert [q["name"] for q in p["passes"]] == ["sum", "output"] and all(q["ns_per_element"] > 0 for q in p["passes"])
    small = profile.profile_kernel("two-pass", BEST, 1 << 10, repetitions=3, min_time=0.002, counters=False, pin=False)
    assert small["kernel"]["stores"] == "normal"
    # the non-temporal passes in order write exactly what the non-temporal kernel writes
    mod = build.load(BEST)
    x = np.random.default_rng(1).standard_normal(5000).astype(np.float32)
    y_passes, y_kernel = np.zeros_like(x), np.zeros_like(x)
    passes.run_passes(mod, "two-pass", x, y_passes, nt=True)
    mod.variants[("two-pass", "nt")][0](x.size, mod.ffi.cast("const float *", x.ctypes.data), mod.ffi.cast("float *", y_kernel.ctypes.data))
    np.testing.assert_array_equal(y_passes, y_kernel)
