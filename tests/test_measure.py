"""The sweep's parts (regimes, calibration, output checks) and `softbench run` end to end."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from softbench.bench import baselines, measure
from softbench.bridge import build
from softbench.host import caches
from softbench.results import files as results
from softbench.results import schema

LEVELS = [("L1", 32 * 1024), ("L2", 512 * 1024), ("L3", 32 * 1024 * 1024)]


@pytest.mark.parametrize(
    "n,expected",
    [
        (1024, "L1"),  # 8 KiB working set
        (4096, "L1"),  # 32 KiB: exactly L1
        (4097, "L2"),
        (65536, "L2"),  # 512 KiB
        (65537, "L3"),
        (4 * 1024 * 1024, "L3"),  # 32 MiB working set
        (4 * 1024 * 1024 + 1, "transition"),  # beyond the LLC, input < 4x LLC
        (32 * 1024 * 1024 - 1, "transition"),
        (32 * 1024 * 1024, "DRAM"),  # input alone = 4 x 32 MiB: the STREAM rule
    ],
)
def test_regime_by_working_set_and_stream_rule(n, expected):
    assert caches.regime(n, LEVELS) == expected


def test_regime_unknown_without_caches():
    assert caches.regime(1000, []) == "unknown"


def test_cache_levels_from_probe():
    probed = [
        {"level": 1, "type": "Data", "size_bytes": 32768},
        {"level": 1, "type": "Instruction", "size_bytes": 32768},
        {"level": 2, "type": "Unified", "size_bytes": 524288},
        {"level": 3, "type": "Unified", "size_bytes": "unknown"},
    ]
    assert caches.cache_levels(probed) == [("L1", 32768), ("L2", 524288)]
    assert caches.cache_levels("unknown") == []


def _buffers(n):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    return x, np.empty_like(x)


def test_calibration_reaches_min_time():
    timer = measure.Timer(build.load("scalar"))
    fn = build.load("scalar").kernels["three-pass-reload"]
    x, y = _buffers(256)
    calls = timer.calibrate(fn, 256, x, y, 0.005)
    assert calls > 1
    assert timer.time(fn, 256, x, y, calls) >= 0.005e9 * 0.8  # noise margin on a shared VM


def test_reference_check_accepts_right_and_rejects_wrong_outputs():
    import softbench

    rng = np.random.default_rng(1)
    x = rng.standard_normal(5000).astype(np.float32)
    y = softbench.softmax(x)
    err, problem = measure.reference_check(x, y, rng)
    assert problem == "" and 0 < err < 1e-5
    bad = y.copy()
    bad[17] *= 1.001
    err, problem = measure.reference_check(x, bad, rng)
    assert "relative error" in problem and err > 1e-4
    err, problem = measure.reference_check(x, y * 1.01, rng)
    assert problem


def test_a_wrong_kernel_gets_no_figure():
    mod = build.load("scalar")
    wrong = mod.lib.sb_exp_nonpos_array__scalar  # exp without normalisation: wrong softmax
    right = mod.kernels["two-pass"]
    timer = measure.Timer(build.load("scalar"))
    point = measure.measure_point(
        8192,
        [("two-pass", "scalar", None, right, mod.twins["two-pass"], None), ("online", "scalar", None, wrong, mod.twins["online"], None)],
        [],
        timer,
        repetitions=5, warmup=1, min_time=0.001, rng=np.random.default_rng(0), levels=LEVELS, cpu=None,
    )  # fmt: skip
    assert [r["algorithm"] for r in point.records] == ["two-pass"]
    assert point.failures and point.failures[0][0] == "online/scalar" and "wrong output" in point.failures[0][1]
    rec = point.records[0]
    assert len(rec["samples_ns"]) == 5 and len(rec["twin_samples_ns"]) == 5
    assert rec["regime"] == "L2" and rec["roofline_efficiency"] > 0
    assert rec["gbps_effective"] == pytest.approx(8 / rec["ns_per_element"])
    assert rec["gbps_actual"] == pytest.approx(12 / rec["ns_per_element"])
    schema.record_from_dict(rec)  # a valid record


def sb(*args, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True, env=e, timeout=timeout)


def test_run_end_to_end(tmp_path):
    out = tmp_path / "r.json"
    p = sb("run", "--sizes", "1Ki,8Ki", "--min-time", "0.001", "-a", "two-pass,three-pass-reload", "-i", "scalar", "-o", str(out), "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["complete"] and data["file"] == str(out)
    doc = results.load(out)
    assert doc.complete and doc.in_progress is None
    assert sorted((r.algorithm, r.n) for r in doc.results) == [
        ("three-pass-reload", 1024), ("three-pass-reload", 8192), ("two-pass", 1024), ("two-pass", 8192)
    ]
    for r in doc.results:
        assert r.isa == "scalar" and r.threads == 1 and len(r.samples_ns) == 5
        assert r.twin_ns_per_element and 0 < r.roofline_efficiency
        assert r.max_rel_error < 1e-5
    assert {b["kernel"] for b in doc.bandwidth} == {"read", "write", "copy", "scale"}
    # --json prints the records the run built, and they are the ones in the file
    key = lambda r: (r["algorithm"], r["n"])  # noqa: E731
    assert sorted(data["results"], key=key) == sorted((r.to_dict() for r in doc.results), key=key)
    ctx = doc.context
    for key in ("cpu", "caches", "compiler", "isas", "suite", "command_line", "created", "hostname", "ftz_daz"):
        assert key in ctx
    assert ctx["suite"]["name"] == "quick" and ctx["compiler"]["per_isa"]["scalar"]["flags"]


def test_run_human_summary(tmp_path):
    p = sb("run", "--sizes", "2Ki", "--min-time", "0.001", "-a", "online", "-i", "scalar", "-o", str(tmp_path / "h.json"))
    assert p.returncode == 0, p.stderr
    assert "online" in p.stdout and "roofline eff" in p.stdout and f"results: {tmp_path / 'h.json'}" in p.stdout
    assert "suite quick" in p.stderr  # the plan goes to stderr with the progress


def test_run_refuses_an_existing_output(tmp_path):
    out = tmp_path / "x.json"
    out.write_text("{}")
    p = sb("run", "--sizes", "1Ki", "-i", "scalar", "-a", "online", "-o", str(out))
    assert p.returncode == 2 and "already exists" in p.stderr and out.read_text() == "{}"


def test_size_that_cannot_fit_is_refused_before_anything_runs(tmp_path):
    p = sb("run", "--sizes", "1e13", "-o", str(tmp_path / "big.json"))
    assert p.returncode == 2
    assert "bytes" in p.stderr and "available" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "big.json").exists()


@pytest.mark.parametrize(
    "args,words",
    [
        (["--algorithms", "four-pass"], "four-pass"),
        (["--isa", "avx1024"], "avx1024"),
        (["--sizes", "12.5"], "12.5"),
        (["--repetitions", "2"], "repetitions"),
        (["--suite", "nonexistent-suite"], "nonexistent-suite"),
    ],
)
def test_bad_run_options_are_one_line(args, words, tmp_path):
    p = sb("run", *args, "-o", str(tmp_path / "o.json"))
    assert p.returncode == 2, p.stderr
    assert words in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_malformed_suite_names_file_and_key(tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text('sizes = [1024]\nrepetitions = "three"\n')
    p = sb("run", "--suite", str(suite), "-o", str(tmp_path / "o.json"))
    assert p.returncode == 2 and "bad.toml" in p.stderr and "repetitions" in p.stderr


def test_interrupted_run_keeps_finished_points(tmp_path, monkeypatch):
    from softbench.bench import runner
    from softbench.errors import SoftbenchError

    real = measure.measure_point
    calls = []

    def stop_on_second(n, *a, **k):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(n, *a, **k)

    monkeypatch.setattr(measure, "measure_point", stop_on_second)
    plan = runner.make_plan("quick", algorithms="online", isas="scalar", sizes="1Ki,2Ki,4Ki", min_time=0.001)
    out = tmp_path / "i.json"
    with pytest.raises(SoftbenchError, match="interrupted: 1 points saved") as e:
        runner.run(plan, out)
    assert e.value.exit_code == 130
    doc = results.load(out)
    assert not doc.complete and [r.n for r in doc.results] == [1024]
    assert any("interrupted" in w for w in doc.warnings)


CRASH = textwrap.dedent(
    """
    import ctypes, sys
    from softbench.bridge import build
    from softbench.bench import runner, verify
    mod = build.load("scalar")
    real = mod.kernels["online"]

    @mod.ffi.callback("void(size_t, const float *, float *)")
    def crashing(n, x, y):
        if n > 1_500_000:  # past verify's sizes: crash while measuring, not while verifying
            ctypes.string_at(0)  # a segfault inside the kernel call
        real(n, x, y)

    mod.kernels["online"] = crashing
    plan = runner.make_plan("quick", algorithms="online", isas="scalar", sizes="1Ki,2Mi", min_time=0.001)
    runner.run(plan, __import__("pathlib").Path(sys.argv[1]))
    """
)


def test_crash_inside_a_kernel_leaves_a_valid_file_naming_it(tmp_path):
    out = tmp_path / "c.json"
    p = subprocess.run([sys.executable, "-c", CRASH, str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0  # killed by the signal
    doc = results.load(out)
    assert not doc.complete
    assert [r.n for r in doc.results] == [1024]
    assert doc.in_progress and "online/scalar" in doc.in_progress and "2097152" in doc.in_progress


def test_run_measures_library_baselines_beside_kernels(tmp_path):
    out = tmp_path / "b.json"
    p = sb("run", "--sizes", "2Ki", "--min-time", "0.001", "-a", "two-pass", "-i", "scalar",
           "--baselines", "numpy,torch", "-o", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = results.load(out)
    by_alg = {r.algorithm: r for r in doc.results}
    assert by_alg["numpy"].isa == "library" and by_alg["numpy"].roofline_efficiency is None
    assert by_alg["numpy"].max_rel_error < 1e-5
    raw = json.loads(out.read_text())["results"]
    numpy_rec = next(r for r in raw if r["algorithm"] == "numpy")
    assert numpy_rec["baseline"].startswith("numpy ")  # the library version that was measured
    try:
        import torch  # noqa: F401  (only whether it imports)
    except ImportError:
        assert any("baseline torch skipped" in w for w in doc.warnings)
    else:
        assert "torch" in by_alg


def test_run_measures_xnnpacks_operator_beside_kernels(tmp_path):
    ok, why = baselines.BASELINES["xnnpack"].probe()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI is set: .ci/run must install it)")
        pytest.skip(why)
    out = tmp_path / "x.json"
    p = sb("run", "--sizes", "2Ki,40000", "--min-time", "0.001", "-a", "three-pass-reload", "-i", "scalar",
           "--baselines", "xnnpack", "-o", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    raw = json.loads(out.read_text())["results"]
    xnn = [r for r in raw if r["algorithm"] == "xnnpack"]
    assert [r["n"] for r in xnn] == [2048, 40000]
    for r in xnn:
        assert r["isa"] == "library" and r["baseline"].startswith("xnnpack ")
        assert 0 < r["max_rel_error"] < 5e-5 and r["ns_per_element"] > 0


def test_unknown_baseline_is_one_line(tmp_path):
    p = sb("run", "--baselines", "tensorflow", "-o", str(tmp_path / "x.json"))
    assert p.returncode == 2 and "tensorflow" in p.stderr and "Traceback" not in p.stderr


def test_reference_check_sees_a_broken_tail_of_a_huge_row():
    """Past 2^20 elements the check samples, but always covers the first and last 1,024: a kernel
    that got only its tail wrong must not get a figure."""
    import softbench

    rng = np.random.default_rng(7)
    x = rng.standard_normal((1 << 20) + 5).astype(np.float32)
    y = softbench.softmax(x)
    assert measure.reference_check(x, y, rng)[1] == ""
    y[-3] *= 1.01
    assert "relative error" in measure.reference_check(x, y, rng)[1]


@pytest.mark.parametrize("alg", ["three-pass-recompute", "three-pass-reload", "two-pass", "online"])
def test_twins_do_their_passes_work(alg):
    """A twin is the memory floor only if it moves what its kernel moves: every twin reads all of x
    and writes every y, as y = c * x for one constant c (its trivial arithmetic). A twin that
    skipped a pass or a store would be faster and inflate every efficiency figure."""
    from softbench.host import isa

    mod = build.load(isa.best())
    for variant in (None, "temporal", "nt"):
        twin = mod.variants[(alg, variant)][1] if variant else mod.twins[alg]
        x = (np.random.default_rng(3).random(10_003) + 1.0).astype(np.float32)
        y = np.full_like(x, np.nan)
        twin(x.size, mod.ffi.cast("const float *", x.ctypes.data), mod.ffi.cast("float *", y.ctypes.data))
        ratio = y / x
        assert np.all(np.isfinite(ratio)) and 0 < ratio[0] < 1
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
