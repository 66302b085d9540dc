"""Machine probes: what the benchmark ran on, as plain JSON-serialisable dicts.

One ``collect_<domain>()`` per domain, in the style of pyperf's ``collect_*``. Every probe
reports what the OS says and the string ``"unknown"`` for anything it does not say: a figure
recorded next to a wrong cache size or governor is worse than one next to "unknown". Probes never
raise, so a locked-down container or an exotic OS still gets a result file.

Probes that read files take the root of the tree they read (``sysfs_root``, ``procfs_root``,
``root``) so tests can point them at a fake tree.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from softbench.host import microarch
from softbench.host.caches import last_level_cache_bytes  # noqa: F401 (the one cache reader; build and cli read it here)
from softbench.version import __version__

UNKNOWN: Literal["unknown"] = "unknown"

# sys_vendor strings that only virtual machines report. Cloud vendors ("Amazon EC2", "Google",
# "Microsoft Corporation") are left out on purpose: they also sell bare metal / laptops.
_HYPERVISOR_VENDORS = ("QEMU", "VMware", "Xen", "innotek", "Parallels", "Bochs", "KVM")

_SIZE_SUFFIXES = {"K": 1024, "M": 1024**2, "G": 1024**3}


# --- small helpers ---------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    """The stripped text of a file, or None when it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return None


def _to_int(text: str | None) -> int | Literal["unknown"]:
    try:
        return int(text) if text is not None else UNKNOWN
    except ValueError:
        return UNKNOWN


def _sysctl(name: str) -> str | None:
    """``sysctl -n name`` (macOS / BSD), or None when the key or the tool is missing."""
    try:
        proc = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def parse_cpu_list(text: str) -> list[int]:
    """CPU numbers in the kernel's list syntax: ``"0-3,8"`` -> ``[0, 1, 2, 3, 8]``.

    Sorted and without duplicates; an empty string is an empty list. Raises ValueError on
    anything that is not comma-separated ``N`` or ``N-M`` items.
    """
    cpus: set[int] = set()
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        lo, sep, hi = item.partition("-")
        start = int(lo)  # ValueError on junk, which is what we want
        end = int(hi) if sep else start
        if start < 0 or end < start:
            raise ValueError(f"bad CPU range {item!r}")
        cpus.update(range(start, end + 1))
    return sorted(cpus)


def _count_cpu_map(text: str) -> int:
    """Number of set bits in a sysfs CPU mask such as ``"00000000,0000000f"``."""
    return sum(bin(int(word, 16)).count("1") for word in text.replace(",", " ").split())


def _parse_size(text: str | None) -> int | Literal["unknown"]:
    """Bytes from a sysfs cache size (``"32K"``, ``"32768K"``, ``"1M"``, ``"512"``)."""
    if not text:
        return UNKNOWN
    text = text.strip().upper().removesuffix("B")
    factor = _SIZE_SUFFIXES.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in _SIZE_SUFFIXES else text
    try:
        size = int(digits) * factor
    except ValueError:
        return UNKNOWN
    return size if size > 0 else UNKNOWN  # a zero-byte cache is a placeholder, not a size


def _cpuinfo_first_block(procfs_root: str | os.PathLike[str]) -> dict[str, str]:
    """Key/value pairs of the first processor in /proc/cpuinfo ({} when unreadable).

    The first block is enough: all CPUs of one package report the same model and flags, and on
    arm64 the shared keys (Features, CPU implementer) sit in the per-CPU block too.
    """
    text = _read(Path(procfs_root) / "cpuinfo")
    info: dict[str, str] = {}
    if text is None:
        return info
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip(), value.strip())
    return info


def _cpuinfo_flags(info: dict[str, str]) -> list[str] | Literal["unknown"]:
    # x86 calls them "flags", arm64 "Features".
    raw = info.get("flags", info.get("Features"))
    return sorted(set(raw.split())) if raw else UNKNOWN


# --- probes ----------------------------------------------------------------------------------


def _microarchitecture(cpu: dict[str, Any]) -> dict[str, Any]:
    """The core's name: ``{"name": "zen3", "display": "Zen 3", "source": "archspec", "vendor": ...,
    "generation": ...}``; archspec's answer, or the CPUID family/model table's where archspec only
    knows a generic level (host/microarch.py)."""
    try:
        import archspec.cpu

        host = archspec.cpu.host()
        found = {"name": str(host.name), "vendor": str(host.vendor), "generation": int(host.generation)}
    except Exception:  # archspec may fail in odd ways on unknown CPUs; it is only context
        found = {"name": UNKNOWN, "vendor": UNKNOWN, "generation": UNKNOWN}
    named = microarch.identify(found["name"], cpu.get("vendor"), cpu.get("family"), cpu.get("model"), cpu.get("stepping"))
    if named["name"] != found["name"]:
        found["archspec_name"] = found["name"]
    return {**found, **named}


def _cpu_from_sysctl(sysctl: Callable[[str], str | None]) -> dict[str, Any]:
    """CPU fields from macOS sysctl (Intel Macs expose more than Apple silicon)."""
    flags: list[str] | Literal["unknown"] = UNKNOWN
    words = " ".join(
        v for v in (sysctl("machdep.cpu.features"), sysctl("machdep.cpu.leaf7_features")) if v
    )
    if words:
        flags = sorted({w.lower() for w in words.split()})
    return {
        "model_name": sysctl("machdep.cpu.brand_string") or UNKNOWN,
        "vendor": sysctl("machdep.cpu.vendor") or UNKNOWN,
        "family": _to_int(sysctl("machdep.cpu.family")),
        "model": _to_int(sysctl("machdep.cpu.model")),
        "stepping": _to_int(sysctl("machdep.cpu.stepping")),
        "flags": flags,
    }


def collect_cpu(procfs_root: str | os.PathLike[str] = "/proc") -> dict[str, Any]:
    """CPU identity and ISA flags.

    Keys: ``model_name``, ``vendor``, ``family``, ``model``, ``stepping`` (ints), ``flags``
    (sorted list) and ``microarchitecture`` (``name``, ``display``, ``source``, ``vendor``,
    ``generation``: archspec, which always looks at the real host whatever ``procfs_root`` says, or
    the family/model table where archspec answers only a generic level).
    """
    info = _cpuinfo_first_block(procfs_root)
    if info:
        cpu: dict[str, Any] = {
            # arm64 kernels have no "model name"; older ones put the name under "Processor".
            "model_name": info.get("model name") or info.get("Processor") or UNKNOWN,
            "vendor": info.get("vendor_id") or UNKNOWN,
            "family": _to_int(info.get("cpu family")),
            "model": _to_int(info.get("model")),
            "stepping": _to_int(info.get("stepping")),
            "flags": _cpuinfo_flags(info),
        }
    elif sys.platform == "darwin":
        cpu = _cpu_from_sysctl(_sysctl)
    else:
        cpu = {k: UNKNOWN for k in ("model_name", "vendor", "family", "model", "stepping", "flags")}
    cpu["microarchitecture"] = _microarchitecture(cpu)
    return cpu


def _caches_from_sysctl(sysctl: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Caches from macOS sysctl; it does not say how many cores share each."""
    line = _to_int(sysctl("hw.cachelinesize"))
    caches = []
    for level, ctype, key in (
        (1, "Data", "hw.l1dcachesize"),
        (1, "Instruction", "hw.l1icachesize"),
        (2, "Unified", "hw.l2cachesize"),
        (3, "Unified", "hw.l3cachesize"),
    ):
        size = _to_int(sysctl(key))
        if isinstance(size, int) and size > 0:  # 0 or missing: the machine has no such cache
            caches.append(
                {
                    "level": level,
                    "type": ctype,
                    "size_bytes": size,
                    "shared_by": UNKNOWN,
                    "line_size": line,
                }
            )
    return caches


def collect_caches(
    sysfs_root: str | os.PathLike[str] = "/sys", cpu: int = 0
) -> list[dict[str, Any]]:
    """The caches that ``cpu`` sees, one dict per cache, L1 first.

    Each: ``{"level": 1, "type": "Data", "size_bytes": 32768, "shared_by": 1, "line_size": 64}``,
    any value possibly ``"unknown"``. An empty list when the OS describes no caches.
    """
    base = Path(sysfs_root) / "devices/system/cpu" / f"cpu{cpu}" / "cache"
    try:
        dirs = [d for d in base.iterdir() if d.name.startswith("index") and d.name[5:].isdigit()]
    except OSError:
        dirs = []
    if not dirs:
        return _caches_from_sysctl(_sysctl) if sys.platform == "darwin" else []

    caches = []
    for d in sorted(dirs, key=lambda p: int(p.name[5:])):  # index10 after index2
        shared_by: int | Literal["unknown"] = UNKNOWN
        cpu_list = _read(d / "shared_cpu_list")
        cpu_map = _read(d / "shared_cpu_map")
        try:
            if cpu_list:
                shared_by = len(parse_cpu_list(cpu_list))
            elif cpu_map:  # older kernels only have the hex mask
                shared_by = _count_cpu_map(cpu_map)
        except ValueError:
            shared_by = UNKNOWN
        if shared_by == 0:  # an empty mask says nothing, a cache is shared by at least its CPU
            shared_by = UNKNOWN
        caches.append(
            {
                "level": _to_int(_read(d / "level")),
                "type": _read(d / "type") or UNKNOWN,
                "size_bytes": _parse_size(_read(d / "size")),
                "shared_by": shared_by,
                "line_size": _to_int(_read(d / "coherency_line_size")),
            }
        )
    caches.sort(key=lambda c: (c["level"] if isinstance(c["level"], int) else 99))
    return caches


def collect_cores() -> dict[str, Any]:
    """``logical`` and ``physical`` CPU counts and the ``affinity`` of this process (CPU list)."""
    logical: int | Literal["unknown"] = UNKNOWN
    physical: int | Literal["unknown"] = UNKNOWN
    try:
        import psutil

        logical = psutil.cpu_count(logical=True) or UNKNOWN
        physical = psutil.cpu_count(logical=False) or UNKNOWN  # None when the OS won't say
    except Exception:  # psutil is optional-at-runtime context; fall back to os
        logical = os.cpu_count() or UNKNOWN

    affinity: list[int] | Literal["unknown"] = UNKNOWN
    if hasattr(os, "sched_getaffinity"):
        try:
            affinity = sorted(os.sched_getaffinity(0))
        except OSError:
            pass
    return {"logical": logical, "physical": physical, "affinity": affinity}


def collect_memory() -> dict[str, Any]:
    """``total_bytes`` and ``available_bytes`` of RAM, as psutil reports them."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return {"total_bytes": int(vm.total), "available_bytes": int(vm.available)}
    except Exception:
        return {"total_bytes": UNKNOWN, "available_bytes": UNKNOWN}


def _parse_os_release(text: str) -> dict[str, str]:
    """os-release(5) is shell-style ``KEY="value"`` lines."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:  # unbalanced quotes: keep the raw text rather than nothing
            words = [value.strip()]
        fields[key.strip()] = " ".join(words)
    return fields


def collect_os(root: str | os.PathLike[str] = "/") -> dict[str, Any]:
    """``system``, ``release``, ``kernel_version``, ``machine``, ``hostname`` and ``distro``.

    ``distro`` comes from ``<root>/etc/os-release`` (or ``<root>/usr/lib/os-release``).
    """
    distro: str = UNKNOWN
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = _read(Path(root) / rel)
        if text is not None:
            f = _parse_os_release(text)
            name = f.get("PRETTY_NAME") or " ".join(
                v for v in (f.get("NAME"), f.get("VERSION_ID")) if v
            )
            distro = name or UNKNOWN
            break
    return {
        "system": platform.system() or UNKNOWN,
        "release": platform.release() or UNKNOWN,
        "kernel_version": platform.version() or UNKNOWN,
        "machine": platform.machine() or UNKNOWN,
        "hostname": platform.node() or UNKNOWN,
        "distro": distro,
    }


def collect_power(sysfs_root: str | os.PathLike[str] = "/sys") -> dict[str, Any]:
    """Frequency scaling: ``governor`` and ``driver`` (strings), ``boost`` (bool).

    Absent cpufreq (VMs, containers, macOS) gives ``"unknown"`` for all three.
    """
    cpu = Path(sysfs_root) / "devices/system/cpu"
    boost: bool | Literal["unknown"] = UNKNOWN
    # Generic acpi-cpufreq / amd-pstate switch first, then intel_pstate, whose knob is inverted.
    for path, on_when in (
        (cpu / "cpufreq/boost", "1"),
        (cpu / "intel_pstate/no_turbo", "0"),
        (cpu / "cpu0/cpufreq/boost", "1"),  # per-policy boost (newer amd-pstate)
    ):
        value = _read(path)
        if value in ("0", "1"):
            boost = value == on_when
            break
    return {
        "governor": _read(cpu / "cpu0/cpufreq/scaling_governor") or UNKNOWN,
        "driver": _read(cpu / "cpu0/cpufreq/scaling_driver") or UNKNOWN,
        "boost": boost,
    }


def collect_load() -> dict[str, Any]:
    """Load averages over ``1min``, ``5min`` and ``15min`` (runnable tasks, not a percentage)."""
    try:
        one, five, fifteen = os.getloadavg()
        return {"1min": one, "5min": five, "15min": fifteen}
    except (AttributeError, OSError):  # Windows has none; psutil's emulation starts at 0, a lie
        return {"1min": UNKNOWN, "5min": UNKNOWN, "15min": UNKNOWN}


def collect_python() -> dict[str, Any]:
    """``implementation``, ``version``, and the ``numpy`` and ``softbench`` versions."""
    try:
        import numpy

        numpy_version = str(numpy.__version__)
    except Exception:
        numpy_version = UNKNOWN

    return {
        "implementation": platform.python_implementation() or UNKNOWN,
        "version": platform.python_version() or UNKNOWN,
        "numpy": numpy_version,
        "softbench": __version__,
    }


def collect_virtualization(
    procfs_root: str | os.PathLike[str] = "/proc", sysfs_root: str | os.PathLike[str] = "/sys"
) -> dict[str, Any]:
    """Whether we run under a hypervisor.

    Keys: ``hypervisor_flag`` (bool; x86 only, all mainstream hypervisors set that CPUID bit),
    ``sys_vendor`` (DMI string), ``virtualized`` (True, False or "unknown") and ``hypervisor``
    (its name, e.g. "KVM", or "unknown").
    """
    info = _cpuinfo_first_block(procfs_root)
    flag: bool | Literal["unknown"] = UNKNOWN
    if "flags" in info:  # "Features" (arm64) has no such bit, so its absence proves nothing
        flag = "hypervisor" in info["flags"].split()
    vendor = _read(Path(sysfs_root) / "class/dmi/id/sys_vendor") or UNKNOWN

    virtualized: bool | Literal["unknown"] = flag
    hypervisor = _hypervisor_name(vendor, sysfs_root)
    if hypervisor != UNKNOWN:
        virtualized = True
    return {"hypervisor_flag": flag, "sys_vendor": vendor, "virtualized": virtualized, "hypervisor": hypervisor}


# Clock sources only a hypervisor's paravirtual clock provides (Linux sysfs), and their hypervisor.
_PARAVIRT_CLOCKS = {"kvm-clock": "KVM", "hyperv_clocksource_tsc_page": "Hyper-V", "hyperv_clocksource_msr": "Hyper-V", "xen": "Xen"}


def _hypervisor_name(vendor: str, sysfs_root: str | os.PathLike[str]) -> str:
    """The hypervisor's name: the DMI vendor when it is one (QEMU, VMware, ...), else the
    paravirtual clock the guest kernel offers (kvm-clock: KVM), else Xen's own sysfs entry;
    "unknown" when none says (which does not prove bare metal)."""
    if vendor != UNKNOWN:
        for v in _HYPERVISOR_VENDORS:
            if v.lower() in vendor.lower():
                return v
    clocks = _read(Path(sysfs_root) / "devices/system/clocksource/clocksource0/available_clocksource") or ""
    for clock in clocks.split():
        if clock in _PARAVIRT_CLOCKS:
            return _PARAVIRT_CLOCKS[clock]
    xen = _read(Path(sysfs_root) / "hypervisor/type")
    return xen.capitalize() if xen else UNKNOWN


def collect_context() -> dict[str, Any]:
    """Every probe above, keyed by domain; cheap (file reads, no timing)."""
    return {
        "cpu": collect_cpu(),
        "caches": collect_caches(),
        "cores": collect_cores(),
        "memory": collect_memory(),
        "os": collect_os(),
        "power": collect_power(),
        "load": collect_load(),
        "python": collect_python(),
        "virtualization": collect_virtualization(),
    }
