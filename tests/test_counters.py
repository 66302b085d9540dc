"""Hardware counters (softbench.counters, native/perf_counters.c): the arithmetic and the
messages without a PMU, the C group machinery with software events, and real hardware counts
where the machine has a PMU (skipped elsewhere, e.g. in a VM without PMU passthrough)."""

import errno
import platform

import numpy as np
import pytest

from softbench.bridge import build
from softbench.host import counters, isa


def test_explain_failure_is_one_line_and_says_why():
    vm = counters.explain_failure(errno.ENOENT, "cycles", paranoid=2, pmu=False, virtualized=True)
    assert "ENOENT" in vm and "virtual machine" in vm and "no 'cpu'" in vm
    nopmu = counters.explain_failure(errno.EOPNOTSUPP, "cycles", paranoid=2, pmu=False, virtualized=False)
    assert "no CPU PMU" in nopmu
    denied = counters.explain_failure(errno.EACCES, "cycles", paranoid=3, pmu=True, virtualized=False)
    assert "EACCES" in denied and "perf_event_paranoid = 3" in denied and "sysctl" in denied
    assert "Linux" in counters.explain_failure(errno.ENOSYS, "cycles", paranoid=None, pmu=None, virtualized=None, system="Darwin")
    assert "busy" in counters.explain_failure(errno.EBUSY, "cycles", paranoid=1, pmu=True, virtualized=False)
    odd = counters.explain_failure(errno.E2BIG, "instructions", paranoid=1, pmu=True, virtualized=False)
    assert "instructions" in odd
    for line in (vm, nopmu, denied, odd):
        assert "\n" not in line


def test_derive_per_element_ipc_and_multiplexing():
    names = ["cycles", "instructions", "cache-references", "cache-misses", "L1-dcache-load-misses"]
    d = counters.derive(names, [4000, 6000, 200, 50, 100], time_enabled=1000, time_running=1000, calls=10, n=100, elapsed_ns=2000)
    assert d["cycles"] == 4000 and d["ipc"] == pytest.approx(1.5)
    assert d["cycles_per_element"] == pytest.approx(4.0) and d["instructions_per_element"] == pytest.approx(6.0)
    assert d["cache_miss_rate"] == pytest.approx(0.25) and d["cache_misses_per_element"] == pytest.approx(0.05)
    assert d["l1d_load_misses_per_element"] == pytest.approx(0.1)
    assert d["clock_ghz"] == pytest.approx(2.0) and d["multiplexed"] is False
    # the PMU ran the group half the time: counts scaled by 2, and said so
    m = counters.derive(["cycles", "instructions"], [1000, 500], time_enabled=2000, time_running=1000, calls=1, n=1000)
    assert m["cycles"] == 2000 and m["cycles_per_element"] == pytest.approx(2.0) and m["multiplexed"] and m["scale"] == 2.0
    assert m["ipc"] == pytest.approx(0.5)
    with pytest.raises(counters.CountersUnavailable, match="never ran"):
        counters.derive(["cycles"], [0], time_enabled=100, time_running=0, calls=1, n=1)


def test_nominal_clock_sources(tmp_path):
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    proc.mkdir()
    (proc / "cpuinfo").write_text("processor\t: 0\ncpu MHz\t\t: 2445.406\n")
    ghz, src = counters.nominal_clock(proc, sys_)
    assert ghz == pytest.approx(2.445406) and "cpuinfo" in src
    freq = sys_ / "devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "cpuinfo_max_freq").write_text("3500000\n")
    assert counters.nominal_clock(proc, sys_) == (pytest.approx(3.5), "cpufreq cpuinfo_max_freq")
    assert counters.nominal_clock(tmp_path / "none", tmp_path / "none")[0] is None


def _kernel_args(n=1 << 14):
    module = build.load(isa.best())
    ffi = module.ffi
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    y = np.zeros_like(x)
    return module.kernels["two-pass"], n, ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y.ctypes.data), (x, y)


@pytest.mark.skipif(platform.system() != "Linux", reason="perf_event_open is Linux-only")
def test_group_machinery_with_software_events():
    """open / enable / read / close through the C code, with events every Linux kernel has."""
    try:
        group = counters.open_group(counters.SOFTWARE_EVENTS)
    except counters.CountersUnavailable as exc:
        pytest.skip(f"software perf events unavailable here: {exc}")
    fn, n, xp, yp, keep = _kernel_args()
    with group:
        assert "task-clock" in group.opened
        t, d = group.time_calls(fn, n, xp, yp, 200, True)
        assert t > 0
        # task-clock counts ns of this thread on a CPU: about the loop's wall time
        assert 0.3 * t < d["task_clock"] < 1.5 * t + 1e6
        assert d["multiplexed"] is False
    group.close()  # closing twice is harmless


def test_hardware_counters_open_or_say_why_in_one_line():
    try:
        group = counters.open_group()
    except counters.CountersUnavailable as exc:
        line = str(exc)
        assert line and "\n" not in line and "counters" in line
        return
    fn, n, xp, yp, keep = _kernel_args()
    with group:
        t, d = group.time_calls(fn, n, xp, yp, 100, True)
    assert d["cycles"] > 0 and d["instructions"] > 0
    assert 0.05 < d["ipc"] < 10
    assert 0.1 < d["cycles_per_element"] < 1000
    assert 0.2 < d["clock_ghz"] < 8


def test_real_counts_when_a_pmu_is_there():
    try:
        counters.open_group().close()
    except counters.CountersUnavailable as exc:
        pytest.skip(f"no hardware counters on this machine: {exc}")
    from softbench.bench import profile

    p = profile.profile_kernel("three-pass-reload", isa.best(), 1 << 12, repetitions=3, min_time=0.002, pin=False)
    c = p["counters"]
    assert c["available"] and c["kernel"]["instructions_per_element"] > 0
    assert set(c["passes"]) == {"max", "store-exp", "scale"}
