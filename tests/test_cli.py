"""The CLI end to end, as a user runs it (a subprocess with the installed entry point's code)."""

import json
import os
import subprocess
import sys

import pytest

from softbench.host import isa


def sb(*args, env=None, check=False):
    e = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True, env=e, timeout=600)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_list_json_covers_every_algorithm_and_isa():
    data = json.loads(sb("list", "--json", check=True).stdout)
    names = {(k["algorithm"], k["isa"]) for k in data["kernels"]}
    assert len(names) == 4 * 5
    two = next(k for k in data["kernels"] if k["algorithm"] == "two-pass")
    assert two["bytes_per_element"] == {"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16}
    runs = {k["isa"] for k in data["kernels"] if k["runs"]}
    assert runs == set(isa.runnable())
    skipped = [k for k in data["kernels"] if not k["runs"]]
    assert skipped and all(k["reason"] for k in skipped)


def test_list_plain_when_piped():
    out = sb("list", check=True).stdout
    assert "three-pass-recompute" in out and "\x1b[" not in out
    for name, st in isa.host_status().items():
        if not st.runs:
            assert f"skipped {name}: {st.reason}" in out


def test_info_json_has_the_machine_context():
    ctx = json.loads(sb("info", "--json", check=True).stdout)
    for key in ("cpu", "caches", "cores", "memory", "os", "isas", "compiler", "ftz_daz", "created"):
        assert key in ctx
    assert ctx["isas"]["runs"] == isa.runnable()
    assert set(ctx["compiler"]["per_isa"]) == set(isa.runnable())


def test_verify_json_subset_passes():
    p = sb("verify", "--quick", "--isa", "scalar", "-a", "two-pass", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["passed"] and len(data["kernels"]) == 1
    k = data["kernels"][0]
    assert k["algorithm"] == "two-pass" and k["isa"] == "scalar" and k["cases"] > 40
    assert 0 < k["max_rel_error"] < 1e-5 and 0 < k["exp_max_ulp"] < 3


def test_verify_human_output():
    out = sb("verify", "--quick", "--isa", "scalar", check=True).stdout
    assert "4 kernels passed, 0 failed" in out


@pytest.mark.parametrize(
    "args,words",
    [
        (["verify", "--isa", "avx1024"], "unknown ISA 'avx1024'; choose one of"),
        (["verify", "-a", "bogus"], "unknown algorithm 'bogus'; choose one of"),
    ],
)
def test_bad_input_is_one_line_no_traceback(args, words):
    p = sb(*args)
    assert p.returncode != 0
    assert words in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_isa_not_on_host_is_one_line():
    missing = next(n for n, s in isa.host_status().items() if not s.runs)
    p = sb("verify", "--isa", missing)
    assert p.returncode == 2 and "does not run on this host" in p.stderr and "Traceback" not in p.stderr


def test_missing_compiler_is_one_line(tmp_path):
    # `list` and `info` need no compiler (tests/test_trust.py); what builds kernels stops with one line
    p = sb("verify", "--quick", env={"CC": "no-such-cc", "SOFTBENCH_CACHE_DIR": str(tmp_path)})
    assert p.returncode == 2
    assert p.stderr.strip().startswith("softbench: error:") and "set CC" in p.stderr and "Traceback" not in p.stderr


def test_corrupt_cache_is_one_line(tmp_path):
    env = {"SOFTBENCH_CACHE_DIR": str(tmp_path)}
    sb("list", env=env, check=True)
    for so in tmp_path.glob("softbench-scalar-*.so"):
        so.write_bytes(b"garbage")
    p = sb("list", env=env)
    assert p.returncode == 2 and "damaged" in p.stderr and "Traceback" not in p.stderr


def test_unwritable_cache_is_one_line(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    p = sb("list", env={"SOFTBENCH_CACHE_DIR": str(f / "sub")})
    assert p.returncode == 2 and "not writable" in p.stderr and "Traceback" not in p.stderr


def test_version_and_help():
    assert sb("--version", check=True).stdout.startswith("softbench ")
    assert "verify" in sb("--help", check=True).stdout
