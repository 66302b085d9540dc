"""The command-line habits users bring from pyperf, hyperfine and google/benchmark: each one tested
on the real app (tests/cli_runner.py) or, where a process boundary matters, on a real process."""

import json
import re
import signal
import subprocess
import sys

import pytest

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


# --- help: markup, -h, choices, completion, exit codes -------------------------------------------

FIX = __import__("pathlib").Path(__file__).parent / "fixtures"
A1, A2 = FIX / "machine-a-run1.json", FIX / "machine-a-run2.json"
COMMANDS = ["info", "list", "verify", "run", "compare", "report", "profile", "tune", "export", "cache"]


def _help(monkeypatch, *args):
    monkeypatch.setenv("COLUMNS", "250")  # one help line per option: what is there, not where it wraps
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    code, out, err = invoke(*args)
    assert code == 0, err
    return out


def _click_app():
    import typer.main

    from softbench.cli import app

    return typer.main.get_command(app)


def test_help_text_keeps_square_brackets(monkeypatch):
    """rich markup used to swallow '[baselines]'; every help text with brackets keeps them."""
    out = _help(monkeypatch, "run", "--help")
    assert "pip install 'softbench[baselines]'" in out
    group = _click_app()
    for name, cmd in group.commands.items():
        text = _help(monkeypatch, name, "--help")
        for param in cmd.params:
            for inside in re.findall(r"\[[^\]]*\]", param.help or ""):
                assert inside in text, (name, param.name, inside)


def test_dash_h_is_help_everywhere(monkeypatch):
    assert _help(monkeypatch, "-h") == _help(monkeypatch, "--help")
    for name in COMMANDS:
        assert _help(monkeypatch, name, "-h") == _help(monkeypatch, name, "--help"), name


def test_shell_completion_is_offered(monkeypatch):
    out = _help(monkeypatch, "--help")
    assert "--install-completion" in out and "--show-completion" in out


def test_choices_are_in_the_help(monkeypatch):
    from softbench.catalog import ISAS, algorithms
    from softbench.reporters.export import FORMATS

    for cmd in ("run", "verify", "profile"):
        out = _help(monkeypatch, cmd, "--help")
        for name in [*algorithms(), *ISAS]:
            assert name in out, (cmd, name)
    assert all(v in _help(monkeypatch, "run", "--help") for v in ("auto", "temporal", "nt"))
    out = _help(monkeypatch, "compare", "--help")
    assert all(m in out for m in ("auto", "same", "cross"))
    out = _help(monkeypatch, "export", "--help")
    assert all(f in out for f in FORMATS)


def test_exit_codes_are_documented_in_help_and_readme(monkeypatch):
    out = _help(monkeypatch, "--help")
    readme = (FIX.parent.parent / "README.md").read_text()
    section = readme[readme.index("## Exit codes"):]
    for code in ("0", "1", "2", "3", "130", "141"):
        assert re.search(rf"\b{code}\b", out), code
        assert re.search(rf"^\| `{code}` \|", section, re.M), code


# --- one list syntax, one size grammar -------------------------------------------------------------


def test_verify_takes_comma_lists_and_repeats():
    code, out, err = invoke("verify", "-a", "two-pass,online", "-i", "scalar", "--quick", "--json")
    assert code == 0, err
    assert sorted(k["algorithm"] for k in json.loads(out)["kernels"]) == ["online", "two-pass"]
    code, out2, err = invoke("verify", "-a", "two-pass", "-a", "online", "--isa", "scalar", "--quick", "--json")
    assert code == 0 and sorted(k["algorithm"] for k in json.loads(out2)["kernels"]) == ["online", "two-pass"]


@pytest.mark.parametrize("command", ["run", "profile"])
def test_run_and_profile_share_list_syntax_and_option_names(command):
    # both forms of a list, and a bad item named, before anything is measured
    for args in (["-a", "two-pass,bogus"], ["-a", "two-pass", "-a", "bogus"], ["--algorithms", "two-pass,bogus"], ["--algorithm", "bogus"]):
        code, out, err = invoke(command, *args)
        assert code == 2 and re.search(r"unknown algorithm ['\"]bogus", err), (command, args, err)
    # one size grammar and the same option names: 2^40 elements cannot fit in memory
    for args in (["--sizes", "2^40"], ["--size", "2^40"], ["-n", "2^40"], ["-n", "4Ki,2^40"]):
        code, out, err = invoke(command, "-a", "two-pass", "-i", "scalar", *args)
        assert code == 2 and "available" in err and "Traceback" not in err, (command, args, err)


# --- quiet, verbose, force -------------------------------------------------------------------------


def test_quiet_and_verbose():
    code, plain, err = invoke("compare", A1, A2)
    assert code == 0 and "note:" in plain
    code, quiet, qerr = invoke("--quiet", "compare", A1, A2)
    assert code == 0 and "note:" not in quiet and "two-pass" in quiet
    code, loud, verr = invoke("--verbose", "compare", A1, A2)
    assert code == 0 and "read " in verr and str(A1) in verr and "same machine" in verr
    code, _, _ = invoke("-q", "-v", "compare", A1, A2)
    assert code == 2


def test_run_output_is_kept_unless_force(tmp_path):
    out = tmp_path / "run.json"
    out.write_text("keep")
    code, _, err = invoke("run", "-a", "two-pass", "-i", "scalar", "--sizes", "4Ki", "-o", out)
    assert code == 2 and "--force" in err and out.read_text() == "keep"
    # with --force the run gets past that check (and stops at the next one, here the size)
    code, _, err = invoke("run", "-a", "two-pass", "-i", "scalar", "--sizes", "2^40", "-o", out, "--force")
    assert code == 2 and "available" in err and out.read_text() == "keep"


# --- compare --changed-only, exit codes in practice ------------------------------------------------


def test_compare_changed_only():
    code, out, err = invoke("compare", A1, A2, "--changed-only")
    assert code == 0, err
    points = out[: out.index("geometric mean")]
    # no row has the verdict "no change" (the note "no change beyond +-X%" is not a row)
    assert "slower" in points and "no change |" not in points and "no change  " not in points
    code, md, _ = invoke("compare", A1, A2, "--changed-only", "--markdown")
    assert code == 0 and "| no change |" not in md and "| slower |" in md


def test_broken_pipe_exits_quietly():
    p = subprocess.Popen([sys.executable, "-m", "softbench", "compare", str(A1), str(A2), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    p.stdout.close()  # the reader goes away, as `| head` does
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert code in (141, -signal.SIGPIPE) and "Traceback" not in err and err == "", (code, err)


def test_tune_show_without_a_tuning_file_explains_the_default(tmp_path, monkeypatch):
    from softbench.analysis import tuning

    monkeypatch.setenv("SOFTBENCH_TUNING_FILE", str(tmp_path / "none.json"))
    code, out, err = invoke("tune", "--show")
    assert code == 0, err
    assert "no tuning file" in out and tuning.DEFAULT_RULE in " ".join(out.split())
    code, out, err = invoke("tune", "--show", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["exists"] is False and doc["usable"] is False and doc["rule"] == tuning.DEFAULT_RULE
