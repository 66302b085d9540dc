"""Which ISAs this host runs: the CPU must report them (CPUID) and the OS must save their
register state (XCR0); AVX-512 is run only where the OS enables its state."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import lru_cache

from softbench.bridge import build
from softbench.catalog import check_isa_name, ISAS
from softbench.errors import InputError


@dataclass(frozen=True)
class IsaStatus:
    name: str
    runs: bool
    reason: str  # why it is skipped; "" when it runs


def _machine_arch() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(m, m)


@lru_cache(maxsize=1)
def cpu_features() -> dict:
    """CPUID/XGETBV (x86) or AT_HWCAP (AArch64) flags, read by the harness's C probe."""
    mod = build.load(build.HARNESS_ISA)
    f = mod.ffi.new("sb_cpu_features *")
    mod.lib.sb_cpu_probe(f)
    names = ("is_x86", "is_aarch64", "sse2", "avx", "fma", "avx2", "avx512f", "os_avx", "os_avx512", "xcr0", "neon")
    return {n: int(getattr(f, n)) for n in names}


def status_from_features(features: dict, arch: str) -> dict[str, IsaStatus]:
    """Pure decision from probe flags, so it can be tested with any CPU's flags."""
    out: dict[str, IsaStatus] = {}
    xcr0 = features.get("xcr0", 0)
    for name, isa in ISAS.items():
        if isa.arch not in ("any", arch):
            out[name] = IsaStatus(name, False, f"{isa.arch} ISA; this CPU is {arch}")
            continue
        reason = ""
        if name == "sse2" and not features.get("sse2"):
            reason = "the CPU does not report SSE2"
        elif name == "avx2":
            missing = [f for f in ("avx", "avx2", "fma") if not features.get(f)]
            if missing:
                reason = f"the CPU does not report {', '.join(m.upper() for m in missing)}"
            elif not features.get("os_avx"):
                reason = f"the OS does not enable AVX register state (XCR0={xcr0:#x})"
        elif name == "avx512f":
            if not features.get("avx512f"):
                reason = "the CPU does not report AVX-512F"
            elif not features.get("os_avx512"):
                reason = f"the OS does not enable AVX-512 register state (XCR0={xcr0:#x})"
        elif name == "neon" and not features.get("neon"):
            reason = "the CPU does not report Advanced SIMD (ASIMD)"
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
