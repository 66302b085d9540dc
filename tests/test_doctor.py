"""`softbench doctor` on fake /sys and /proc trees (each check's finding and advice), the probes it
and `run` share (softbench.placement), and what `run` records with them: THP mode, the buffers'
NUMA node, and per sample the involuntary context switches and steal time."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import invoke

from softbench.errors import ResultFileError

from softbench.bench import runner
from softbench.host import doctor, placement
from softbench.results import files as results, schema


def tree(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


TUNED = {
    "devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance\n",
    "devices/system/cpu/cpu0/cpufreq/scaling_driver": "acpi-cpufreq\n",
    "devices/system/cpu/cpufreq/boost": "0\n",
    "kernel/mm/transparent_hugepage/enabled": "always madvise [never]\n",
    "devices/system/cpu/cpu3/topology/thread_siblings_list": "3\n",
    "devices/system/cpu/isolated": "3\n",
    "devices/system/cpu/nohz_full": "3\n",
    "devices/system/node/online": "0\n",
}
UNTUNED = {
    "devices/system/cpu/cpu0/cpufreq/scaling_governor": "powersave\n",
    "devices/system/cpu/cpu0/cpufreq/scaling_driver": "intel_pstate\n",
    "devices/system/cpu/intel_pstate/no_turbo": "0\n",
    "kernel/mm/transparent_hugepage/enabled": "[always] madvise never\n",
    "devices/system/cpu/cpu3/topology/thread_siblings_list": "1,3\n",
    "devices/system/cpu/isolated": "\n",
    "devices/system/cpu/nohz_full": "(null)\n",
    "devices/system/node/online": "0-1\n",
}


def checks(tmp_path, files, allowed=(0, 1, 2, 3)):
    root = tree(tmp_path / "sys", files)
    (tmp_path / "proc").mkdir(exist_ok=True)
    return {c.name: c for c in doctor.run_checks(str(root), str(tmp_path / "proc"), list(allowed))}


def test_a_tuned_machine_passes_the_machine_checks(tmp_path):
    c = checks(tmp_path, TUNED)
    for name in ("governor", "boost", "transparent huge pages", "SMT sibling", "isolated CPUs", "NUMA"):
        assert c[name].state == "ok", c[name]
        assert c[name].advice == ""


def test_an_untuned_machine_gets_each_problem_with_what_to_do(tmp_path):
    c = checks(tmp_path, UNTUNED)
    expect = {
        "governor": ("powersave", "cpupower frequency-set -g performance"),
        "boost": ("turbo/boost on", "no_turbo"),
        "transparent huge pages": ("'always'", "transparent_hugepage/enabled"),
        "SMT sibling": ("CPU 3 (where run measures) shares its core with CPU 1", "smt/control"),
        "isolated CPUs": ("isolcpus: none; nohz_full: none", "isolcpus=3 nohz_full=3"),
        "NUMA": ("2 nodes", "numactl --cpunodebind=0 --membind=0"),
    }
    for name, (found, advice) in expect.items():
        assert c[name].state == "warn" and found in c[name].found and advice in c[name].advice, c[name]


def test_a_bare_tree_is_unknown_not_an_error(tmp_path):
    c = checks(tmp_path, {})
    for name in ("governor", "boost", "transparent huge pages", "SMT sibling", "isolated CPUs", "NUMA"):
        assert c[name].state == "unknown", c[name]


def test_doctor_command_reads_this_machine():
    code, out, _ = invoke("doctor", "--json")
    assert code == 0
    names = [c["name"] for c in json.loads(out)["checks"]]
    assert names == ["governor", "boost", "transparent huge pages", "SMT sibling", "isolated CPUs", "NUMA", "load",
                     "virtualisation"]  # fmt: skip
    code, out, _ = invoke("doctor")
    assert code == 0 and "what to do" in out


# --- the probes ---------------------------------------------------------------------------------


def test_cpu_lists_and_numa_maps(tmp_path):
    assert placement.parse_cpu_list("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11]
    assert placement.parse_cpu_list("") == [] and placement.parse_cpu_list("x") is None
    tree(tmp_path, {"self/numa_maps": "00400000 default file=/bin/x mapped=2 N0=2\n"
                                      "7f0000000000 default anon=300 dirty=300 N0=100 N1=200 kernelpagesize_kB=4\n"
                                      "7f0000400000 default anon=1 N0=1\n"})  # fmt: skip
    assert placement.numa_node_of(0x7F0000001000, tmp_path) == 1
    assert placement.numa_node_of(0x7F0000400010, tmp_path) == 0
    assert placement.numa_node_of(0x100, tmp_path) is None


def test_steal_ticks_per_cpu(tmp_path):
    tree(tmp_path, {"stat": "cpu  10 0 5 100 0 0 0 7 0 0\ncpu0 5 0 2 50 0 0 0 3 0 0\ncpu1 5 0 3 50 0 0 0 4 0 0\nintr 1\n"})
    assert placement.steal_ticks(None, tmp_path) == 7
    assert placement.steal_ticks([1], tmp_path) == 4 and placement.steal_ticks([0, 1], tmp_path) == 7
    assert placement.steal_ticks([5], tmp_path) is None


def test_disturbance_probe_counts_what_happened_during_a_sample(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu0 1 0 1 1 0 0 0 10 0 0\n")
    probe = placement.DisturbanceProbe([0], tmp_path)
    token = probe.before()
    stat.write_text("cpu0 1 0 1 1 0 0 0 12 0 0\n")  # the hypervisor took 2 ticks meanwhile
    switches, steal_ms = probe.after(token)
    assert switches >= 0 and steal_ms == pytest.approx(2 * 1000 / placement.ticks_per_second())


def test_records_flag_disturbed_samples_and_the_spread_warning_counts_them():
    r = {"samples_ns": [1.0] * 5, "samples_involuntary_switches": [0, 2, 0, 0, 1], "samples_steal_ms": [0, 0, 10.0, 0, 0]}
    assert runner.disturbance_counts([r]) == (3, 5, 2, 1)
    text = runner._disturbance_text([r])
    assert "3 of 5 samples were disturbed (2 by involuntary context switches, 1 by steal time" in text
    rec = schema.Record(algorithm="online", isa="scalar", n=8, threads=1, regime="L1", bytes_per_element={},
                         samples_ns=[1.0] * 5, calls_per_sample=1, ns_per_element=1, min_ns_per_element=1,
                         gbps_effective=1, gbps_actual=1, roofline_efficiency=None, max_rel_error=0,
                         samples_involuntary_switches=[0, 2, 0, 0, 1], samples_steal_ms=[0, 0, 10.0, 0, 0])  # fmt: skip
    assert rec.disturbed_samples() == [1, 2, 4]
    assert "no sample was disturbed" in runner._disturbance_text([{**r, "samples_involuntary_switches": [0] * 5,
                                                                     "samples_steal_ms": [0] * 5}])  # fmt: skip


def test_run_records_disturbance_thp_and_numa(tmp_path):
    out = tmp_path / "r.json"
    code, _, err = invoke("run", "--sizes", "1Ki", "-a", "online", "-i", "scalar", "--min-time", "0.0005", "-o", out)
    assert code == 0, err
    doc = results.load(out)
    r = doc.results[0]
    assert r.samples_involuntary_switches is not None and len(r.samples_involuntary_switches) == len(r.samples_ns)
    if placement.steal_ticks(None) is not None:  # the OS reports steal time
        assert r.samples_steal_ms is not None and len(r.samples_steal_ms) == len(r.samples_ns)
    if placement.thp_mode() is not None:
        assert doc.context["thp"] == placement.thp_mode()
    probe = np.ones(1 << 16)
    if placement.numa_node_of(probe.ctypes.data) is not None:  # the OS says where pages are
        assert isinstance(r.numa_node, int)


def test_per_sample_fields_must_match_the_samples(tmp_path):
    doc = json.loads((Path(__file__).parent / "fixtures" / "machine-a-run1.json").read_text())
    doc["results"][0]["samples_involuntary_switches"] = [0, 1]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError, match="'samples_involuntary_switches' has 2 values for 9 samples"):
        results.load(p)
