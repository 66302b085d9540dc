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


# --- tables at 80 columns ------------------------------------------------------------------------


def _console(width):
    import io

    from rich.console import Console

    return Console(width=width, force_terminal=True, color_system=None, file=io.StringIO(), highlight=False)


def test_list_fits_80_columns_without_cutting_a_name():
    from softbench.catalog import ISAS, algorithms
    from softbench.host import isa

    console = _console(80)
    terminal.print_kernel_matrix(console, algorithms(), ISAS, isa.host_status())
    out = console.file.getvalue()
    assert "…" not in out and all(len(line) <= 80 for line in out.splitlines())
    for name in algorithms():
        assert name in out
    for name in ISAS:
        assert name in out


def _same_machine():
    from pathlib import Path

    from softbench.analysis import compare as cmp
    from softbench.results import files as results

    fix = Path(__file__).parent / "fixtures"
    return cmp.compare([results.load(fix / "machine-a-run1.json"), results.load(fix / "machine-a-run2.json")])


def test_compare_tables_fit_80_and_40_columns_and_say_what_they_left_out():
    from softbench.reporters.compare_terminal import print_compare

    for width in (80, 40):
        console = _console(width)
        print_compare(console, _same_machine())
        out = console.file.getvalue()
        assert "…" not in out and all(len(line) <= width for line in out.splitlines()), width
        assert f"left out at {width} columns:" in out
        assert "two-pass" in out and "slower" in out and "verdict" in out  # the verdicts stay
    # at 80 columns the algorithm names are whole
    console = _console(80)
    print_compare(console, _same_machine())
    assert "  three-pass-recompute  " in console.file.getvalue()


def test_fit_columns_keeps_everything_when_it_fits():
    from softbench.reporters.fit import fit_columns
    from softbench.reporters.tables import Table

    t = Table("t", ["a", "b"], [["x", "y"]], ["l", "l"], keep=[1, 2])
    assert fit_columns(t, 80) == (t, [])
    narrow, dropped = fit_columns(Table("t", ["aaaa", "bbbb"], [["x" * 30, "y" * 30]], ["l", "l"], keep=[1, 2]), 40)
    assert narrow.headers == ["bbbb"] and dropped == ["aaaa"]
