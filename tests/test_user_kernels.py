"""Users' own kernels (`run --kernel`, [[kernel]] tables, softbench.load_kernel): the examples
run end to end through run, compare and report; wrong, out-of-bounds, crashing and hanging kernels
are refused with one line each and lose nothing already measured; bad input is one line."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import softbench
from softbench.analysis import summaries, tuning
from softbench.bench import suites, user_kernels
from softbench.bridge import build
from softbench.catalog import algorithms
from softbench.errors import InputError
from softbench.host import isa, threads as th
from softbench.reporters import plot_style
from softbench.results.files import load

from cli_runner import invoke

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PLAIN = f"{EXAMPLES / 'softmax_plain.c'}:softmax_plain"
AVX2 = f"{EXAMPLES / 'softmax_avx2.c'}:softmax_avx2@avx2"
FIX = Path(__file__).resolve().parent / "fixtures" / "kernels"
needs_avx2 = pytest.mark.skipif("avx2" not in isa.runnable(), reason="this host does not run AVX2")


def _asan_builds() -> bool:
    """Whether this host's compiler links AddressSanitizer (the ASan check is skipped, with a
    warning, where it does not)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "a.c"
        src.write_text("int main(void) { return 0; }\n")
        cc = build.find_compiler().path
        built = subprocess.run([cc, "-fsanitize=address", src, "-o", Path(tmp) / "a"], capture_output=True)
        return built.returncode == 0 and subprocess.run([Path(tmp) / "a"], capture_output=True).returncode == 0


ASAN = _asan_builds()
# small and quick: two sizes, the fewest samples, the two Three-Pass algorithms (the speedup plot's baselines)
QUICK = ("--sizes", "1Ki,16Ki", "-r", "5", "--min-time", "0.001",
         "--algorithms", "three-pass-recompute,three-pass-reload")  # fmt: skip


def _run(tmp_path, name, *args, isas="scalar"):
    out = tmp_path / name
    code, stdout, err = invoke("run", *QUICK, "--isa", isas, "-o", out, *args)
    return code, stdout, err, out


# --- declarations ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg, passes", [("three-pass-recompute", "r, r, rw"), ("three-pass-reload", "r, rw, yw"),
                                         ("two-pass", "r, rw"), ("online", "r,rw")])  # fmt: skip
def test_the_built_ins_declared_as_passes_give_their_traffic_table(alg, passes):
    """The pass grammar counts bytes and read-for-ownership as kernels.def does."""
    got = user_kernels.parse_passes(passes).bytes_per_element()
    assert got == algorithms()[alg].traffic()


def test_bytes_declaration_becomes_passes_for_the_twin():
    t = user_kernels.parse_declaration("read=8,write=4")
    assert t.bytes_per_element() == {"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16}
    assert t.twin_passes() == ("r", "rw")
    assert user_kernels.parse_declaration("read=12, write=4").twin_passes() == ("r", "r", "rw")
    assert not user_kernels.parse_declaration(None).declared


@pytest.mark.parametrize("text, words", [("r, rx", "'rx' is not a pass"), ("", "passes must be"),
                                         ("read=6,write=4", "whole number of float passes"),
                                         ("read=eight,write=4", "does not parse"), ("ry", "'ry' is not a pass")])  # fmt: skip
def test_unparsable_declarations_are_one_clear_error(text, words):
    with pytest.raises(InputError, match=words):
        user_kernels.parse_passes(text) if text == "" else user_kernels.parse_declaration(text)


def test_spec_errors(tmp_path):
    with pytest.raises(InputError, match="FILE:SYMBOL"):
        user_kernels.parse_spec("softmax_plain.c")
    with pytest.raises(InputError, match="no such file"):
        user_kernels.parse_spec(str(tmp_path / "nope.c") + ":f")
    with pytest.raises(InputError, match="unknown ISA 'avx9'"):
        user_kernels.parse_spec(PLAIN + "@avx9")
    with pytest.raises(InputError, match="not a C function name"):
        user_kernels.parse_spec(str(EXAMPLES / "softmax_plain.c") + ":2x")
    with pytest.raises(InputError, match="built-in algorithm"):
        user_kernels.parse_spec(PLAIN, name="two-pass")
    (tmp_path / "k.txt").write_text("")
    with pytest.raises(InputError, match="neither a C source"):
        user_kernels.parse_spec(f"{tmp_path / 'k.txt'}:f")


def test_suite_kernel_tables_are_relative_to_the_suite_and_checked(tmp_path):
    suite = suites.load_suite(EXAMPLES / "my_kernels.toml")
    assert [k.name for k in suite.kernels] == ["softmax_plain", "softmax_avx2"]
    assert suite.kernels[1].path == EXAMPLES / "softmax_avx2.c" and suite.kernels[1].isa == "avx2"
    assert suite.kernels[1].traffic.passes == ("r", "rw", "yw")
    assert suite.to_dict()["kernels"][0]["traffic"] == "passes r, r, rw"
    bad = tmp_path / "bad.toml"
    bad.write_text(f'sizes = [1024]\n[[kernel]]\nkernel = "{PLAIN}"\npass = "r"\n')
    with pytest.raises(InputError, match="'pass' is not a kernel key"):
        suites.load_suite(bad)
    bad.write_text(f'sizes = [1024]\n[[kernel]]\nkernel = "{PLAIN}"\npasses = "r, q"\n')
    with pytest.raises(InputError, match=r"bad.toml: \[\[kernel\]\] #1: passes 'r, q'"):
        suites.load_suite(bad)


# --- building ----------------------------------------------------------------------------------


def test_kernels_are_cached_by_source_compiler_and_flags(tmp_path):
    src = tmp_path / "mine.c"
    shutil.copy(EXAMPLES / "softmax_plain.c", src)
    spec = user_kernels.parse_spec(f"{src}:softmax_plain@scalar")
    first = user_kernels.prepare(spec)
    again = user_kernels.prepare(spec)
    assert first.compiled_now and not again.compiled_now and again.module_path == first.module_path
    assert first.module_path.parent == build.cache_dir()  # the built-ins' cache, no second one
    assert first.source_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    flagged = user_kernels.prepare(user_kernels.parse_spec(f"{src}:softmax_plain@scalar", cflags=["-O1"]))
    assert flagged.compiled_now and flagged.module_path != first.module_path and "-O1" in flagged.compile_command
    src.write_text(src.read_text() + "\n/* edited */\n")
    assert user_kernels.prepare(spec).compiled_now


def test_the_twin_moves_what_the_declaration_says():
    """The twin of "r, rw, yw" leaves y = x / s (its last pass rescales what the copy wrote): it
    read x, wrote y from it, then read and rewrote y; an "r" twin leaves y untouched."""
    ffi = build.shared_ffi()
    x = np.linspace(1, 2, 1000, dtype=np.float32)
    y = np.zeros_like(x)
    t = user_kernels.prepare(user_kernels.parse_spec(PLAIN + "@scalar", user_kernels.parse_passes("r, rw, yw")))
    t.twin(x.size, ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y))
    assert np.all(y > 0) and np.allclose(y / y[0], x / x[0], rtol=1e-6)
    only_read = user_kernels.prepare(user_kernels.parse_spec(PLAIN + "@scalar", user_kernels.parse_passes("r")))
    y[:] = 7.0
    only_read.twin(x.size, ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y))
    assert np.all(y == 7.0)


# --- bad input: one line, non-zero exit, no traceback --------------------------------------------


def _one_line_error(tmp_path, *args):
    code, _, err, out = _run(tmp_path, "bad.json", *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("softbench: error: "), err
    assert not out.exists()  # refused before the run started
    return err


def test_missing_file_and_symbol(tmp_path):
    assert "no such file" in _one_line_error(tmp_path, "--kernel", f"{tmp_path / 'none.c'}:f")
    err = _one_line_error(tmp_path, "--kernel", f"{EXAMPLES / 'softmax_plain.c'}:not_there@scalar")
    assert "no function 'not_there'" in err


def test_compile_error_shows_the_compilers_first_error(tmp_path):
    err = _one_line_error(tmp_path, "--kernel", f"{FIX / 'compile_error.c'}:compile_error@scalar")
    assert "compiling compile_error.c" in err and "undeclared_scale" in err and "compile_error.c:5" in err


def test_isa_the_host_lacks(tmp_path):
    lacking = next((n for n, s in isa.host_status().items() if not s.runs), None)
    if lacking is None:
        pytest.skip("this host runs every ISA")
    err = _one_line_error(tmp_path, "--kernel", f"{PLAIN}@{lacking}")
    assert f"ISA '{lacking}' does not run on this host" in err


def test_unparsable_declaration_on_the_command_line(tmp_path):
    err = _one_line_error(tmp_path, "--kernel", PLAIN, "--kernel-passes", "r, rr")
    assert "'rr' is not a pass" in err and "--kernel" in err
    err = _one_line_error(tmp_path, "--kernel", PLAIN, "--kernel", AVX2, "--kernel-passes", "r", "--kernel-passes", "r",
                          "--kernel-passes", "r")  # fmt: skip
    assert "given 3 times for 2 --kernel" in err


# --- end to end --------------------------------------------------------------------------------


@needs_avx2
def test_examples_end_to_end_through_run_compare_and_report(tmp_path):
    # the built-ins on the ISAs of the two kernels (the host's best and AVX2), for the speedups
    both = ",".join(dict.fromkeys([isa.best(), "avx2"]))
    code, stdout, err, a = _run(tmp_path, "a.json", "--suite", EXAMPLES / "my_kernels.toml", isas=both)
    assert code == 0, err
    doc = load(a)
    assert doc.complete and not doc.failures
    mine = [r for r in doc.results if r.user_kernel is not None]
    assert {(r.algorithm, r.isa) for r in mine} == {("softmax_plain", isa.best()), ("softmax_avx2", "avx2")}
    assert len(mine) == 4  # two sizes each
    for r in mine:
        u = r.user_kernel
        src = EXAMPLES / f"{r.algorithm}.c"
        assert u["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest() and u["file"] == str(src)
        assert str(src) in u["compile_command"] and u["declared"]
        assert r.roofline_efficiency is not None and r.roofline_efficiency > 0 and r.twin_samples_ns
        assert r.max_rel_error < 1e-5
        assert u["verified_cases"] > 100
        assert u["address_sanitizer"] == "passed" if ASAN else u["address_sanitizer"].startswith("not run: no sanitizer")
    avx2 = next(r for r in mine if r.algorithm == "softmax_avx2")
    assert "-mavx2" in avx2.user_kernel["compile_command"] and avx2.user_kernel["passes"] == "r, rw, yw"
    assert avx2.bytes_per_element == algorithms()["three-pass-reload"].traffic()
    assert avx2.gbps_actual == pytest.approx(20 / avx2.ns_per_element)
    # the summary table lists them beside the algorithms
    assert "softmax_avx2" in stdout and "three-pass-reload" in stdout

    # a second run, and compare: the user kernels are compared like the others, and listed as user kernels
    code, _, err, b = _run(tmp_path, "b.json", "--kernel", PLAIN, "--kernel-passes", "r, r, rw", isas=both)
    assert code == 0, err
    code, out, err = invoke("compare", a, b, "--json")
    assert code == 0, err
    data = json.loads(out)
    text = json.dumps(data)
    assert "softmax_plain" in text and "is a user kernel" in text

    # report: plots and the document, the user kernels in the speedup plot against each Three-Pass
    pts = summaries.speedup_points(doc)
    for name, where in (("softmax_plain", isa.best()), ("softmax_avx2", "avx2")):
        mine = [p for p in pts if p.algorithm == name]
        assert {p.baseline for p in mine} == set(summaries.THREE_PASS) and {p.isa for p in mine} == {where}
        assert len(mine) == 4 and all(p.speedup > 0 for p in mine)
    code, _, err = invoke("report", a, "-o", tmp_path / "rep")
    assert code == 0, err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "softmax\\_avx2/avx2 is a user kernel" in md and "softmax\\_plain" in md
    assert any(p.name.endswith("speedup.png") for p in (tmp_path / "rep" / "plots").iterdir())


def test_user_kernel_colours_are_their_own():
    taken = set(plot_style.ALGORITHM_COLOURS.values()) | set(plot_style.LIBRARY_COLOURS.values())
    for name in ("softmax_plain", "softmax_avx2", "mine", "a_b_c"):
        assert plot_style.algorithm_colour(name + plot_style.USER_KERNEL) not in taken
        assert plot_style._marker(name + plot_style.USER_KERNEL) == "P"


def test_undeclared_kernel_is_timed_against_stream_copy_and_says_so(tmp_path):
    code, _, err, out = _run(tmp_path, "u.json", "--kernel", PLAIN + "@scalar")
    assert code == 0, err
    mine = [r for r in load(out).results if r.user_kernel is not None]
    assert mine and all(not r.user_kernel["declared"] for r in mine)
    assert all("STREAM copy" in r.user_kernel["twin"] and "undeclared" in r.user_kernel["traffic"] for r in mine)
    assert all(r.bytes_per_element["total"] == 8 and r.roofline_efficiency is not None for r in mine)


def test_prebuilt_library(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    lib = tmp_path / "libmine.so"
    subprocess.run([cc, "-O2", "-fPIC", "-shared", "-o", lib, EXAMPLES / "softmax_plain.c", "-lm"], check=True)
    code, _, err, out = _run(tmp_path, "p.json", "--kernel", f"{lib}:softmax_plain", "--kernel-passes", "read=12,write=4")
    assert code == 0, err
    mine = [r for r in load(out).results if r.user_kernel is not None]
    assert mine and all(r.user_kernel["prebuilt"] and "compile_command" not in r.user_kernel for r in mine)
    assert mine[0].user_kernel["source_sha256"] == hashlib.sha256(lib.read_bytes()).hexdigest()
    assert mine[0].user_kernel["address_sanitizer"].startswith("not run: a prebuilt library")


def test_wrong_out_of_bounds_and_crashing_kernels_are_refused_and_nothing_is_lost(tmp_path):
    code, stdout, err, out = _run(
        tmp_path, "bad.json", "--kernel", PLAIN, "--kernel-passes", "r, r, rw",
        "--kernel", f"{FIX / 'wrong_no_max.c'}:wrong_no_max", "--kernel", f"{FIX / 'out_of_bounds.c'}:out_of_bounds",
        "--kernel", f"{FIX / 'crashing.c'}:crashing",
    )  # fmt: skip
    assert code == 3  # failures: non-zero, and no traceback
    assert "Traceback" not in err + stdout
    doc = load(out)
    assert doc.complete  # the run went on: a valid, complete file
    failed = {f["kernel"].split("/")[0]: f for f in doc.failures}
    assert set(failed) == {"wrong_no_max", "out_of_bounds", "crashing"}
    assert failed["wrong_no_max"]["message"].startswith("failed verification: ")
    assert "non-finite" in failed["wrong_no_max"]["message"] or "relative error" in failed["wrong_no_max"]["message"]
    assert "wrote outside y[0..n)" in failed["out_of_bounds"]["message"] and failed["out_of_bounds"]["case"] == "tail n=1"
    assert failed["crashing"]["message"].startswith("crashed (SIGSEGV) in case 'tail n=2'")
    assert all(f["user_kernel"]["name"] == k for k, f in failed.items())
    # never timed; the good kernel and the built-ins are all there
    names = {r.algorithm for r in doc.results}
    assert names == {"softmax_plain", "three-pass-recompute", "three-pass-reload"}
    # one line each on the terminal
    for name in failed:
        lines = [ln for ln in (stdout + err).splitlines() if name in ln and ("FAILED" in ln or "user kernel" in ln)]
        assert lines, (name, stdout, err)


def test_a_kernel_that_never_returns_is_timed_out_and_recorded(tmp_path):
    code, stdout, err, out = _run(tmp_path, "hang.json", "--kernel", f"{FIX / 'hanging.c'}:hanging", "--kernel-timeout", "2")
    assert code == 3
    doc = load(out)
    (f,) = doc.failures
    assert f["kernel"].startswith("hanging/") and "did not return within 2 s in case 'tail n=3'" in f["message"]
    assert doc.complete and {r.algorithm for r in doc.results} == {"three-pass-recompute", "three-pass-reload"}


# --- Python ------------------------------------------------------------------------------------


def test_load_kernel_is_a_checked_callable():
    f = softbench.load_kernel(PLAIN + "@scalar", passes="r, r, rw")
    assert f.name == "softmax_plain" and f.isa == "scalar" and f.verification.passed
    x = (np.random.default_rng(1).standard_normal((3, 1001)) * 4).astype(np.float32)
    want = softbench.softmax(x, algorithm="three-pass-recompute", isa="scalar")
    assert np.allclose(f(x), want, rtol=1e-5, atol=0)
    assert np.allclose(f(x[0]), want[0], rtol=1e-5, atol=0)
    out = np.empty_like(x)
    assert f(x, out=out) is out
    with pytest.raises(TypeError, match="float32"):
        f(x.astype(np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        f(x[:, ::2])
    with pytest.raises(ValueError, match="shape"):
        f(x, out=np.empty(5, np.float32))


def test_load_kernel_refuses_a_wrong_or_crashing_kernel():
    with pytest.raises(InputError, match="failed verification"):
        softbench.load_kernel(f"{FIX / 'wrong_no_max.c'}:wrong_no_max@scalar")
    with pytest.raises(InputError, match=r"crashed \(SIGSEGV\)"):
        softbench.load_kernel(f"{FIX / 'crashing.c'}:crashing@scalar")


def test_batches_and_threads_for_a_thread_safe_kernel(tmp_path):
    """A user kernel runs whole rows: batches on one thread always, on several only when declared
    thread-safe; never a single row split across threads (that needs its passes)."""
    if len(th.allowed_cpus()) < 2:
        pytest.skip("needs 2 CPUs")
    suite = tmp_path / "batch.toml"
    suite.write_text(f"""
sizes = [4096]
shapes = ["8x1024"]
threads = [1, 2]
algorithms = ["three-pass-recompute"]
isas = ["scalar"]
repetitions = 5
min_time = 0.001
[[kernel]]
kernel = "{PLAIN}@scalar"
passes = "r, r, rw"
thread_safe = true
[[kernel]]
kernel = "{PLAIN}@scalar"
name = "plain_unsafe"
passes = "r, r, rw"
""")
    out = tmp_path / "batch.json"
    code, _, err = invoke("run", "--suite", suite, "-o", out)
    assert code == 0, err
    doc = load(out)
    got = {(r.algorithm, r.rows, r.threads) for r in doc.results if r.user_kernel is not None}
    assert got == {("softmax_plain", 1, 1), ("softmax_plain", 8, 1), ("softmax_plain", 8, 2),
                   ("plain_unsafe", 1, 1), ("plain_unsafe", 8, 1)}  # fmt: skip
    batch = next(r for r in doc.results if r.algorithm == "softmax_plain" and r.threads == 2)
    assert batch.shape == [8, 1024] and batch.roofline_efficiency is not None and batch.max_rel_error < 1e-5
    assert any("thread_safe = true" in w for w in doc.warnings)
    assert any("not split across threads within one row" in w for w in doc.warnings)


def test_tune_never_chooses_a_user_kernel():
    """algorithm="auto" runs softbench's own kernels, so a tuning derived from a run with a user
    kernel, even the fastest, only chooses among the built-ins."""
    def rec(alg, ns, **extra):
        return {"algorithm": alg, "isa": "avx2", "n": 4096, "threads": 1, "ns_per_element": ns, **extra}

    records = [rec("two-pass", 0.5), rec("three-pass-reload", 0.4), rec("mine", 0.1, user_kernel={"name": "mine"})]
    doc = tuning.derive(records, {"created": "2026-01-01T00:00:00+00:00"})
    assert doc["isas"]["avx2"]["fastest"] == ["three-pass-reload"]


@pytest.mark.skipif(not ASAN, reason="the compiler here does not link AddressSanitizer")
def test_a_read_past_x_whose_value_is_unused_is_caught_under_address_sanitizer():
    """The NaN guard after x only sees reads that reach the outputs; the ASan run sees them all.
    The matrix runs first and this kernel passes it (its outputs are right): the refusal is ASan's."""
    with pytest.raises(InputError, match=r"reads outside its buffers at n=1 \(AddressSanitizer: heap-buffer-overflow, READ of size 4\)"):
        softbench.load_kernel(f"{FIX / 'reads_past_x.c'}:reads_past_x@scalar", passes="r, r, rw")
