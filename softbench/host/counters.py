"""Hardware counters for `softbench profile`: cycles, instructions, IPC and cache misses of a loop
of kernel calls, through Linux perf_event_open (native/perf_counters.c, in the harness module).

Where the counters cannot be opened (a VM without a PMU, perf_event_paranoid too strict, not
Linux), `open_group` raises CountersUnavailable with one line that says which and why, and the
profile estimates cycles from the timer and a nominal clock instead, labelled as an estimate.

The pure parts (`explain_failure`, `derive`, `nominal_clock`) are tested without a PMU; the C
group machinery is tested with software events, which every Linux kernel has.
"""

from __future__ import annotations

import errno as errno_mod
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from softbench.bridge import build
from softbench.host.machine import collect_virtualization

# perf_event_attr.type
PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_HW_CACHE = 3
# PERF_TYPE_HW_CACHE config: cache id | (op << 8) | (result << 16)
_L1D, _OP_READ, _RESULT_MISS = 0, 0, 1


@dataclass(frozen=True)
class Event:
    name: str
    type: int
    config: int
    optional: bool  # a counter the PMU may lack: skipped, not fatal


# cycles and instructions are what IPC and per-element figures need: without them there is no
# profile worth showing. The cache events are optional (not every PMU maps the generic ones).
HARDWARE_EVENTS: tuple[Event, ...] = (
    Event("cycles", PERF_TYPE_HARDWARE, 0, False),
    Event("instructions", PERF_TYPE_HARDWARE, 1, False),
    Event("cache-references", PERF_TYPE_HARDWARE, 2, True),
    Event("cache-misses", PERF_TYPE_HARDWARE, 3, True),
    Event("L1-dcache-load-misses", PERF_TYPE_HW_CACHE, _L1D | (_OP_READ << 8) | (_RESULT_MISS << 16), True),
)

# Software events every Linux kernel counts: used by the tests to exercise the group machinery
# (open, enable, read, close) on machines without a PMU.
SOFTWARE_EVENTS: tuple[Event, ...] = (
    Event("task-clock", PERF_TYPE_SOFTWARE, 1, False),
    Event("page-faults", PERF_TYPE_SOFTWARE, 2, True),
    Event("context-switches", PERF_TYPE_SOFTWARE, 3, True),
)

MAX_EVENTS = 8  # SB_PERF_MAX in native/perf_counters.h


class CountersUnavailable(Exception):
    """The counters cannot be used here; str() is one line saying why."""


def _errno_name(err: int) -> str:
    return errno_mod.errorcode.get(err, f"errno {err}")


def _read_paranoid(procfs_root: str | os.PathLike[str] = "/proc") -> int | None:
    try:
        return int((Path(procfs_root) / "sys/kernel/perf_event_paranoid").read_text().strip())
    except (OSError, ValueError):
        return None


def _pmu_present(sysfs_root: str | os.PathLike[str] = "/sys") -> bool | None:
    """Whether the kernel registered a CPU PMU (x86 "cpu", hybrid "cpu_core"/"cpu_atom", Arm
    "armv8_*"); None when sysfs does not say."""
    base = Path(sysfs_root) / "bus/event_source/devices"
    try:
        names = [p.name for p in base.iterdir()]
    except OSError:
        return None
    return any(n in ("cpu", "cpu_core", "cpu_atom") or n.startswith(("armv8", "armv7", "apple")) for n in names)


def explain_failure(err: int, event: str, *, paranoid: int | None, pmu: bool | None, virtualized: Any,
                    system: str = "Linux") -> str:
    """One line: why perf_event_open failed for `event` with errno `err`."""
    name = _errno_name(err)
    if err == errno_mod.ENOSYS or system != "Linux":
        return f"hardware counters need Linux perf_event_open, which this OS ({system}) does not have"
    if err in (errno_mod.ENOENT, errno_mod.EOPNOTSUPP, errno_mod.ENODEV):
        if virtualized is True:
            where = "this is a virtual machine whose hypervisor does not pass the PMU through"
        elif pmu is False:
            where = "the kernel registered no CPU PMU"
        else:
            where = "this CPU or kernel does not support that event"
        sysfs = " (/sys/bus/event_source/devices has no 'cpu')" if pmu is False else ""
        return f"hardware counters unavailable: perf_event_open({event}) failed with {name}: {where}{sysfs}"
    if err in (errno_mod.EACCES, errno_mod.EPERM):
        level = "unknown" if paranoid is None else str(paranoid)
        hint = ("counting one's own user-space code needs perf_event_paranoid <= 2 or CAP_PERFMON; "
                "try `sudo sysctl kernel.perf_event_paranoid=2`")  # fmt: skip
        return f"hardware counters refused: perf_event_open({event}) failed with {name} (kernel.perf_event_paranoid = {level}); {hint}"
    if err == errno_mod.EMFILE:
        return f"hardware counters unavailable: perf_event_open({event}) failed with {name}: too many open files"
    if err == errno_mod.EBUSY:
        return f"hardware counters busy: perf_event_open({event}) failed with {name}: another tool holds the PMU"
    if err == errno_mod.EINVAL:
        return f"hardware counters unavailable: the kernel rejected the {event} counter ({name}); it may not support this event"
    return f"hardware counters unavailable: perf_event_open({event}) failed with {name} ({os.strerror(err)})"


def derive(names: Sequence[str], values: Sequence[int], time_enabled: int, time_running: int,
           calls: int, n: int, elapsed_ns: float | None = None) -> dict[str, Any]:
    """Counter values of a loop of `calls` calls on `n` elements -> the profile's figures.

    Multiplexed counts (time_running < time_enabled) are scaled by enabled/running, and say so.
    Keys: the raw (scaled) count per event name, then ipc, cycles_per_element,
    instructions_per_element, cache_miss_rate, cache_misses_per_element,
    l1d_load_misses_per_element (each only when its events were counted), clock_ghz (cycles per
    ns of the timed loop), multiplexed and scale.
    """
    if time_running <= 0:
        raise CountersUnavailable(
            "hardware counters opened but never ran (time_running = 0): the PMU is held by another "
            "user (e.g. the NMI watchdog or another perf session)"
        )
    scale = time_enabled / time_running if time_enabled > time_running else 1.0
    counts = {name: float(v) * scale for name, v in zip(names, values)}
    elements = max(1, calls * n)
    out: dict[str, Any] = {k.replace("-", "_"): v for k, v in counts.items()}
    cyc, ins = counts.get("cycles"), counts.get("instructions")
    if cyc:
        out["cycles_per_element"] = cyc / elements
        if elapsed_ns:
            out["clock_ghz"] = cyc / elapsed_ns
    if ins is not None:
        out["instructions_per_element"] = ins / elements
    if cyc and ins is not None:
        out["ipc"] = ins / cyc
    refs, misses = counts.get("cache-references"), counts.get("cache-misses")
    if misses is not None:
        out["cache_misses_per_element"] = misses / elements
        if refs:
            out["cache_miss_rate"] = misses / refs
    l1 = counts.get("L1-dcache-load-misses")
    if l1 is not None:
        out["l1d_load_misses_per_element"] = l1 / elements
    out["multiplexed"] = scale != 1.0
    out["scale"] = scale
    return out


def nominal_clock(procfs_root: str | os.PathLike[str] = "/proc", sysfs_root: str | os.PathLike[str] = "/sys") -> tuple[float | None, str]:
    """(GHz, where it came from) for estimating cycles from the timer: the cpufreq maximum, else
    /proc/cpuinfo's "cpu MHz" (the clock the kernel calibrated; in a VM, the host's nominal one)."""
    khz = None
    try:
        khz = int((Path(sysfs_root) / "devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text().strip())
    except (OSError, ValueError):
        pass
    if khz:
        return khz / 1e6, "cpufreq cpuinfo_max_freq"
    try:
        for line in (Path(procfs_root) / "cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("cpu mhz", "clock"):
                mhz = float(value.strip().lower().removesuffix("mhz"))
                if mhz > 0:
                    return mhz / 1e3, "cpu MHz in /proc/cpuinfo"
    except (OSError, ValueError):
        pass
    return None, "no clock known (no cpufreq, no 'cpu MHz' in /proc/cpuinfo)"


class CounterGroup:
    """An open group of counters on the calling thread; use as a context manager."""

    def __init__(self, harness, events: Sequence[Event], group, opened: list[str]):
        self._h = harness
        self.events = list(events)
        self._g = group
        self.opened = opened  # names of the events actually counting

    def time_calls(self, fn, n: int, x_ptr, y_ptr, calls: int, ftz_daz: bool) -> tuple[float, dict[str, Any]]:
        t = float(self._h.lib.sb_perf_time_calls(self._g, fn, n, x_ptr, y_ptr, calls, int(ftz_daz)))
        return self._finish(t, calls, n)

    def time_pass_calls(self, fn, n: int, x_ptr, y_ptr, state, calls: int, ftz_daz: bool) -> tuple[float, dict[str, Any]]:
        t = float(self._h.lib.sb_perf_time_pass_calls(self._g, fn, n, x_ptr, y_ptr, state, calls, int(ftz_daz)))
        return self._finish(t, calls, n)

    def read_raw(self) -> tuple[list[int], int, int]:
        ffi = self._h.ffi
        values = ffi.new("uint64_t[]", MAX_EVENTS)
        te, tr = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        err = self._h.lib.sb_perf_read(self._g, values, te, tr)
        if err:
            raise CountersUnavailable(f"reading the counters failed with {_errno_name(err)} ({os.strerror(err)})")
        return [int(values[i]) for i in range(len(self.events))], int(te[0]), int(tr[0])

    def enable(self) -> None:
        err = self._h.lib.sb_perf_reset_enable(self._g)
        if err:
            raise CountersUnavailable(f"enabling the counters failed with {_errno_name(err)} ({os.strerror(err)})")

    def disable(self) -> None:
        self._h.lib.sb_perf_disable(self._g)

    def _finish(self, t: float, calls: int, n: int) -> tuple[float, dict[str, Any]]:
        if t < 0:
            err = int(-t)
            raise CountersUnavailable(f"enabling the counters failed with {_errno_name(err)} ({os.strerror(err)})")
        values, te, tr = self.read_raw()
        opened = set(self.opened)
        names = [e.name for e in self.events]
        pairs = [(nm, v) for nm, v in zip(names, values) if nm in opened]
        return t, derive([p[0] for p in pairs], [p[1] for p in pairs], te, tr, calls, n, elapsed_ns=t)

    def close(self) -> None:
        if self._g is not None:
            self._h.lib.sb_perf_close(self._g)
            self._g = None

    def __enter__(self) -> CounterGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_group(events: Sequence[Event] = HARDWARE_EVENTS, harness=None, *, virtualized: Any = None) -> CounterGroup:
    """Open `events` as one group on this thread, or raise CountersUnavailable (one line)."""
    if harness is None:
        harness = build.load(build.HARNESS_ISA)
    if not 1 <= len(events) <= MAX_EVENTS:
        raise ValueError(f"between 1 and {MAX_EVENTS} events, got {len(events)}")
    ffi = harness.ffi
    g = ffi.new("sb_perf_group *")
    failed = ffi.new("int *")
    types = ffi.new("uint32_t[]", [e.type for e in events])
    configs = ffi.new("uint64_t[]", [e.config for e in events])
    optional = ffi.new("int[]", [int(e.optional) for e in events])
    err = harness.lib.sb_perf_open(g, len(events), types, configs, optional, failed)
    if err:
        idx = failed[0] if 0 <= failed[0] < len(events) else 0
        if virtualized is None:
            virtualized = collect_virtualization().get("virtualized")
        raise CountersUnavailable(explain_failure(
            err, events[idx].name, paranoid=_read_paranoid(), pmu=_pmu_present(), virtualized=virtualized,
            system=platform.system(),
        ))  # fmt: skip
    opened = [e.name for i, e in enumerate(events) if g.fds[i] >= 0]
    return CounterGroup(harness, events, g, opened)
