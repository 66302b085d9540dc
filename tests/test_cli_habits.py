"""The command-line habits users bring from pyperf, hyperfine and google/benchmark: each one tested
on the real app (tests/cli_runner.py) or, where a process boundary matters, on a real process."""

import re
import subprocess
import sys

from tests.cli_runner import invoke

from softbench.reporters import terminal


def _softbench(*args, **kw):
    return subprocess.run([sys.executable, "-m", "softbench", *map(str, args)], capture_output=True, text=True, timeout=120, **kw)


def test_python_dash_m_softbench_runs_the_cli():
    p = _softbench("--version")
    assert p.returncode == 0 and p.stdout.startswith("softbench ")
    p = _softbench("cache", "--wrong-option")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_info_rounds_sizes_and_names_the_hypervisor():
    assert terminal._bytes(23.5406 * (1 << 30)) == "23.5 GiB"
    assert terminal._bytes(32 * 1024) == "32 KiB" and terminal._bytes(1.5 * (1 << 20)) == "1.5 MiB"
    assert terminal._virtual_machine({"virtualized": True, "hypervisor": "KVM"}) == "yes (KVM)"
    assert terminal._virtual_machine({"virtualized": True, "hypervisor": "unknown"}) == "yes"
    assert terminal._virtual_machine({"virtualized": False}) == "no"
    assert terminal._virtual_machine({"virtualized": "unknown"}) == "unknown"
    code, out, err = invoke("info")
    assert code == 0 and "virtual machine: " in out and "virtualized" not in out
    assert re.search(r"^memory\s+\d+(\.\d)? [KMG]iB total, \d+(\.\d)? [KMG]iB available", out, re.M), out
