"""Microarchitecture names from archspec, or from the CPUID family/model table in a VM where
archspec only knows a generic level; and the machine labels report and compare print."""

import pytest

from softbench.analysis import machines as compare
from softbench.host import microarch


@pytest.mark.parametrize(
    "vendor,family,model,stepping,name",
    [
        ("AuthenticAMD", 25, 1, 1, "zen3"),  # Milan: the Zen 3 dev VM
        ("AuthenticAMD", 25, 17, 1, "zen4"),  # Genoa: the Zen 4 VM of issue #10
        ("AuthenticAMD", 25, 0x61, 2, "zen4"),  # Raphael
        ("AuthenticAMD", 25, 0x21, 0, "zen3"),  # Vermeer
        ("AuthenticAMD", 23, 0x31, 0, "zen2"),  # Rome
        ("AuthenticAMD", 26, 0x02, 0, "zen5"),  # Turin
        ("GenuineIntel", 6, 0x55, 4, "skylake_avx512"),
        ("GenuineIntel", 6, 0x55, 7, "cascadelake"),
        ("GenuineIntel", 6, 0x6A, 6, "icelake"),
        ("GenuineIntel", 6, 0x8F, 8, "sapphirerapids"),
    ],
)
def test_family_model_table(vendor, family, model, stepping, name):
    assert microarch.from_family_model(vendor, family, model, stepping) == name


def test_unknown_family_model_is_none():
    assert microarch.from_family_model("GenuineIntel", 6, 0x01, 0) is None
    assert microarch.from_family_model("AuthenticAMD", "unknown", 1) is None
    assert microarch.from_family_model("HygonGenuine", 24, 0) is None


def test_identify_prefers_archspec_core_names_and_says_where_a_name_came_from():
    assert microarch.identify("icelake", "GenuineIntel", 6, 0xA7) == {
        "name": "icelake", "display": "Ice Lake", "source": "archspec"}
    assert microarch.identify("x86_64_v4", "AuthenticAMD", 25, 17) == {
        "name": "zen4", "display": "Zen 4", "source": "cpuid family/model table"}
    assert microarch.identify("x86_64_v3", "GenuineIntel", 6, 0x01) == {
        "name": "x86_64_v3", "display": "x86_64_v3", "source": "archspec (generic level)"}
    assert microarch.identify("unknown", "unknown", "unknown", "unknown")["source"] == "unknown"


def _context(ua, family=25, model=1, runs=("avx2", "sse2", "scalar")):
    return {"hostname": "vm", "cpu": {"model_name": "AMD EPYC", "vendor": "AuthenticAMD", "family": family,
                                      "model": model, "stepping": 1, "microarchitecture": ua},
            "isas": {"runs": list(runs)}}


def test_machine_label_names_core_cpu_and_best_isa():
    """Issue #10: a reader could not tell a Zen 3 ('vm (AMD EPYC)') from a Zen 4."""
    zen3 = _context({"name": "zen3", "vendor": "AuthenticAMD", "generation": 0})  # a file from before display
    zen4 = _context({"name": "zen4", "display": "Zen 4", "source": "cpuid family/model table"}, model=17,
                    runs=("avx512f", "avx2", "sse2", "scalar"))
    assert compare.machine_name(zen3) == "Zen 3 (AMD EPYC), AVX2"
    assert compare.machine_name(zen4) == "Zen 4 (AMD EPYC), AVX-512"


def test_machine_label_of_an_old_file_with_a_generic_level_uses_the_table():
    old_zen4 = _context({"name": "x86_64_v4", "vendor": "generic", "generation": 4}, model=17,
                        runs=("avx512f", "avx2"))
    assert compare.machine_name(old_zen4) == "Zen 4 (AMD EPYC), AVX-512"


def test_machine_label_falls_back_on_the_hostname():
    ctx = _context({"name": "unknown"}, family="unknown", model="unknown", runs=())
    ctx["cpu"]["vendor"] = "unknown"
    assert compare.machine_name(ctx) == "vm (AMD EPYC)"
