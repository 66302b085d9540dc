"""Which ISAs this host runs: the CPU must report them (CPUID) and the OS must save their
register state (XCR0); AVX-512 is run only where the OS enables its state."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import lru_cache

from softbench.bridge import build
from softbench.catalog import check_isa_name, ISAS
from softbench.errors import BuildError, InputError


@dataclass(frozen=True)
class IsaStatus:
    name: str
    runs: bool
    reason: str  # why it is skipped; "" when it runs


def _machine_arch() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(m, m)


def features_from_cpuinfo(text: str, arch: str) -> dict:
    """The probe's flags as Linux's /proc/cpuinfo states them (the kernel lists AVX and AVX-512
    only when it saves their registers), for when the C probe cannot be built."""
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags = set(value.split())
            break
    f = {n: int(n in flags) for n in ("sse2", "avx", "fma", "avx2", "avx512f")}
    f.update(is_x86=int(arch == "x86_64"), is_aarch64=int(arch == "aarch64"), os_avx=f["avx"], os_avx512=f["avx512f"],
             xcr0=0, neon=int("asimd" in flags))  # fmt: skip
    return f


@lru_cache(maxsize=1)
def cpu_features() -> dict:
    """CPUID/XGETBV (x86) or AT_HWCAP (AArch64) flags, read by the harness's C probe; without a
    C compiler to build it, from /proc/cpuinfo (`list` and `info` need no compiler)."""
    try:
        build.find_compiler()
    except BuildError:  # only a missing compiler: a damaged or unwritable cache is still an error
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                return features_from_cpuinfo(f.read(), _machine_arch())
        except OSError:
            raise BuildError("cannot probe the CPU: no /proc/cpuinfo, and the C probe could not be built "
                             "(install a C compiler or set CC)") from None
    mod = build.load(build.HARNESS_ISA)
    f = mod.ffi.new("sb_cpu_features *")
    mod.lib.sb_cpu_probe(f)
    return {name: int(getattr(f, name)) for name, _ in mod.ffi.typeof("sb_cpu_features").fields}


# How the reasons name a feature of native/isas.def's `features` column (sb_cpu_features fields);
# a feature not listed here is named by its field, upper-cased.
FEATURE_NAMES = {"neon": "Advanced SIMD (ASIMD)", "avx512f": "AVX-512F", "os_avx": "AVX", "os_avx512": "AVX-512"}


def _feature_name(feature: str) -> str:
    return FEATURE_NAMES.get(feature, feature.upper())


def status_from_features(features: dict, arch: str) -> dict[str, IsaStatus]:
    """Pure decision from probe flags, so it can be tested with any CPU's flags."""
    out: dict[str, IsaStatus] = {}
    xcr0 = features.get("xcr0", 0)
    for name, isa in ISAS.items():
        if isa.arch not in ("any", arch):
            out[name] = IsaStatus(name, False, f"{isa.arch} ISA; this CPU is {arch}")
            continue
        # the features each row of native/isas.def declares: the CPU's first, then the OS's
        cpu_missing = [f for f in isa.features if not f.startswith("os_") and not features.get(f)]
        os_missing = [f for f in isa.features if f.startswith("os_") and not features.get(f)]
        reason = ""
        if cpu_missing:
            reason = f"the CPU does not report {', '.join(map(_feature_name, cpu_missing))}"
        elif os_missing:
            reason = (f"the OS does not enable {' and '.join(map(_feature_name, os_missing))} register state "
                      f"(XCR0={xcr0:#x})")  # fmt: skip
        out[name] = IsaStatus(name, not reason, reason)
    return out


@lru_cache(maxsize=1)
def host_status() -> dict[str, IsaStatus]:
    return status_from_features(cpu_features(), _machine_arch())


def runnable() -> list[str]:
    """ISAs this host runs, best first."""
    return [name for name, st in host_status().items() if st.runs]


def best() -> str:
    return runnable()[0]


def resolve(name: str) -> str:
    """An ISA name or "auto" -> an ISA this host runs, or a clear error."""
    if name == "auto":
        return best()
    check_isa_name(name)
    st = host_status()[name]
    if not st.runs:
        raise InputError(f"ISA {name!r} does not run on this host: {st.reason}; this host runs: {', '.join(runnable())}")
    return name
