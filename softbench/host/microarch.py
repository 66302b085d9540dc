"""Microarchitecture names people recognise.

archspec names the host from its ISA flags. In a virtual machine the hypervisor often hides flags,
and archspec then answers a generic level (``x86_64_v4``) that cannot tell a Zen 3 from a Zen 4.
The CPUID family and model still say which core it is, so a small table of recent AMD and Intel
families is the fallback. The record says where the name came from (``source``), because a
family/model table is a weaker claim than archspec's flag-by-flag match.
"""

from __future__ import annotations

from typing import Any

UNKNOWN = "unknown"

# (vendor_id, family, first model, last model) -> archspec-style name. Families that share a model
# range across generations (Intel's 0x55) are split by stepping below.
_FAMILY_MODEL: tuple[tuple[str, int, int, int, str], ...] = (
    ("AuthenticAMD", 0x17, 0x00, 0x2F, "zen"),  # Zen, Zen+ (Naples, Summit/Pinnacle Ridge)
    ("AuthenticAMD", 0x17, 0x30, 0xFF, "zen2"),  # Rome, Matisse, Renoir
    ("AuthenticAMD", 0x19, 0x00, 0x0F, "zen3"),  # Milan
    ("AuthenticAMD", 0x19, 0x10, 0x1F, "zen4"),  # Genoa (model 0x11)
    ("AuthenticAMD", 0x19, 0x20, 0x5F, "zen3"),  # Vermeer, Rembrandt, Cezanne
    ("AuthenticAMD", 0x19, 0x60, 0x7F, "zen4"),  # Raphael, Phoenix
    ("AuthenticAMD", 0x19, 0xA0, 0xAF, "zen4"),  # Bergamo, Siena
    ("AuthenticAMD", 0x1A, 0x00, 0xFF, "zen5"),  # Turin, Granite Ridge, Strix
    ("GenuineIntel", 6, 0x3C, 0x3C, "haswell"),
    ("GenuineIntel", 6, 0x3F, 0x3F, "haswell"),
    ("GenuineIntel", 6, 0x45, 0x46, "haswell"),
    ("GenuineIntel", 6, 0x3D, 0x3D, "broadwell"),
    ("GenuineIntel", 6, 0x47, 0x47, "broadwell"),
    ("GenuineIntel", 6, 0x4F, 0x4F, "broadwell"),
    ("GenuineIntel", 6, 0x56, 0x56, "broadwell"),
    ("GenuineIntel", 6, 0x4E, 0x4E, "skylake"),
    ("GenuineIntel", 6, 0x5E, 0x5E, "skylake"),
    ("GenuineIntel", 6, 0x8E, 0x8E, "skylake"),  # Kaby/Coffee/Whiskey Lake: Skylake cores
    ("GenuineIntel", 6, 0x9E, 0x9E, "skylake"),
    ("GenuineIntel", 6, 0x6A, 0x6A, "icelake"),  # Ice Lake-SP
    ("GenuineIntel", 6, 0x6C, 0x6C, "icelake"),
    ("GenuineIntel", 6, 0x7D, 0x7E, "icelake"),  # Ice Lake client
    ("GenuineIntel", 6, 0x8C, 0x8D, "tigerlake"),
    ("GenuineIntel", 6, 0xA7, 0xA7, "rocketlake"),
    ("GenuineIntel", 6, 0x97, 0x9A, "alderlake"),
    ("GenuineIntel", 6, 0xB7, 0xB7, "raptorlake"),
    ("GenuineIntel", 6, 0xBA, 0xBA, "raptorlake"),
    ("GenuineIntel", 6, 0xBF, 0xBF, "raptorlake"),
    ("GenuineIntel", 6, 0x8F, 0x8F, "sapphirerapids"),
    ("GenuineIntel", 6, 0xCF, 0xCF, "emeraldrapids"),
    ("GenuineIntel", 6, 0xAD, 0xAE, "graniterapids"),
)

# Intel family 6 model 0x55 is three server generations, told apart by stepping.
_INTEL_0x55_BY_STEPPING = ((0, 4, "skylake_avx512"), (5, 7, "cascadelake"), (8, 15, "cooperlake"))

_DISPLAY = {
    "zen": "Zen",
    "zen2": "Zen 2",
    "zen3": "Zen 3",
    "zen4": "Zen 4",
    "zen5": "Zen 5",
    "haswell": "Haswell",
    "broadwell": "Broadwell",
    "skylake": "Skylake",
    "skylake_avx512": "Skylake-X",
    "cascadelake": "Cascade Lake",
    "cooperlake": "Cooper Lake",
    "cannonlake": "Cannon Lake",
    "icelake": "Ice Lake",
    "tigerlake": "Tiger Lake",
    "rocketlake": "Rocket Lake",
    "alderlake": "Alder Lake",
    "raptorlake": "Raptor Lake",
    "sapphirerapids": "Sapphire Rapids",
    "emeraldrapids": "Emerald Rapids",
    "graniterapids": "Granite Rapids",
    "neoverse_n1": "Neoverse N1",
    "neoverse_v1": "Neoverse V1",
    "neoverse_v2": "Neoverse V2",
    "neoverse_n2": "Neoverse N2",
    "m1": "Apple M1",
    "m2": "Apple M2",
    "graviton2": "Graviton 2",
    "graviton3": "Graviton 3",
}

# How each ISA is written in a machine's label, best first (the catalog's order decides "best").
_ISA_DISPLAY = {"avx512f": "AVX-512", "avx2": "AVX2", "neon": "NEON", "sse2": "SSE2", "scalar": "scalar"}


def is_generic(name: Any) -> bool:
    """archspec's generic levels (x86_64, x86_64_v2..v4, aarch64, ppc64le, ...): not a core."""
    if not isinstance(name, str) or name in ("", UNKNOWN):
        return True
    return name.startswith(("x86_64", "aarch64", "ppc64", "riscv64", "armv", "i686")) or name in ("x86", "arm")


def from_family_model(vendor: Any, family: Any, model: Any, stepping: Any = None) -> str | None:
    """The core a CPUID vendor/family/model names, from the table; None when it is not there."""
    if not (isinstance(family, int) and isinstance(model, int)):
        return None
    if vendor == "GenuineIntel" and family == 6 and model == 0x55:
        if not isinstance(stepping, int):
            return "skylake_avx512"
        return next((n for lo, hi, n in _INTEL_0x55_BY_STEPPING if lo <= stepping <= hi), "skylake_avx512")
    for v, fam, lo, hi, name in _FAMILY_MODEL:
        if v == vendor and fam == family and lo <= model <= hi:
            return name
    return None


def identify(archspec_name: Any, vendor: Any, family: Any, model: Any, stepping: Any = None) -> dict[str, str]:
    """``{"name", "display", "source"}``: archspec's name when it names a core, else the
    family/model table's, else archspec's generic level (or "unknown") marked as such."""
    if not is_generic(archspec_name):
        return {"name": archspec_name, "display": display_name(archspec_name), "source": "archspec"}
    table = from_family_model(vendor, family, model, stepping)
    if table:
        return {"name": table, "display": display_name(table), "source": "cpuid family/model table"}
    name = archspec_name if isinstance(archspec_name, str) and archspec_name else UNKNOWN
    return {"name": name, "display": display_name(name), "source": "archspec (generic level)" if name != UNKNOWN else UNKNOWN}


def display_name(name: Any) -> str:
    """'Zen 4' for 'zen4'; an unlisted name as it is."""
    if not isinstance(name, str) or not name:
        return UNKNOWN
    return _DISPLAY.get(name, name)


def isa_display(isa: str) -> str:
    return _ISA_DISPLAY.get(isa, isa)


def context_display(ctx: dict[str, Any]) -> str:
    """The microarchitecture a result file's context names, for labels; files written before the
    family/model fallback existed carry only archspec's answer, so it is recomputed from the CPUID
    fields they also carry."""
    cpu = ctx.get("cpu") if isinstance(ctx.get("cpu"), dict) else {}
    ua = cpu.get("microarchitecture") if isinstance(cpu.get("microarchitecture"), dict) else {}
    if isinstance(ua.get("display"), str) and ua["display"] != UNKNOWN:
        return ua["display"]
    return identify(ua.get("name"), cpu.get("vendor"), cpu.get("family"), cpu.get("model"), cpu.get("stepping"))["display"]
