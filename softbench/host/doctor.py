"""`softbench doctor`: a read-only check of what on this machine would make figures move (in the
spirit of `pyperf system show`): each check says what it found, whether that is fine for
benchmarking, and what to do about it. Nothing here changes the machine."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from softbench.host import machine, placement

OK, WARN, UNKNOWN = "ok", "warn", "unknown"


@dataclass
class Check:
    name: str
    state: str  # OK, WARN or UNKNOWN
    found: str  # what the machine says, in words
    advice: str  # what to do about it ("" when nothing)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measuring_cpu(allowed: list[int]) -> int | None:
    """The CPU `softbench run` pins its measuring thread to: the last one this process may use."""
    return allowed[-1] if allowed else None


def check_governor(power: dict) -> Check:
    gov = power.get("governor", "unknown")
    if gov == "unknown":
        return Check("governor", UNKNOWN, "no cpufreq (a VM or container?)",
                     "frequency scaling cannot be ruled out: compare runs from this machine only")  # fmt: skip
    if gov == "performance":
        return Check("governor", OK, f"'{gov}' ({power.get('driver', 'unknown')})", "")
    return Check("governor", WARN, f"'{gov}' ({power.get('driver', 'unknown')}): clocks follow the load",
                 "sudo cpupower frequency-set -g performance")  # fmt: skip


def check_boost(power: dict) -> Check:
    boost = power.get("boost", "unknown")
    if boost == "unknown":
        return Check("boost", UNKNOWN, "the OS does not say", "if the BIOS has turbo/boost on, clocks depend on temperature")
    if boost:
        return Check("boost", WARN, "turbo/boost on: clocks depend on temperature and the other cores' load",
                     "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo (Intel), or "
                     "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost (AMD, acpi-cpufreq)")  # fmt: skip
    return Check("boost", OK, "off", "")


def check_thp(sysfs_root: str) -> Check:
    mode = placement.thp_mode(sysfs_root)
    if mode is None:
        return Check("transparent huge pages", UNKNOWN, "not reported", "")
    if mode == "always":
        return Check("transparent huge pages", WARN,
                     "'always': big buffers get huge pages or not depending on memory fragmentation, so DRAM figures "
                     "can shift between runs", "echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/enabled "
                     "(run records the mode, so compare runs with the same one)")  # fmt: skip
    return Check("transparent huge pages", OK, f"'{mode}'", "")


def check_smt(cpu: int | None, allowed: list[int], sysfs_root: str) -> Check:
    if cpu is None:
        return Check("SMT sibling", UNKNOWN, "the measuring CPU is not known", "")
    siblings = placement.smt_siblings(cpu, sysfs_root)
    if siblings is None:
        return Check("SMT sibling", UNKNOWN, f"the topology of CPU {cpu} is not reported", "")
    if not siblings:
        return Check("SMT sibling", OK, f"CPU {cpu} (where run measures) has its core to itself", "")
    shared = ", ".join(map(str, siblings))
    usable = [s for s in siblings if s in allowed]
    where = " (this process may use it too)" if usable else ""
    return Check("SMT sibling", WARN,
                 f"CPU {cpu} (where run measures) shares its core with CPU {shared}{where}: whatever runs there takes "
                 "its caches and execution ports",
                 f"keep CPU {shared} idle (move work with taskset), or disable SMT: "
                 "echo off | sudo tee /sys/devices/system/cpu/smt/control")  # fmt: skip


def check_isolation(cpu: int | None, sysfs_root: str) -> Check:
    iso = placement.isolated_cpus(sysfs_root)
    isolcpus, nohz = iso["isolcpus"], iso["nohz_full"]
    if isolcpus is None and nohz is None:
        return Check("isolated CPUs", UNKNOWN, "isolcpus and nohz_full not reported", "")
    found = f"isolcpus: {_cpus(isolcpus)}; nohz_full: {_cpus(nohz)}"
    if cpu is not None and cpu in (isolcpus or []) and cpu in (nohz or []):
        return Check("isolated CPUs", OK, found + f"; CPU {cpu} is both", "")
    target = cpu if cpu is not None else "N"
    return Check("isolated CPUs", WARN, found + f": the scheduler and the timer tick reach CPU {target}",
                 f"boot with isolcpus={target} nohz_full={target} and run under taskset -c {target}")  # fmt: skip


def check_numa(sysfs_root: str) -> Check:
    nodes = placement.numa_nodes(sysfs_root)
    if nodes is None:
        return Check("NUMA", UNKNOWN, "no NUMA information", "")
    if len(nodes) <= 1:
        return Check("NUMA", OK, "one node", "")
    return Check("NUMA", WARN, f"{len(nodes)} nodes ({_cpus(nodes)}): memory on the other node is slower",
                 "numactl --cpunodebind=0 --membind=0 softbench run ... (run records its buffers' node)")  # fmt: skip


def check_load(load: dict, cpus: int) -> Check:
    one = load.get("1min", "unknown")
    if not isinstance(one, (int, float)):
        return Check("load", UNKNOWN, "no load average", "")
    if one > 0.5:
        return Check("load", WARN, f"{one:.2f} runnable tasks on average (1 min) on {cpus} CPU(s)",
                     "close other programs, or wait for them to finish")  # fmt: skip
    return Check("load", OK, f"{one:.2f} (1 min)", "")


def check_virtualization(virt: dict) -> Check:
    v = virt.get("virtualized", "unknown")
    if v is True:
        vendor = virt.get("sys_vendor", "unknown")
        return Check("virtualisation", WARN, f"a virtual machine ({vendor}): other guests share memory bandwidth and caches, "
                     "and steal time shows up as slow samples", "use bare metal for figures to publish; run records steal "
                     "time per sample")  # fmt: skip
    if v is False:
        return Check("virtualisation", OK, "bare metal (no hypervisor reported)", "")
    return Check("virtualisation", UNKNOWN, "cannot tell", "")


def _cpus(values: list[int] | None) -> str:
    if values is None:
        return "unknown"
    return ",".join(map(str, values)) if values else "none"


def run_checks(sysfs_root: str = "/sys", procfs_root: str = "/proc", allowed: list[int] | None = None) -> list[Check]:
    """Every check, in the order a user would fix them."""
    if allowed is None:
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            allowed = []
    cpu = measuring_cpu(allowed)
    power = machine.collect_power(sysfs_root)
    return [
        check_governor(power),
        check_boost(power),
        check_thp(sysfs_root),
        check_smt(cpu, allowed, sysfs_root),
        check_isolation(cpu, sysfs_root),
        check_numa(sysfs_root),
        check_load(machine.collect_load(), len(allowed) or (os.cpu_count() or 1)),
        check_virtualization(machine.collect_virtualization(procfs_root, sysfs_root)),
    ]
