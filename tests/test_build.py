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
    real = build.flags_for
    monkeypatch.setattr(build, "flags_for", lambda isa, tile=None: [*real(isa, tile), "-DSB_TEST_KEY=1"])
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
    real = build.flags_for
    monkeypatch.setattr(build, "flags_for", lambda isa, tile=None: [*real(isa, tile), "-DSB_W=oops", "-Werror"])
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


_STATE = "typedef struct { float max; double sum; double sum_exp; } sb_state;"
_PERF = "typedef struct { int count; int fds[8]; uint64_t ids[8]; int leader; } sb_perf_group;"
_WORK = "typedef struct { sb_softmax_fn fn; int passes; sb_pass_fn pass[4]; int merge[4]; } sb_work;"


@pytest.mark.parametrize("declared, drifted, isa_name", [
    (_STATE, "typedef struct { float max; double sum_exp; double sum; } sb_state;", "scalar"),  # same size, fields swapped
    (_PERF, _PERF.replace("fds[8]", "fds[7]"), build.HARNESS_ISA),  # a harness struct (perf_counters.h)
    (_WORK, _WORK.replace("int passes; ", ""), build.HARNESS_ISA),  # threads.h's work
    ("    int neon;\n} sb_cpu_features;", "} sb_cpu_features;", build.HARNESS_ISA),  # the CPU probe's flags
])  # fmt: skip
def test_every_restated_struct_is_checked_field_by_field(monkeypatch, declared, drifted, isa_name):
    """Each struct Python restates, in the kernel modules and in the harness, is checked at load by
    size and by each field's offset: a swap that keeps the size is refused too."""
    import cffi

    text = build.CDEF_COMMON + build.CDEF_HARNESS
    assert text.count(declared) == 1
    ffi = cffi.FFI()
    ffi.cdef(text.replace(declared, drifted) + "".join(build.CDEF_TABLE.format(isa=i) for i in build.ISAS))
    monkeypatch.setattr(build, "_ffi", ffi)
    monkeypatch.setattr(build, "_loaded", {})
    with pytest.raises(BuildError, match="declarations do not match"):
        build.load(isa_name)


def _fresh_process(code: str) -> list:
    """What `code` prints (a JSON list), run in a new interpreter: a module's globals are shared by
    every load of it in one process, so "what does loading alone set" needs a process of its own."""
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_loading_a_module_sets_no_store_policy():
    """build.load only loads: the non-temporal threshold stays the module's compiled default (never)
    until a caller applies the store policy, which is then this machine's (the LLC's size); a
    threshold a caller set is kept by it."""
    facts = _fresh_process(
        "import json; from softbench.bridge import build; m = build.load('scalar'); t = lambda: getattr(m.lib, 'sb_nt_min_bytes__scalar');"
        "a = [t(), m.nt_threshold]; build.use_store_policy(m); a += [t(), m.nt_threshold, build.nt_min_bytes()];"
        "build.set_nt_threshold(m, 4096); build.use_store_policy(m); a.append(t()); print(json.dumps(a))"
    )
    before, unset, after, recorded, policy, kept = facts
    assert (before, unset) == (build.NT_NEVER, None)
    assert after == recorded == policy
    assert kept == 4096


def test_the_store_policy_is_the_last_level_cache():
    assert build.nt_threshold_for(32 << 20) == 32 << 20
    assert build.nt_threshold_for(None) == build.nt_threshold_for(0) == build.NT_NEVER


def test_softmax_runs_with_the_machines_store_policy():
    """What users run (softbench.softmax, api.kernel) gets the threshold build.load used to set:
    the same kernel variants at the same sizes as before the policy left the loader."""
    threshold, policy = _fresh_process(
        "import json; from softbench import api; from softbench.bridge import build; _, m = api.kernel('two-pass', 'scalar');"
        "print(json.dumps([getattr(m.lib, 'sb_nt_min_bytes__scalar'), build.nt_min_bytes()]))"
    )
    assert threshold == policy


def test_the_source_digest_names_the_sources(tmp_path, monkeypatch):
    import shutil

    digest = build.source_digest()
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert build.load("scalar").source_digest == digest
    copy = tmp_path / "native"
    shutil.copytree(build.native_dir(), copy)
    monkeypatch.setattr(build, "native_dir", lambda: copy)
    assert build.source_digest() == digest
    (copy / "kernels.def").write_text((copy / "kernels.def").read_text() + "\n")
    assert build.source_digest() != digest


def test_the_isa_table_is_read_from_isas_def(tmp_path, monkeypatch):
    """kernels.ISAS is native/isas.def, row for row and in its order; a row added there is an ISA
    (its flags for the build, its features for the detection) with no Python to change."""
    from softbench import catalog as kernels
    from softbench.host import isa as isa_mod

    assert kernels.ISAS == kernels.read_isas()
    assert list(kernels.ISAS)[-1] == "scalar"  # best first: the portable fallback last
    for name in kernels.ISAS:
        assert (build.native_dir() / "kernels" / f"{name}.c").is_file()
        assert (build.native_dir() / "isa" / f"{name}.h").is_file()
    table = tmp_path / "isas.def"
    row = 'SB_ISA(avx9, "x86_64", 32, "-mavx9 -mfma", "avx2 avx9 os_avx", "a throwaway ISA")\n'
    table.write_text(row + (build.native_dir() / "isas.def").read_text())
    isas = kernels.read_isas(table)
    assert list(isas) == ["avx9", *kernels.ISAS]
    assert isas["avx9"] == kernels.Isa("avx9", "x86_64", 32, ("-mavx9", "-mfma"), "a throwaway ISA", ("avx2", "avx9", "os_avx"))
    monkeypatch.setattr(isa_mod, "ISAS", isas)
    cpu = {"sse2": 1, "avx": 1, "fma": 1, "avx2": 1, "os_avx": 1}
    st = isa_mod.status_from_features(cpu, "x86_64")
    assert not st["avx9"].runs and st["avx9"].reason == "the CPU does not report AVX9"
    assert isa_mod.status_from_features(dict(cpu, avx9=1), "x86_64")["avx9"].runs
    assert "OS does not enable AVX register state" in isa_mod.status_from_features(dict(cpu, avx9=1, os_avx=0), "x86_64")["avx9"].reason
