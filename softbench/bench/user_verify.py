"""The correctness matrix for a user's kernel, run in a child process.

A user's kernel is unknown code: it may crash, write outside y, or never return. The matrix
(verify.cases: every tail length, misalignment, -inf masks, NaN/inf rows, rows far outside exp's
range) and one call at every size the run will time (with the same guard zones) therefore run in
a child Python process (`python -m softbench.bench.user_verify`), which reports each case as a JSON line
as it starts and ends. The parent kills the child when one case runs past its bound, and names the
case that crashed or hung. Timing itself stays in the measuring process, in the same loop and
address space as the built-in kernels, so the figures are measured exactly alike: a kernel reaches
timing only once the child has run it at every one of those sizes.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from softbench.bench import verify
from softbench.bench.user_kernels import _function
from softbench.bench.verify import GUARD, block_of
from softbench.bridge import build
from softbench.bridge.build import shared_ffi
from softbench.catalog import ISAS, native_dir

DEFAULT_TIMEOUT = 10.0  # seconds a single case may take, plus SLOWEST_NS per element of it
SLOWEST_NS = 50.0  # ns per element: slower than any real kernel (scalar exp is ~5-10 ns)
TAIL_BLOCK = 64  # floats: AVX-512's 16 lanes unrolled 4 times, the widest built-in iteration


@dataclass
class Outcome:
    passed: bool
    message: str = ""  # the first problem, one line: "failed verification: tail n=3: ..."
    case: str | None = None  # the case it happened in
    failures: list[dict[str, Any]] = field(default_factory=list)  # every failed case
    cases: int = 0  # cases run
    max_rel_error: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the checks add (the AddressSanitizer run)
    # "passed", or why it did not run ("prebuilt library", "no sanitizer build here: ...")
    address_sanitizer: str = "not run"

    def details(self) -> dict[str, Any]:
        """Extra fields for the result file's failure entry."""
        return {"case": self.case, "failed_cases": len(self.failures) or 1}


def verify_in_child(kernel, sizes: Sequence[int] = (), seed: int = 0, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Run the matrix, then one call at each of `sizes`, on a user kernel (user_kernels.UserKernel)
    in a child process; a crash or a case past its bound is an Outcome that says so."""
    job = {
        # a user kernel's unroll is unknown: tails up to twice the widest built-in block, at least
        "module": str(kernel.module_path), "symbol": kernel.spec.symbol, "block": max(TAIL_BLOCK, block_of(kernel.isa)),
        "max_abs_x": kernel.spec.max_abs_x if kernel.spec.max_abs_x != float("inf") else None,
        "seed": seed, "sizes": [int(n) for n in sizes],
    }  # fmt: skip
    # the reports come back on a pipe of their own: the kernel may print to stdout or stderr, which
    # go to a file (a full pipe would block the child and look like a hang)
    rfd, wfd = os.pipe()
    job["report_fd"] = wfd
    output = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "softbench.bench.user_verify", json.dumps(job)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=output, pass_fds=(wfd,), start_new_session=True,
        )  # fmt: skip
    finally:
        os.close(wfd)
    failures: list[dict[str, Any]] = []
    case, case_n, cases, worst = None, 0, 0, 0.0
    deadline = time.monotonic() + timeout + 30.0  # the child's start: importing numpy, loading the kernel
    buf = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(proc)
                where = f"in case {case!r}" if case else "between two cases" if cases else "before its first case"
                bound = timeout + case_n * SLOWEST_NS * 1e-9
                return Outcome(False, f"did not return within {bound:.3g} s {where} (killed)", case,
                               failures, cases, worst)  # fmt: skip
            ready, _, _ = select.select([rfd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                if "start" in msg:
                    case, case_n = msg["start"], msg.get("n", 0)
                    deadline = time.monotonic() + timeout + case_n * SLOWEST_NS * 1e-9
                elif "result" in msg:
                    r = msg["result"]
                    cases += 1
                    if r["max_rel_error"] is not None:
                        worst = max(worst, r["max_rel_error"])
                    if not r["passed"]:
                        failures.append(r)
                    case = None
        rc = proc.wait()
        output.seek(0)
        err = output.read().decode(errors="replace").strip().splitlines()
    finally:
        if proc.poll() is None:
            _kill(proc)
        os.close(rfd)
        output.close()
    if rc < 0 or (case is not None and rc != 0):
        how = f"crashed ({_signal_name(-rc)})" if rc < 0 else f"exited with status {rc}"
        return Outcome(False, f"{how} in case {case!r}", case, failures, cases, worst)
    if rc != 0:
        last = err[-1] if err else f"exit status {rc}"
        return Outcome(False, f"could not be checked: {last}", None, failures, cases, worst)
    if failures:
        first = failures[0]
        return Outcome(False, f"failed verification: {first['case']}: {first['detail']}", first["case"], failures,
                       cases, worst)  # fmt: skip
    outcome = Outcome(True, "", None, [], cases, worst)
    if kernel.spec.prebuilt:
        outcome.address_sanitizer = "not run: a prebuilt library (no source to instrument)"
        return outcome
    return asan_check(kernel, timeout, outcome)


def asan_check(kernel, timeout: float, outcome: Outcome) -> Outcome:
    """The kernel's source and native/user_asan_driver.c built with AddressSanitizer and run: a read
    or write outside x or y, even one whose value is never used, fails it. Without a sanitizer
    toolchain the check is skipped, and the outcome's notes say so."""
    compiler = build.find_compiler()
    flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address", "-std=c11", "-ffp-contract=off",
             *ISAS[kernel.isa].flags, *kernel.spec.cflags, f"-DSB_USER_SYMBOL={kernel.spec.symbol}"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="softbench-asan-") as tmp:
        exe = os.path.join(tmp, "driver")
        command = [*shlex.split(compiler.command), *flags, "-o", exe, str(native_dir() / "user_asan_driver.c"),
                   str(kernel.spec.path), "-lm"]  # fmt: skip
        try:
            built = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            outcome.address_sanitizer = f"not run: the sanitizer build failed ({exc})"
            outcome.notes.append(f"{kernel.label}: not checked under AddressSanitizer (the build failed: {exc})")
            return outcome
        if built.returncode != 0:
            first = next((ln.strip() for ln in built.stderr.splitlines() if "error" in ln), "no error line")
            outcome.address_sanitizer = f"not run: no sanitizer build here ({first})"
            outcome.notes.append(f"{kernel.label}: not checked under AddressSanitizer (no sanitizer build here: {first})")
            return outcome
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
        try:
            ran = subprocess.run([exe], capture_output=True, text=True, timeout=timeout + 60, env=env,
                                 start_new_session=True)  # fmt: skip
        except subprocess.TimeoutExpired:
            return Outcome(False, f"did not return within {timeout + 60:.3g} s under AddressSanitizer (killed)",
                           "AddressSanitizer", [], outcome.cases, outcome.max_rel_error)  # fmt: skip
    rows = [ln for ln in ran.stdout.splitlines() if ln.startswith("n=")]
    where = rows[-1] if rows else "its first row"
    if ran.returncode == 0:
        outcome.address_sanitizer = "passed"
        outcome.notes.append(f"{kernel.label}: no read or write outside its buffers under AddressSanitizer")
        return outcome
    lines = ran.stderr.splitlines()
    error = next((ln.split("ERROR: AddressSanitizer: ", 1)[1].split(" on ")[0] for ln in lines
                  if "ERROR: AddressSanitizer: " in ln), None)  # fmt: skip
    access = next((ln.split(" at ")[0].strip() for ln in lines if ln.startswith(("READ of size", "WRITE of size"))), "")
    if error is None:
        detail = (lines[-1].strip() if lines else f"exit status {ran.returncode}")
        return Outcome(False, f"failed under AddressSanitizer at {where}: {detail}", f"AddressSanitizer {where}", [],
                       outcome.cases, outcome.max_rel_error)  # fmt: skip
    what = "reads" if access.startswith("READ") else "writes" if access.startswith("WRITE") else "accesses"
    return Outcome(False, f"{what} outside its buffers at {where} (AddressSanitizer: {error}"
                   f"{', ' + access if access else ''})", f"AddressSanitizer {where}", [], outcome.cases,
                   outcome.max_rel_error)  # fmt: skip


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


# --- the child ---------------------------------------------------------------------------------


_report_fd = 1


def _say(**msg: Any) -> None:
    # unbuffered: the parent must see "start" before the kernel runs, in case it never returns
    os.write(_report_fd, (json.dumps(msg) + "\n").encode())


def _child(job: dict[str, Any]) -> int:
    global _report_fd
    _report_fd = job["report_fd"]
    fn, _lib = _function(job["module"], job["symbol"], "kernel")
    ffi = shared_ffi()
    bound = job["max_abs_x"] if job["max_abs_x"] is not None else float("inf")
    for case in verify.cases(job["block"], bound, large=False):
        _say(start=case.name, n=0)
        r = verify.run_case(fn, ffi, case, job["seed"])
        _say(result={"case": r.case, "n": r.n, "passed": r.passed, "detail": r.detail,
                     "max_rel_error": r.max_rel_error if np.isfinite(r.max_rel_error) else None})  # fmt: skip
    # one call at each size the run will time: a kernel that crashes, hangs or writes outside y
    # only at large n is stopped here, not in the measuring process
    for n in job["sizes"]:
        name = f"n={n} (a size of the run)"
        _say(start=name, n=n)
        _say(result=_call_once(fn, ffi, n, job["seed"], name))
    return 0


def _call_once(fn, ffi, n: int, seed: int, name: str) -> dict[str, Any]:
    """One call at n with canaries around y (its accuracy is checked after timing, by the run)."""
    rng = np.random.default_rng(seed)
    xbuf = np.full(n + 2 * GUARD, np.nan, np.float32)
    ybuf = np.full(n + 2 * GUARD, 12345.0, np.float32)
    xbuf[GUARD : GUARD + n] = rng.standard_normal(n, dtype=np.float32) * np.float32(4.0)
    fn(n, ffi.cast("const float *", xbuf[GUARD:].ctypes.data), ffi.cast("float *", ybuf[GUARD:].ctypes.data))
    intact = bool(np.all(ybuf[:GUARD] == 12345.0) and np.all(ybuf[GUARD + n :] == 12345.0))
    return {"case": name, "n": n, "passed": intact, "detail": "" if intact else "wrote outside y[0..n)",
            "max_rel_error": None}


if __name__ == "__main__":
    sys.exit(_child(json.loads(sys.argv[1])))
