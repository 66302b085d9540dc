"""The correctness matrix: every kernel against a float64 reference (algorithms.md's guarantees).

Used by `softbench verify`, by the test suite, and by `softbench run`, which refuses to time a
kernel that fails. Each case builds an input, runs the kernel with guard zones around both
buffers, and checks the output against numpy in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from softbench.bridge.build import load
from softbench.bridge.resolve import kernel
from softbench.catalog import algorithms

FLT_MIN = float(np.finfo(np.float32).tiny)
# algorithms.md: max relative error <= 1e-5 at every N, for outputs >= FLT_MIN
REL_TOLERANCE = 1e-5
GUARD = 64  # floats of canary before and after each buffer
LARGE_N = 1 << 26  # "accuracy does not decay with N: measure it at 2^26 at least"


def reference(x: np.ndarray) -> np.ndarray:
    """softmax in float64 (shift by the max; -inf masked entries are exact zeros)."""
    xd = x.astype(np.float64)
    e = np.exp(xd - xd.max())
    return e / e.sum()


def max_rel_error(y: np.ndarray, ref: np.ndarray) -> float:
    """Max relative error over outputs whose reference is >= FLT_MIN. Outputs below FLT_MIN may be
    flushed to zero but must not exceed 2*FLT_MIN (counted as an error of 1 if they do)."""
    big = ref >= FLT_MIN
    yd = y.astype(np.float64)
    err = float(np.max(np.abs(yd[big] - ref[big]) / ref[big])) if big.any() else 0.0
    if not np.all(np.isfinite(yd)):
        return float("inf")
    small = ~big
    if small.any() and np.any(np.abs(yd[small]) > 2 * FLT_MIN):
        return max(err, 1.0)
    return err


@dataclass
class Case:
    name: str
    make: Callable[[np.random.Generator], np.ndarray]
    expect: str = "accurate"  # or "nan": every output NaN
    offset: int = 0  # floats by which the input/output start past a 64-byte boundary


@dataclass
class CaseResult:
    case: str
    n: int
    passed: bool
    max_rel_error: float
    detail: str = ""


@dataclass
class KernelReport:
    algorithm: str
    isa: str
    results: list[CaseResult] = field(default_factory=list)
    tile: str | None = None  # None: the ISA's default tile

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def max_rel_error(self) -> float:
        errs = [r.max_rel_error for r in self.results if np.isfinite(r.max_rel_error)]
        return max(errs, default=0.0)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def _normal(n: int, scale: float, shift: float = 0.0):
    return lambda rng: (rng.standard_normal(n) * scale + shift).astype(np.float32)


def _uniform(n: int, lo: float, hi: float):
    return lambda rng: rng.uniform(lo, hi, n).astype(np.float32)


def _masked(n: int, fraction: float):
    def make(rng):
        x = (rng.standard_normal(n) * 3).astype(np.float32)
        x[rng.random(n) < fraction] = -np.inf
        x[rng.integers(n)] = 1.0  # at least one finite entry
        return x

    return make


def _with(n: int, value: float, where: str = "middle"):
    def make(rng):
        x = rng.standard_normal(n).astype(np.float32)
        x[{"first": 0, "middle": n // 2, "last": n - 1}[where]] = value
        return x

    return make


def cases(block: int, max_abs_x: float, large: bool = True) -> Iterator[Case]:
    """The correctness matrix for a kernel whose unrolled iteration covers `block` floats."""
    # every tail length 1 .. 2 x (vector width x unroll) + 1
    for n in range(1, 2 * block + 2):
        yield Case(f"tail n={n}", _normal(n, 4.0))
    for n in (1000, 4097, 65537, 1_000_003):
        yield Case(f"random n={n}", _normal(n, 4.0))
    for offset in (1, 2, 3, 5, 7):  # 4-byte aligned only, at every lane offset a vector could have
        yield Case(f"misaligned by {offset} floats", _normal(4 * block + 3, 4.0), offset=offset)
    for scale in (0.01, 1.0, 30.0, 300.0):
        yield Case(f"scale {scale}", _normal(10_007, scale))
    yield Case("all equal", lambda rng: np.full(10_007, 3.5, np.float32))
    yield Case("one dominant", _with(10_007, 50.0))
    yield Case("rows in [1e3, 1e4]", _uniform(10_007, 1e3, 1e4))
    yield Case("rows in [1e3, 1.01e3]", _uniform(10_007, 1e3, 1.01e3))
    yield Case("rows around -1e6", _normal(10_007, 5.0, -1e6))
    yield Case("rows around +1e6", _normal(10_007, 5.0, 1e6))
    bound = max_abs_x if np.isfinite(max_abs_x) else 1e30
    yield Case(f"rows at -|x|max ({-bound:g})", _normal(4099, 3.0 * max(1.0, bound * 1e-7), -bound))
    yield Case(f"rows at +|x|max ({bound:g})", _normal(4099, 3.0 * max(1.0, bound * 1e-7), bound))
    yield Case("rows below the exp range (-200..-100)", _uniform(4099, -200.0, -100.0))
    for fraction in (0.3, 0.99):
        yield Case(f"-inf mask {fraction:.0%}", _masked(10_007, fraction))
    yield Case("-inf mask in a tail", _masked(block + 3, 0.5))
    for n in (1, block - 1, 10_007):
        yield Case(f"all -inf n={n}", lambda rng, n=n: np.full(n, -np.inf, np.float32), expect="nan")
    for where in ("first", "middle", "last"):
        yield Case(f"NaN {where}", _with(4099, np.nan, where), expect="nan")
        yield Case(f"+inf {where}", _with(4099, np.inf, where), expect="nan")
    yield Case("+inf and -inf", lambda rng: np.array([np.inf, -np.inf, 0.0], np.float32), expect="nan")
    if large:
        yield Case(f"large n={LARGE_N} random", _normal(LARGE_N, 2.0))
        yield Case(f"large n={LARGE_N} all equal", lambda rng: np.full(LARGE_N, 1.0, np.float32))


# Inputs and references of the large cases, shared by every kernel checked in this process
# (building a 2^26-element float64 reference takes seconds; it is the same for every kernel).
_large_inputs: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}


def clear_cache() -> None:
    _large_inputs.clear()


def _input_and_reference(case: Case, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    key = (case.name, seed)
    if key in _large_inputs:
        return _large_inputs[key]
    x = case.make(np.random.default_rng(seed))
    ref = reference(x) if case.expect == "accurate" else None
    if x.size >= 1 << 20:
        _large_inputs[key] = (x, ref)
    return x, ref


def run_case(fn, ffi, case: Case, seed: int = 0) -> CaseResult:
    """Run one case through the cffi kernel pointer fn with guard zones and check it."""
    x, ref = _input_and_reference(case, seed)
    n = x.size
    # Guards: NaN after x (a kernel reading past the end poisons its own sum), canaries around y
    # (a kernel writing outside y is caught). Reads before x are caught by the ASan C driver.
    xbuf = np.full(n + 2 * GUARD + 16, np.nan, np.float32)
    ybuf = np.full(n + 2 * GUARD + 16, 12345.0, np.float32)
    xs = _aligned_view(xbuf, GUARD, case.offset, n)
    ys = _aligned_view(ybuf, GUARD, case.offset, n)
    xs[:] = x
    fn(n, ffi.cast("const float *", xs.ctypes.data), ffi.cast("float *", ys.ctypes.data))
    y = ys.copy()
    lo = (ys.ctypes.data - ybuf.ctypes.data) // 4
    outside = np.concatenate([ybuf[:lo], ybuf[lo + n :]])
    if np.any(outside != 12345.0):
        return CaseResult(case.name, n, False, float("inf"), "wrote outside y[0..n)")
    if case.expect == "nan":
        ok = bool(np.all(np.isnan(y)))
        return CaseResult(case.name, n, ok, 0.0, "" if ok else f"{int(np.sum(~np.isnan(y)))} outputs are not NaN")
    masked = np.isneginf(x)
    if masked.any() and np.any(y[masked] != 0.0):
        return CaseResult(case.name, n, False, float("inf"), "-inf inputs did not give exact zeros")
    err = max_rel_error(y, ref)
    ok = err <= REL_TOLERANCE
    detail = "" if ok else f"max relative error {err:.3g} > {REL_TOLERANCE:g}"
    if not np.all(np.isfinite(y)):
        detail = f"{int(np.sum(~np.isfinite(y)))} non-finite outputs"
    return CaseResult(case.name, n, ok, err, detail)


def _aligned_view(buf: np.ndarray, guard: int, offset: int, n: int) -> np.ndarray:
    """n floats of buf starting `offset` floats past a 64-byte boundary, after >= guard floats."""
    start = guard
    while (buf.ctypes.data + 4 * start) % 64:
        start += 1
    start += offset
    return buf[start : start + n]


def verify_kernel(algorithm: str, isa: str, large: bool = True, seed: int = 0, variant: str | None = None,
                  tile: str | None = None) -> KernelReport:
    """The correctness matrix on one kernel; `tile` None is the ISA's default tile. The tail
    cases follow the tile's own block (lanes x unroll), as its module was compiled."""
    fn, module = kernel(algorithm, isa, variant, tile)
    report = KernelReport(algorithm, isa, tile=tile)
    alg = algorithms()[algorithm]
    for case in cases(block_of(isa, tile), alg.max_abs_x, large=large):
        report.results.append(run_case(fn, module.ffi, case, seed))
    return report


def block_of(isa: str, tile: str | None = None) -> int:
    """Floats per unrolled iteration (SB_W x SB_UNROLL) of the module of the ISA's tile, as compiled."""
    return int(getattr(load(isa, tile).lib, f"sb_block_floats__{isa}"))


@dataclass
class ExpAccuracy:
    isa: str
    max_ulp: float  # exp(x) for x in [ln(FLT_MIN), 0] (the three-pass and online exp)
    max_ulp_ext: float  # the ratio m_i 2^n_i / (m_j 2^n_j) against exp(x_i - x_j), |x| <= 2^20 (two-pass's use)
    points: int
    bound_ulp: float  # what the ISA's exp promises (SB_EXP_MAX_ULP beside it in native/isa/<isa>.h)
    bound_ulp_ext: float  # ... and its extended-exponent form (SB_EXP_EXT_MAX_ULP)

    @property
    def within_bounds(self) -> bool:
        return self.max_ulp <= self.bound_ulp and self.max_ulp_ext <= self.bound_ulp_ext


def all_passed(reports, exp: dict[str, ExpAccuracy]) -> bool:
    """`softbench verify`'s verdict: every kernel passed its cases and every ISA's exp kept its bounds."""
    return all(r.passed for r in reports) and all(e.within_bounds for e in exp.values())


def exp_accuracy(isa: str, points: int = 1 << 22) -> ExpAccuracy:
    """Max error in ULP of the ISA's exp over a dense sweep (plus every float in [-1, 0])."""
    mod = load(isa)
    ffi, lib = mod.ffi, mod.lib
    lo = float(np.float32(-87.33654))
    x = np.concatenate([
        np.linspace(lo, 0.0, points, dtype=np.float32),
        # every float32 in [-1, -2^-10): the reduced argument's whole range, bit by bit
        np.arange(np.float32(-2**-10).view(np.uint32), np.float32(-1.0).view(np.uint32), dtype=np.uint32)
        .view(np.float32)[: 1 << 23],
    ])
    y = np.empty_like(x)
    getattr(lib, f"sb_exp_nonpos_array__{isa}")(x.size, ffi.cast("const float *", x.ctypes.data),
                                                ffi.cast("float *", y.ctypes.data))
    max_ulp = _ulp_error(y.astype(np.float64), np.exp(x.astype(np.float64)))

    # The extended form as two-pass uses it: only ratios m_i 2^n_i / (m_j 2^n_j) reach the output,
    # for x_j the row's larger input and x_i within ln(FLT_MIN) below it (smaller shares flush).
    # So each x_i of the sweep is paired with an x_j up to 87.3 above it, and the ratio is checked
    # against exp(x_i - x_j). An error factor that depends on n only (a one-constant reduction's
    # e^(n * (ln2 - LN2_HI)), up to 3e-3 at |x| = 2^20) cancels there, as it does in the kernel.
    xi = np.concatenate([np.linspace(-87.0, 88.0, points // 2, dtype=np.float32),
                         np.linspace(-2.0**20, 2.0**20 - 88.0, points // 2, dtype=np.float32)])
    gap = np.random.default_rng(0).uniform(0.0, 87.3, xi.size)
    xj = (xi.astype(np.float64) + gap).astype(np.float32)
    max_ulp_ext = ext_ratio_ulp(xi, *_exp_ext(lib, ffi, isa, xi), xj, *_exp_ext(lib, ffi, isa, xj))
    return ExpAccuracy(isa, max_ulp, max_ulp_ext, int(x.size + 2 * xi.size),
                       float(getattr(lib, f"sb_exp_max_ulp__{isa}")), float(getattr(lib, f"sb_exp_ext_max_ulp__{isa}")))


def ext_ratio_ulp(xi, mi, ni, xj, mj, nj) -> float:
    """Max error, in float32 ULP, of m_i 2^n_i / (m_j 2^n_j) against exp(x_i - x_j)."""
    got = (mi.astype(np.float64) / mj.astype(np.float64)) * np.exp2(ni.astype(np.float64) - nj.astype(np.float64))
    # x_i - x_j and exp in float64 are off by ~2^-53 relative at most: far below a float32 ULP
    return _ulp_error(got, np.exp(xi.astype(np.float64) - xj.astype(np.float64)))


def _exp_ext(lib, ffi, isa: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, n) of the ISA's extended-exponent exp, exp(x) = m * 2^n."""
    m, e = np.empty_like(x), np.empty_like(x)
    getattr(lib, f"sb_exp_ext_array__{isa}")(x.size, ffi.cast("const float *", x.ctypes.data),
                                             ffi.cast("float *", m.ctypes.data), ffi.cast("float *", e.ctypes.data))
    return m, e


def _ulp_error(got: np.ndarray, exact: np.ndarray) -> float:
    normal = exact >= FLT_MIN
    ulp = np.spacing(exact[normal].astype(np.float32)).astype(np.float64)
    return float(np.max(np.abs(got[normal] - exact[normal]) / ulp))
