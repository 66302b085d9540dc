"""Library baselines (softbench/baselines.py): each available one computes a correct softmax into
the caller's buffer, is timed by a calibrated loop, and a missing one is skipped with a reason.

torch and onnxruntime come with the `baselines` extra, which CI does not install: their tests skip
then, and the tests of the skip path itself make the import fail on purpose, so they always run.
XNNPACK is a shared library from the OS (libxnnpack0), which .ci/run installs: its tests skip
without it locally, but fail when CI is set.
"""

import os
import sys
import time

import numpy as np
import pytest

from softbench.bench import baseline_xnnpack, baselines
from softbench.errors import InputError
from softbench.bench.verify import max_rel_error, reference

NAMES = list(baselines.BASELINES)
# Max relative error allowed at n <= 4097 (measured here: <= 2.4e-6 for all five). torch,
# onnxruntime and XNNPACK sum in float32 lanes, and their error grows with n (1e-5 at 64Ki, 4e-4
# at 1Mi, 1e-2 at 64Mi): the harness records it as measured; only small n is held to a bound here.
TOLERANCE = {"numpy": 1e-5, "scipy": 1e-5, "torch": 5e-5, "onnxruntime": 5e-5, "xnnpack": 5e-5}
IN_CI = bool(os.environ.get("CI"))
CI_INSTALLS = {"xnnpack"}  # .ci/run installs these: missing in CI is a failure, not a skip


def _require(name):
    ok, text = baselines.BASELINES[name].probe()
    if not ok:
        if IN_CI and name in CI_INSTALLS:
            pytest.fail(f"{text} (CI is set: .ci/run must install it)")
        pytest.skip(text)
    return text


def _x(n, seed=0):
    return (np.random.default_rng(seed).standard_normal(n) * 4).astype(np.float32)


def test_the_table():
    assert NAMES == ["numpy", "scipy", "torch", "onnxruntime", "xnnpack"]
    assert set(TOLERANCE) == set(NAMES)
    assert baselines.ISA == "library"


@pytest.mark.parametrize("name", NAMES)
def test_available_baseline_computes_softmax_into_y(name):
    version = _require(name)
    assert version.startswith(name + " ")  # library and its version come first
    for n in (1, 2, 7, 33, 1000, 4097):
        x = _x(n, seed=n)
        x_before = x.copy()
        y = np.full(n, np.nan, np.float32)
        run = baselines.BASELINES[name].prepare(n)
        assert run(x, y) is None  # writes into y, returns nothing
        assert np.array_equal(x, x_before), "the input was modified"
        err = max_rel_error(y, reference(x))
        assert err <= TOLERANCE[name], f"{name} n={n}: max relative error {err:.3g}"
        assert abs(float(y.sum(dtype=np.float64)) - 1.0) < 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_a_prepared_call_follows_new_buffers(name):
    """torch and onnxruntime bind the buffers on first use: a new pair must be rebound, and the
    old pair must still work afterwards."""
    _require(name)
    n = 513
    run = baselines.BASELINES[name].prepare(n)
    pairs = [(_x(n, seed=s), np.zeros(n, np.float32)) for s in (1, 2)]
    for x, y in pairs + pairs[::-1]:
        y[:] = 0
        run(x, y)
        assert max_rel_error(y, reference(x)) <= TOLERANCE[name]


@pytest.mark.parametrize("name", NAMES)
def test_timing_is_positive_and_calibration_reaches_min_time(name):
    _require(name)
    n = 1024
    x, y = _x(n), np.empty(n, np.float32)
    run = baselines.BASELINES[name].prepare(n)
    assert baselines.time_calls(run, x, y, 3) > 0
    calls = baselines.calibrate(run, x, y, 0.003)
    assert calls > 1
    assert baselines.time_calls(run, x, y, calls) >= 0.003e9 * 0.8  # noise margin on a shared VM
    assert max_rel_error(y, reference(x)) <= TOLERANCE[name]  # still right after timing


def test_calibrate_follows_the_timer_rule():
    """At least min_time per sample; one call when a single call already lasts that long."""
    calls = []

    def one_ms(x, y):
        calls.append(1)
        time.sleep(0.001)

    assert baselines.calibrate(one_ms, None, None, 0.005) >= 5

    def slow(x, y):
        time.sleep(0.012)

    assert baselines.calibrate(slow, None, None, 0.01) == 1
    t = baselines.time_calls(slow, None, None, 2)
    assert 0.024e9 <= t < 1e9


@pytest.mark.parametrize(
    "name,blocked,hint",
    [
        ("torch", "torch", "softbench[baselines]"),
        ("onnxruntime", "onnxruntime", "softbench[baselines]"),
        ("scipy", "scipy.special", "pip install scipy"),
    ],
)
def test_a_missing_library_is_skipped_with_a_reason(monkeypatch, name, blocked, hint):
    monkeypatch.setitem(sys.modules, blocked, None)  # `import blocked` now raises ImportError
    monkeypatch.setattr(baselines, "_ORT_SESSION", [])  # no cached session from another test
    ok, reason = baselines.BASELINES[name].probe()
    assert not ok
    assert reason.startswith(f"{name} is not installed") and hint in reason
    assert baselines.skipped_baselines([name]) == {name: reason}
    assert baselines.available_baselines([name]) == []
    # the others are unaffected
    assert "numpy" in dict(baselines.available_baselines(["numpy", name]))


def test_a_missing_shared_library_is_skipped_with_what_to_install(monkeypatch):
    monkeypatch.setattr(baseline_xnnpack, "XNNPACK_LIBRARIES", ("libXNNPACK-not-here.so.0",))
    monkeypatch.setattr(baseline_xnnpack, "_XNN", [])  # not the library another test loaded
    ok, reason = baselines.BASELINES["xnnpack"].probe()
    assert not ok
    assert reason == f"xnnpack is not installed: {baselines.XNNPACK_INSTALL}"
    assert "apt-get install libxnnpack0" in reason
    assert baselines.skipped_baselines(["xnnpack"]) == {"xnnpack": reason}
    assert "numpy" in dict(baselines.available_baselines(["numpy", "xnnpack"]))


def test_xnnpack_says_which_package_and_library_it_measured(monkeypatch, tmp_path):
    version = _require("xnnpack")
    assert "xnn_create_softmax_nc_f32" in version and "no thread pool" in version
    # the version comes from the package's changelog; elsewhere it says it is not known
    monkeypatch.setattr(baseline_xnnpack, "XNNPACK_CHANGELOG", str(tmp_path / "missing.gz"))
    ok, version = baselines.BASELINES["xnnpack"].probe()
    assert ok and version.startswith("xnnpack version unknown (libXNNPACK.so")


def test_xnnpack_reports_a_failing_call_instead_of_returning_garbage(monkeypatch):
    _require("xnnpack")
    ffi, lib, soname = baseline_xnnpack._xnn()

    class Refusing:  # the library's functions, with setup answering "invalid parameter"
        def __getattr__(self, name):
            return getattr(lib, name)

        @staticmethod
        def xnn_setup_softmax_nc_f32(*args):
            return lib.xnn_status_invalid_parameter

    monkeypatch.setattr(baseline_xnnpack, "_XNN", [(ffi, Refusing(), soname)])
    run = baselines.BASELINES["xnnpack"].prepare(8)
    with pytest.raises(RuntimeError, match="xnn_setup_softmax_nc_f32 returned xnn_status_invalid_parameter"):
        run(np.zeros(8, np.float32), np.zeros(8, np.float32))


def test_a_broken_library_or_missing_dependency_is_skipped_with_a_reason(monkeypatch):
    real = baselines._import

    def failing(module):
        if module == "torch":
            raise OSError("libtorch_cpu.so: cannot open shared object file")
        if module == "onnxruntime":
            raise ModuleNotFoundError("No module named 'flatbuffers'", name="flatbuffers")
        return real(module)

    monkeypatch.setattr(baselines, "_import", failing)
    monkeypatch.setattr(baselines, "_ORT_SESSION", [])
    skipped = baselines.skipped_baselines()
    assert skipped["torch"] == "torch cannot be used here: OSError: libtorch_cpu.so: cannot open shared object file"
    assert skipped["onnxruntime"] == "onnxruntime cannot be imported: it needs flatbuffers, which is not installed"
    assert "numpy" not in skipped and "scipy" not in skipped


def test_a_library_computing_a_wrong_softmax_is_not_available():
    b = baselines.BASELINES["numpy"]

    def wrong(n):
        def run(x, y):
            y[:] = 1.0 / n

        return run

    ok, reason = baselines.Baseline("numpy", b.call, b.install, b._probe, wrong).probe()
    assert not ok and "wrong softmax" in reason


def test_onnxruntime_without_onnx_uses_the_hand_encoded_model(monkeypatch):
    _require("onnxruntime")
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setattr(baselines, "_ORT_SESSION", [])
    ok, version = baselines.BASELINES["onnxruntime"].probe()
    assert ok and "hand-encoded model" in version
    x, y = _x(1000), np.zeros(1000, np.float32)
    baselines.BASELINES["onnxruntime"].prepare(1000)(x, y)
    assert max_rel_error(y, reference(x)) <= TOLERANCE["onnxruntime"]


def test_the_hand_encoded_model_is_the_one_onnx_builds():
    pytest.importorskip("onnx")
    assert baselines.softmax_model_bytes_raw() == baselines.softmax_model_bytes_onnx()


@pytest.mark.parametrize(
    "call",
    [
        lambda: baselines.available_baselines(["numpy", "tensorflow"]),
        lambda: baselines.skipped_baselines("numpy,jax"),
        lambda: baselines.probe_all(["mkl"]),
        lambda: baselines.baseline("cupy"),
    ],
)
def test_an_unknown_name_raises_input_error_listing_the_valid_ones(call):
    with pytest.raises(InputError) as e:
        call()
    assert "numpy, scipy, torch, onnxruntime" in str(e.value)


def test_names_select_and_keep_order():
    names = [n for n, _ in baselines.available_baselines("scipy, numpy")]
    assert names == ["scipy", "numpy"]
    assert baselines.baseline("numpy") is baselines.BASELINES["numpy"]
    every = set(dict(baselines.available_baselines())) | set(baselines.skipped_baselines())
    assert every == set(NAMES)


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_prepare_refuses_a_bad_size(n):
    with pytest.raises(InputError, match="n must be an integer >= 1"):
        baselines.BASELINES["numpy"].prepare(n)
