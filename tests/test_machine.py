"""Machine probes: fake sysfs/procfs trees for the parsing, one real run for sanity."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from softbench.version import __version__
from softbench.host import machine
from softbench.host.caches import last_level_cache_bytes
from softbench.host.machine import (
    UNKNOWN,
    collect_caches,
    collect_context,
    collect_cpu,
    collect_os,
    collect_power,
    collect_virtualization,
    parse_cpu_list,
)

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7763 64-Core Processor
stepping\t: 1
flags\t\t: fpu sse2 avx2 fma hypervisor avx512f

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: should not be read
flags\t\t: fpu
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
CPU architecture: 8
CPU part\t: 0xd0c
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_cache(sysfs: Path, index: int, **files: str) -> None:
    for name, text in files.items():
        write(sysfs, f"devices/system/cpu/cpu0/cache/index{index}/{name}", text + "\n")


# --- parse_cpu_list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0-3,8", [0, 1, 2, 3, 8]),
        ("0-3,8-11", [0, 1, 2, 3, 8, 9, 10, 11]),
        ("5", [5]),
        ("0,2,4", [0, 2, 4]),
        ("0-1\n", [0, 1]),
        (" 3 , 1-2 ", [1, 2, 3]),
        ("2,0-2", [0, 1, 2]),  # overlap: counted once
        ("", []),
        ("7-7", [7]),
    ],
)
def test_parse_cpu_list(text: str, expected: list[int]) -> None:
    assert parse_cpu_list(text) == expected


@pytest.mark.parametrize("text", ["3-1", "a", "0-", "-1", "0-3:2/4", "1,x"])
def test_parse_cpu_list_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpu_list(text)


# --- caches ----------------------------------------------------------------------------------


def test_caches_normal_tree(tmp_path: Path) -> None:
    make_cache(tmp_path, 0, level="1", type="Data", size="32K", shared_cpu_list="0,64",
               coherency_line_size="64")
    make_cache(tmp_path, 1, level="1", type="Instruction", size="32K", shared_cpu_list="0,64",
               coherency_line_size="64")
    make_cache(tmp_path, 2, level="2", type="Unified", size="512K", shared_cpu_list="0,64",
               coherency_line_size="64")
    make_cache(tmp_path, 3, level="3", type="Unified", size="32768K",
               shared_cpu_list="0-7,64-71", coherency_line_size="64")
    caches = collect_caches(sysfs_root=tmp_path)
    assert caches == [
        {"level": 1, "type": "Data", "size_bytes": 32768, "shared_by": 2, "line_size": 64},
        {"level": 1, "type": "Instruction", "size_bytes": 32768, "shared_by": 2, "line_size": 64},
        {"level": 2, "type": "Unified", "size_bytes": 524288, "shared_by": 2, "line_size": 64},
        {"level": 3, "type": "Unified", "size_bytes": 32 * 2**20, "shared_by": 16,
         "line_size": 64},
    ]
    assert last_level_cache_bytes(caches) == 32 * 2**20


def test_caches_missing_files_are_unknown(tmp_path: Path) -> None:
    # Some arm64 kernels publish level/type but no size; an unreadable list must not raise.
    make_cache(tmp_path, 0, level="1", type="Data")
    make_cache(tmp_path, 1, level="2", type="Unified", size="1M", shared_cpu_list="0-x")
    caches = collect_caches(sysfs_root=tmp_path)
    assert caches[0] == {
        "level": 1, "type": "Data", "size_bytes": UNKNOWN, "shared_by": UNKNOWN,
        "line_size": UNKNOWN,
    }
    assert caches[1]["size_bytes"] == 2**20
    assert caches[1]["shared_by"] == UNKNOWN
    assert last_level_cache_bytes(caches) == 2**20


def test_caches_shared_cpu_map_fallback_and_index_order(tmp_path: Path) -> None:
    # No shared_cpu_list (old kernels): count bits of the hex mask. index10 sorts after index2.
    make_cache(tmp_path, 10, level="3", type="Unified", size="8192K",
               shared_cpu_map="00000000,000000ff")
    make_cache(tmp_path, 2, level="2", type="Unified", size="256K", shared_cpu_map="00000003")
    caches = collect_caches(sysfs_root=tmp_path)
    assert [c["level"] for c in caches] == [2, 3]
    assert [c["shared_by"] for c in caches] == [2, 8]


def test_caches_odd_values(tmp_path: Path) -> None:
    make_cache(tmp_path, 0, level="one", type="Data", size="0K", shared_cpu_list="",
               coherency_line_size="")
    make_cache(tmp_path, 1, level="2", type="Unified", size="2097152", shared_cpu_list="4")
    make_cache(tmp_path, 2, level="3", type="Unified", size="4M", shared_cpu_map="00000000")
    caches = collect_caches(sysfs_root=tmp_path)
    assert caches[1]["size_bytes"] == 4 * 2**20
    assert caches[1]["shared_by"] == UNKNOWN  # an empty mask says nothing
    caches = caches[:1] + caches[2:]
    assert caches[0]["level"] == 2  # known levels first
    assert caches[0]["size_bytes"] == 2097152  # plain bytes, no suffix
    assert caches[0]["shared_by"] == 1
    assert caches[1] == {
        "level": UNKNOWN, "type": "Data", "size_bytes": UNKNOWN, "shared_by": UNKNOWN,
        "line_size": UNKNOWN,
    }


def test_caches_no_sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert collect_caches(sysfs_root=tmp_path) == []


def test_caches_from_sysctl() -> None:
    values = {"hw.l1dcachesize": "65536", "hw.l1icachesize": "131072", "hw.l2cachesize": "4194304",
              "hw.l3cachesize": "0", "hw.cachelinesize": "128"}
    caches = machine._caches_from_sysctl(values.get)
    assert [(c["level"], c["type"], c["size_bytes"]) for c in caches] == [
        (1, "Data", 65536), (1, "Instruction", 131072), (2, "Unified", 4194304),
    ]
    assert all(c["shared_by"] == UNKNOWN and c["line_size"] == 128 for c in caches)


@pytest.mark.parametrize(
    ("caches", "expected"),
    [
        ([], None),
        ("unknown", None),
        ([{"level": 1, "type": "Instruction", "size_bytes": 65536}], None),
        ([{"level": 3, "type": "Unified", "size_bytes": UNKNOWN}], None),
        ([{"level": 1, "type": "Data", "size_bytes": 49152},
          {"level": 2, "type": "Unified", "size_bytes": 2097152},
          {"level": 3, "type": "Unified", "size_bytes": UNKNOWN}], 2097152),
    ],
)
def test_last_level_cache_bytes(caches, expected) -> None:
    assert last_level_cache_bytes(caches) == expected


# --- cpu -------------------------------------------------------------------------------------


def test_cpu_x86(tmp_path: Path) -> None:
    write(tmp_path, "cpuinfo", X86_CPUINFO)
    cpu = collect_cpu(procfs_root=tmp_path)
    assert cpu["model_name"] == "AMD EPYC 7763 64-Core Processor"
    assert cpu["vendor"] == "AuthenticAMD"
    assert (cpu["family"], cpu["model"], cpu["stepping"]) == (25, 1, 1)
    assert cpu["flags"] == sorted(["fpu", "sse2", "avx2", "fma", "hypervisor", "avx512f"])
    assert {"name", "display", "source", "vendor", "generation"} <= set(cpu["microarchitecture"])


def test_cpu_arm_has_features_but_no_x86_ids(tmp_path: Path) -> None:
    write(tmp_path, "cpuinfo", ARM_CPUINFO)
    cpu = collect_cpu(procfs_root=tmp_path)
    assert "asimd" in cpu["flags"]
    assert cpu["model_name"] == UNKNOWN
    assert cpu["vendor"] == UNKNOWN
    assert cpu["family"] == cpu["model"] == cpu["stepping"] == UNKNOWN


def test_cpu_missing_cpuinfo_and_broken_archspec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archspec.cpu

    def boom():
        raise RuntimeError("unknown CPU")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(archspec.cpu, "host", boom)
    cpu = collect_cpu(procfs_root=tmp_path)
    assert cpu == {
        "model_name": UNKNOWN, "vendor": UNKNOWN, "family": UNKNOWN, "model": UNKNOWN,
        "stepping": UNKNOWN, "flags": UNKNOWN,
        "microarchitecture": {"name": UNKNOWN, "vendor": UNKNOWN, "generation": UNKNOWN,
                              "display": UNKNOWN, "source": UNKNOWN},
    }


class _GenericHost:
    """archspec's answer in a VM that hides flags: a generic level, not a core."""
    name, vendor, generation = "x86_64_v4", "generic", 0


ZEN4_CPUINFO = X86_CPUINFO.replace("model\t\t: 1\n", "model\t\t: 17\n")


def test_generic_archspec_level_falls_back_on_family_and_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Zen 4 VM: archspec says x86_64_v4, CPUID family 25 model 17 says Zen 4 (Genoa)."""
    import archspec.cpu

    assert "model\t\t: 17" in ZEN4_CPUINFO
    write(tmp_path, "cpuinfo", ZEN4_CPUINFO)
    monkeypatch.setattr(archspec.cpu, "host", _GenericHost)
    ua = collect_cpu(procfs_root=tmp_path)["microarchitecture"]
    assert (ua["name"], ua["display"], ua["source"]) == ("zen4", "Zen 4", "cpuid family/model table")
    assert ua["archspec_name"] == "x86_64_v4"


def test_archspec_core_name_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archspec.cpu

    class Zen3:
        name, vendor, generation = "zen3", "AuthenticAMD", 0

    write(tmp_path, "cpuinfo", ZEN4_CPUINFO)  # archspec's flag match wins over the table
    monkeypatch.setattr(archspec.cpu, "host", Zen3)
    ua = collect_cpu(procfs_root=tmp_path)["microarchitecture"]
    assert (ua["name"], ua["display"], ua["source"]) == ("zen3", "Zen 3", "archspec")
    assert "archspec_name" not in ua


def test_cpu_from_sysctl_intel_mac() -> None:
    values = {"machdep.cpu.brand_string": "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz",
              "machdep.cpu.vendor": "GenuineIntel", "machdep.cpu.family": "6",
              "machdep.cpu.model": "158", "machdep.cpu.stepping": "13",
              "machdep.cpu.features": "FPU SSE2 AVX1.0", "machdep.cpu.leaf7_features": "AVX2"}
    cpu = machine._cpu_from_sysctl(values.get)
    assert cpu["flags"] == ["avx1.0", "avx2", "fpu", "sse2"]
    assert (cpu["family"], cpu["model"], cpu["stepping"]) == (6, 158, 13)
    apple = machine._cpu_from_sysctl({"machdep.cpu.brand_string": "Apple M2"}.get)
    assert apple["model_name"] == "Apple M2"
    assert apple["vendor"] == apple["flags"] == apple["family"] == UNKNOWN


# --- power -----------------------------------------------------------------------------------


def test_power_absent_is_unknown(tmp_path: Path) -> None:
    assert collect_power(sysfs_root=tmp_path) == {
        "governor": UNKNOWN, "driver": UNKNOWN, "boost": UNKNOWN,
    }


def test_power_acpi_boost(tmp_path: Path) -> None:
    write(tmp_path, "devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n")
    write(tmp_path, "devices/system/cpu/cpu0/cpufreq/scaling_driver", "acpi-cpufreq\n")
    write(tmp_path, "devices/system/cpu/cpufreq/boost", "1\n")
    assert collect_power(sysfs_root=tmp_path) == {
        "governor": "performance", "driver": "acpi-cpufreq", "boost": True,
    }


@pytest.mark.parametrize(("no_turbo", "boost"), [("1", False), ("0", True), ("junk", UNKNOWN)])
def test_power_intel_pstate_no_turbo_is_inverted(tmp_path: Path, no_turbo: str, boost) -> None:
    write(tmp_path, "devices/system/cpu/intel_pstate/no_turbo", no_turbo + "\n")
    write(tmp_path, "devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave\n")
    power = collect_power(sysfs_root=tmp_path)
    assert power["boost"] == boost
    assert power["governor"] == "powersave"


# --- virtualization --------------------------------------------------------------------------


def test_virtualization_flag_and_vendor(tmp_path: Path) -> None:
    write(tmp_path / "proc", "cpuinfo", X86_CPUINFO)
    write(tmp_path / "sys", "class/dmi/id/sys_vendor", "QEMU\n")
    v = collect_virtualization(procfs_root=tmp_path / "proc", sysfs_root=tmp_path / "sys")
    assert v == {"hypervisor_flag": True, "sys_vendor": "QEMU", "virtualized": True, "hypervisor": "QEMU"}


def test_virtualization_names_kvm_from_its_paravirtual_clock(tmp_path: Path) -> None:
    # no DMI (as in many containers on a KVM guest): the kvm-clock clock source names the hypervisor
    write(tmp_path / "proc", "cpuinfo", X86_CPUINFO)
    write(tmp_path / "sys", "devices/system/clocksource/clocksource0/available_clocksource", "tsc kvm-clock \n")
    v = collect_virtualization(procfs_root=tmp_path / "proc", sysfs_root=tmp_path / "sys")
    assert v["virtualized"] is True and v["hypervisor"] == "KVM"


def test_virtualization_bare_metal_x86(tmp_path: Path) -> None:
    write(tmp_path / "proc", "cpuinfo", X86_CPUINFO.replace(" hypervisor", ""))
    write(tmp_path / "sys", "class/dmi/id/sys_vendor", "Dell Inc.\n")
    v = collect_virtualization(procfs_root=tmp_path / "proc", sysfs_root=tmp_path / "sys")
    assert v == {"hypervisor_flag": False, "sys_vendor": "Dell Inc.", "virtualized": False, "hypervisor": UNKNOWN}


def test_virtualization_arm_without_dmi_is_unknown(tmp_path: Path) -> None:
    # arm64 has no hypervisor cpu flag, so a missing flag must not read as "bare metal".
    write(tmp_path / "proc", "cpuinfo", ARM_CPUINFO)
    v = collect_virtualization(procfs_root=tmp_path / "proc", sysfs_root=tmp_path / "sys")
    assert v == {"hypervisor_flag": UNKNOWN, "sys_vendor": UNKNOWN, "virtualized": UNKNOWN, "hypervisor": UNKNOWN}


# --- os --------------------------------------------------------------------------------------


def test_os_release_pretty_name(tmp_path: Path) -> None:
    write(tmp_path, "etc/os-release",
          '# comment\nNAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert collect_os(root=tmp_path)["distro"] == "Debian GNU/Linux 12 (bookworm)"


def test_os_release_fallbacks(tmp_path: Path) -> None:
    # No PRETTY_NAME: NAME + VERSION_ID; no /etc/os-release: /usr/lib/os-release.
    write(tmp_path, "usr/lib/os-release", "NAME=Alpine\nVERSION_ID=3.19.1\nBROKEN='x\n")
    assert collect_os(root=tmp_path)["distro"] == "Alpine 3.19.1"


def test_os_without_os_release(tmp_path: Path) -> None:
    info = collect_os(root=tmp_path)
    assert info["distro"] == UNKNOWN
    assert set(info) == {"system", "release", "kernel_version", "machine", "hostname", "distro"}


# --- other probes' fallbacks -----------------------------------------------------------------


def test_load_without_getloadavg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "getloadavg")
    assert machine.collect_load() == {"1min": UNKNOWN, "5min": UNKNOWN, "15min": UNKNOWN}


def test_cores_without_sched_getaffinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert machine.collect_cores()["affinity"] == UNKNOWN


# --- the real machine ------------------------------------------------------------------------


def test_real_context_is_sane_and_json() -> None:
    ctx = collect_context()
    assert set(ctx) == {"cpu", "caches", "cores", "memory", "os", "power", "load", "python",
                        "virtualization"}
    assert json.loads(json.dumps(ctx)) == ctx  # plain JSON types only

    assert ctx["python"]["softbench"] == __version__
    assert ctx["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    mem = ctx["memory"]
    assert 0 < mem["available_bytes"] <= mem["total_bytes"]
    cores = ctx["cores"]
    assert isinstance(cores["logical"], int) and cores["logical"] >= 1
    if cores["affinity"] != UNKNOWN:
        assert 1 <= len(cores["affinity"]) <= cores["logical"]
    for cache in ctx["caches"]:
        assert set(cache) == {"level", "type", "size_bytes", "shared_by", "line_size"}

    if sys.platform.startswith("linux"):
        assert ctx["os"]["system"] == "Linux"
        assert isinstance(ctx["cpu"]["flags"], list) and ctx["cpu"]["flags"]
        assert all(isinstance(v, float) for v in ctx["load"].values())
        assert last_level_cache_bytes(ctx["caches"]) is None or (
            last_level_cache_bytes(ctx["caches"]) >= 64 * 1024
        )


def _is_reference_vm() -> bool:
    info = machine._cpuinfo_first_block("/proc")
    # family 25 model 1 (Milan): a Zen 4 VM (model 17) also calls itself "AMD EPYC"
    return info.get("model name") == "AMD EPYC" and info.get("cpu family") == "25" and info.get("model") == "1"


@pytest.mark.skipif(not _is_reference_vm(), reason="figures of the AMD EPYC Zen 3 dev VM")
def test_real_probes_on_reference_vm() -> None:
    cpu = collect_cpu()
    assert cpu["vendor"] == "AuthenticAMD"
    assert cpu["microarchitecture"]["name"] == "zen3"
    assert {"avx2", "fma", "sse2"} <= set(cpu["flags"])
    by_level = {(c["level"], c["type"]): c for c in collect_caches()}
    assert by_level[(1, "Data")]["size_bytes"] == 32 * 1024
    assert by_level[(2, "Unified")]["size_bytes"] == 512 * 1024
    l3 = by_level[(3, "Unified")]
    assert (l3["size_bytes"], l3["shared_by"], l3["line_size"]) == (32 * 2**20, 2, 64)
    assert last_level_cache_bytes(collect_caches()) == 32 * 2**20
    assert collect_power() == {"governor": UNKNOWN, "driver": UNKNOWN, "boost": UNKNOWN}
    assert collect_virtualization()["hypervisor_flag"] is True
