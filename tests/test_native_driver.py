"""The standalone C correctness driver (tests/native/test_kernels.c), built and run without Python
in the loop: natively under AddressSanitizer + UBSan (x86 ISAs the CPU has), cross-compiled for
AArch64 and run under qemu-user (NEON), plus an AVX-512 compile check and a deliberately broken
build proving the driver can fail; and the thread pool's driver (tests/native/test_threads.c)
under ThreadSanitizer.

Tools: a C compiler; for AArch64 `apt-get install -y gcc-aarch64-linux-gnu qemu-user`. Missing
tools skip these tests locally but fail them when CI is set (CI must install them).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import isa_ledger
import pytest

from softbench.catalog import TILES

SCRIPT = Path(__file__).parent / "native" / "build_and_run.sh"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
MISSING_TOOL = 77  # build_and_run.sh's exit status when a tool is missing
IN_CI = bool(os.environ.get("CI"))


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: the CI image must provide it)")
    pytest.skip(reason)


def _cc() -> str:
    return os.environ.get("CC", "cc")


def _require(tool: str, install: str) -> None:
    if shutil.which(tool.split()[0]) is None:
        _skip_or_fail(f"{tool} not found; install it with: {install}")


def _run(mode: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SB_BUILD_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(SCRIPT), mode], capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode == MISSING_TOOL:
        _skip_or_fail(proc.stderr.strip().splitlines()[-1])
    return proc


def _summary(proc: subprocess.CompletedProcess) -> tuple[int, int]:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    m = SUMMARY.match(lines[-1]) if lines else None
    assert m, f"no summary line; exit {proc.returncode}\n{_transcript(proc)}"
    return int(m.group(1)), int(m.group(2))


def _transcript(proc: subprocess.CompletedProcess) -> str:
    return f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"


def _assert_all_passed(proc: subprocess.CompletedProcess, how: str | None = None) -> None:
    assert proc.returncode != 2, f"build failed\n{_transcript(proc)}"
    passed, failed = _summary(proc)
    assert proc.returncode == 0 and failed == 0 and passed > 0, _transcript(proc)
    if how:  # the ISAs whose kernels the driver ran ("ok   <isa> <algorithm> ...")
        for isa in sorted(set(re.findall(r"^ok   (\S+) ", proc.stdout, re.M))):
            isa_ledger.ran(isa, how)


def test_native_driver_under_asan_ubsan(tmp_path):
    _require(_cc(), "apt-get install -y gcc")
    proc = _run("native", tmp_path)
    _assert_all_passed(proc, "C driver under ASan/UBSan")
    assert "ok   scalar" in proc.stdout


def test_aarch64_neon_driver_under_qemu(tmp_path):
    _require(os.environ.get("CROSS_CC", "aarch64-linux-gnu-gcc"), "apt-get install -y gcc-aarch64-linux-gnu")
    qemu = os.environ.get("QEMU") or ("qemu-aarch64" if shutil.which("qemu-aarch64") else "qemu-aarch64-static")
    _require(qemu, "apt-get install -y qemu-user")
    proc = _run("aarch64", tmp_path)
    _assert_all_passed(proc, "C driver under qemu-aarch64")
    assert re.search(r"^ok   neon ", proc.stdout, re.M), "no NEON kernel ran\n" + _transcript(proc)
    assert "skipped neon" not in proc.stdout
    # every tile of NEON and scalar (native/tiles.def), one driver round each, all their kernels
    for name in ("neon", "scalar"):
        tiles = list(TILES[name].values())
        for k, tile in enumerate(tiles, 1):
            assert f"tile {k}: {name} unroll {tile.unroll} acc {tile.acc}" in proc.stdout, _transcript(proc)
        assert len(re.findall(rf"^ok   {name} ", proc.stdout, re.M)) == len(tiles) * _kernels_per_tile(proc, name)


def _kernels_per_tile(proc: subprocess.CompletedProcess, isa: str) -> int:
    """Kernels of one tile round of the ISA (its first round's "ok" lines)."""
    first = proc.stdout.split("tile 2:")[0]
    return len(re.findall(rf"^ok   {isa} ", first, re.M))


def test_thread_pool_driver_under_tsan(tmp_path):
    _require(_cc(), "apt-get install -y gcc")
    proc = _run("threads", tmp_path)
    _assert_all_passed(proc)
    assert "ThreadSanitizer" not in proc.stderr, _transcript(proc)


def _compiler_accepts(flags: list[str], tmp_path: Path) -> bool:
    src = tmp_path / "probe.c"
    src.write_text("int main(void) { return 0; }\n")
    r = subprocess.run([*_cc().split(), *flags, "-c", str(src), "-o", str(tmp_path / "probe.o")],
                       capture_output=True, text=True)
    return r.returncode == 0


def test_avx512f_translation_unit_compiles(tmp_path):
    """This machine may lack AVX-512 to run it (the driver then prints 'skipped avx512f'), but
    the translation unit must still build."""
    _require(_cc(), "apt-get install -y gcc")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("AVX-512F is an x86-64 ISA")
    if not _compiler_accepts(["-mavx512f", "-mfma"], tmp_path):
        pytest.skip(f"{_cc()} does not accept -mavx512f")
    proc = _run("compile-avx512", tmp_path)
    assert proc.returncode == 0, _transcript(proc)
    isa_ledger.built("avx512f")


def test_driver_reports_an_injected_failure(tmp_path):
    """Built with -DSB_TEST_INJECT_FAILURE the driver corrupts one output of one kernel: it must
    say so and exit non-zero, or the passing runs above prove nothing."""
    _require(_cc(), "apt-get install -y gcc")
    proc = _run("inject", tmp_path)
    assert proc.returncode not in (0, 2), _transcript(proc)
    passed, failed = _summary(proc)
    assert failed == 1 and passed > 0, _transcript(proc)
    assert "0 failed" not in proc.stdout
    assert re.search(r"^FAIL scalar ", proc.stdout, re.M), _transcript(proc)
