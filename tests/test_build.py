"""The kernel cache: built once, shared by concurrent runs, and every failure one clear line."""

import os
import subprocess
import sys

import pytest

from softbench.bridge import build
from softbench.errors import BuildError


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_loaded", {})
    build.find_compiler.cache_clear()
    yield tmp_path / "cache"
    build.find_compiler.cache_clear()


def test_second_build_compiles_nothing(fresh_cache):
    first = build.build("scalar")
    assert first.compiled_now and first.path.exists()
    second = build.build("scalar")
    assert not second.compiled_now and second.path == first.path
    info = first.build_info()
    assert info["compiler"] in ("gcc", "clang") and "-fno-tree-vectorize" in info["flags"]
    assert "-O3" in info["command"]


def test_flags_change_the_key(fresh_cache, monkeypatch):
    a = build.build("scalar").path
    monkeypatch.setattr(build, "flags_for", lambda isa: [*build.COMMON_FLAGS, "-fno-tree-vectorize", "-DSB_TEST_KEY=1"])
    b = build.build("scalar")
    assert b.compiled_now and b.path != a


def test_concurrent_runs_share_one_good_module(fresh_cache):
    code = (
        "from softbench.bridge import build; import numpy as np; m = build.load('sse2');"
        "x = np.ones(100, np.float32); y = np.empty_like(x);"
        "m.kernels['two-pass'](100, m.ffi.cast('float*', x.ctypes.data), m.ffi.cast('float*', y.ctypes.data));"
        "assert abs(y.sum() - 1) < 1e-5; print(m.compiled_now)"
    )
    env = dict(os.environ, SOFTBENCH_CACHE_DIR=str(fresh_cache))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs.count("True") == 1, outs  # the lock made the others wait and reuse it
    assert len(list(fresh_cache.glob("softbench-sse2-*.so"))) == 1
    assert not list(fresh_cache.glob("*.tmp*"))


def test_damaged_module_is_reported_not_loaded(fresh_cache):
    mod = build.build("scalar")
    data = mod.path.read_bytes()
    mod.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BuildError, match="damaged.*delete"):
        build.load("scalar")


def test_damaged_manifest_is_reported(fresh_cache):
    mod = build.build("scalar")
    mod.path.with_suffix(".json").write_text("{not json")
    with pytest.raises(BuildError, match="manifest .* is damaged"):
        build.build("scalar")


def test_interrupted_build_without_manifest_is_rebuilt(fresh_cache):
    mod = build.build("scalar")
    mod.path.with_suffix(".json").unlink()
    assert build.build("scalar").compiled_now


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_cache(fresh_cache, monkeypatch):
    fresh_cache.mkdir()
    fresh_cache.chmod(0o500)
    with pytest.raises(BuildError, match="not writable.*SOFTBENCH_CACHE_DIR"):
        build.build("scalar")


def test_cache_path_that_is_a_file_is_unwritable(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("SOFTBENCH_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(BuildError, match="not writable.*SOFTBENCH_CACHE_DIR"):
        build.build("scalar")


def test_missing_compiler(fresh_cache, monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    build.find_compiler.cache_clear()
    with pytest.raises(BuildError, match="no-such-compiler-xyz.*set CC"):
        build.build("scalar")


def test_no_compiler_on_path(fresh_cache, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(fresh_cache))
    build.find_compiler.cache_clear()
    with pytest.raises(BuildError, match="no C compiler found"):
        build.find_compiler()


def test_compile_error_is_one_line(fresh_cache, monkeypatch):
    monkeypatch.setattr(build, "flags_for", lambda isa: [*build.COMMON_FLAGS, "-DSB_W=oops", "-Werror"])
    with pytest.raises(BuildError) as e:
        build.build("sse2")
    assert "compiling the sse2 kernels failed" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.skipif(subprocess.run(["cc", "-mavx512f", "-x", "c", "-c", "-o", "/dev/null", "/dev/null"], capture_output=True).returncode != 0,
                    reason="the compiler does not know -mavx512f")
def test_avx512_module_compiles_even_where_it_cannot_run(fresh_cache):
    mod = build.build("avx512f")
    assert mod.path.exists() and "-mavx512f" in mod.flags


def test_declarations_that_drift_from_the_structs_are_refused(monkeypatch):
    """The cffi declarations restate sb_common.h's structs; if they drift, loading says so instead
    of reading fields at the wrong offsets."""
    import cffi

    ffi = cffi.FFI()
    drifted = build.CDEF_COMMON.replace("typedef struct { float max; double sum; double sum_exp; } sb_state;",
                                        "typedef struct { float max; double sum; } sb_state;")
    assert drifted != build.CDEF_COMMON
    ffi.cdef(drifted + build.CDEF_HARNESS + "".join(build.CDEF_TABLE.format(isa=i) for i in build.ISAS))
    monkeypatch.setattr(build, "_ffi", ffi)
    monkeypatch.setattr(build, "_loaded", {})
    with pytest.raises(BuildError, match="declarations do not match"):
        build.load("scalar")
