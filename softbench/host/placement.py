"""Probes of where memory and the measuring CPU sit: transparent huge pages, NUMA nodes, the SMT
siblings of a CPU, the CPUs kept free of other work (isolcpus, nohz_full), and the steal time and
context switches that disturb a sample. Like softbench.host.machine, each probe takes the root of the
tree it reads (for tests) and answers None rather than raising when the OS does not say."""

from __future__ import annotations

import os
import re
from pathlib import Path


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return None


def parse_cpu_list(text: str | None) -> list[int] | None:
    """"0-3,8,10-11" (the kernel's list format) -> [0, 1, 2, 3, 8, 10, 11]; "" -> []."""
    if text is None:
        return None
    out: list[int] = []
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            return None
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        out.extend(range(lo, hi + 1))
    return out


def thp_mode(sysfs_root: str | os.PathLike = "/sys") -> str | None:
    """The transparent huge pages mode, "always", "madvise" or "never" (the bracketed choice)."""
    text = _read(Path(sysfs_root) / "kernel/mm/transparent_hugepage/enabled")
    m = re.search(r"\[(\w+)\]", text or "")
    return m.group(1) if m else None


def numa_nodes(sysfs_root: str | os.PathLike = "/sys") -> list[int] | None:
    """The NUMA nodes that have memory or CPUs (None when the OS has no such tree)."""
    return parse_cpu_list(_read(Path(sysfs_root) / "devices/system/node/online"))


def numa_node_of(address: int, procfs_root: str | os.PathLike = "/proc") -> int | None:
    """The NUMA node holding most of the pages of the mapping that contains `address`, from
    /proc/self/numa_maps (None when the mapping has no page yet or the file is missing)."""
    text = _read(Path(procfs_root) / "self/numa_maps")
    if not text:
        return None
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        start, _, rest = line.partition(" ")
        try:
            begin = int(start, 16)
        except ValueError:
            continue
        if begin <= address and (best is None or begin > best[0]):
            best = (begin, rest)
    if best is None:
        return None
    pages = {int(n): int(c) for n, c in re.findall(r"\bN(\d+)=(\d+)", best[1])}
    return max(pages, key=pages.get) if pages else None


def smt_siblings(cpu: int, sysfs_root: str | os.PathLike = "/sys") -> list[int] | None:
    """The other logical CPUs on `cpu`'s core ([] when it has none)."""
    base = Path(sysfs_root) / f"devices/system/cpu/cpu{cpu}/topology"
    found = parse_cpu_list(_read(base / "thread_siblings_list") or _read(base / "core_cpus_list"))
    return None if found is None else [c for c in found if c != cpu]


def isolated_cpus(sysfs_root: str | os.PathLike = "/sys") -> dict[str, list[int] | None]:
    """{"isolcpus": [...], "nohz_full": [...]}: CPUs the scheduler keeps other tasks off, and
    CPUs without the periodic timer tick."""
    cpu = Path(sysfs_root) / "devices/system/cpu"
    nohz = _read(cpu / "nohz_full")
    return {
        "isolcpus": parse_cpu_list(_read(cpu / "isolated")),
        "nohz_full": [] if nohz == "(null)" else parse_cpu_list(nohz),
    }


_STEAL_FIELD = 8  # /proc/stat "cpuN user nice system idle iowait irq softirq steal ..."


def steal_ticks(cpus: list[int] | None, procfs_root: str | os.PathLike = "/proc") -> int | None:
    """Steal time (in USER_HZ ticks) the hypervisor took from `cpus` so far (all CPUs: None)."""
    text = _read(Path(procfs_root) / "stat")
    if not text:
        return None
    want = None if cpus is None else {f"cpu{c}" for c in cpus}
    total, seen = 0, False
    for line in text.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("cpu"):
            continue
        if (want is None and fields[0] == "cpu") or (want is not None and fields[0] in want):
            if len(fields) <= _STEAL_FIELD:
                return None
            total += int(fields[_STEAL_FIELD])
            seen = True
    return total if seen else None


def ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100


class DisturbanceProbe:
    """What disturbed a sample: involuntary context switches of this process (getrusage: another
    task took the CPU from one of our threads) and steal time on the CPUs it runs on (/proc/stat:
    the hypervisor ran another guest). `before()` then `after(token)` around a sample."""

    def __init__(self, cpus: list[int] | None, procfs_root: str | os.PathLike = "/proc") -> None:
        import resource

        self._resource = resource
        self.cpus = cpus
        self.procfs_root = procfs_root
        self.has_steal = steal_ticks(cpus, procfs_root) is not None
        self._ms_per_tick = 1000.0 / ticks_per_second()

    def before(self) -> tuple[int, int | None]:
        steal = steal_ticks(self.cpus, self.procfs_root) if self.has_steal else None
        return self._resource.getrusage(self._resource.RUSAGE_SELF).ru_nivcsw, steal

    def after(self, token: tuple[int, int | None]) -> tuple[int, float | None]:
        switches = self._resource.getrusage(self._resource.RUSAGE_SELF).ru_nivcsw - token[0]
        steal = None
        if token[1] is not None:
            now = steal_ticks(self.cpus, self.procfs_root)
            steal = None if now is None else (now - token[1]) * self._ms_per_tick
        return switches, steal
