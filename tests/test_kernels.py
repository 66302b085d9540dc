"""Every kernel that runs on this host, on the whole correctness matrix (softbench.verify)."""

import numpy as np
import pytest

import isa_ledger
from softbench.bridge import build
from softbench.host import isa
from softbench.bench import verify
from softbench.catalog import algorithms

KERNELS = [(a, i) for i in isa.runnable() for a in algorithms()]
IDS = [f"{a}-{i}" for a, i in KERNELS]


def _cases(isa_name, alg, large):
    return list(verify.cases(verify.block_of(isa_name), algorithms()[alg].max_abs_x, large))


@pytest.mark.parametrize("alg,isa_name", KERNELS, ids=IDS)
def test_kernel_matrix(alg, isa_name):
    """Tail lengths, misalignment, scales, huge inputs, -inf masks, NaN/inf rows."""
    fn = build.load(isa_name).kernels[alg]
    ffi = build.load(isa_name).ffi
    failures = []
    cases = _cases(isa_name, alg, large=False)
    assert len(cases) > 2 * verify.block_of(isa_name)  # every tail length is there
    for case in cases:
        r = verify.run_case(fn, ffi, case)
        if not r.passed:
            failures.append(f"{case.name}: {r.detail}")
    assert not failures, failures
    isa_ledger.ran(isa_name, "kernel matrix")


@pytest.mark.parametrize("alg,isa_name", KERNELS, ids=IDS)
def test_accuracy_does_not_decay_at_2_to_26(alg, isa_name):
    fn = build.load(isa_name).kernels[alg]
    ffi = build.load(isa_name).ffi
    large = [c for c in _cases(isa_name, alg, large=True) if c.name.startswith("large")]
    assert large
    for case in large:
        r = verify.run_case(fn, ffi, case)
        assert r.passed, f"{case.name}: {r.detail}"
        assert r.max_rel_error <= verify.REL_TOLERANCE


def test_plain_float_accumulation_would_fail_the_large_case():
    """The large 'all equal' case is adversarial for real: a float32 running sum of 2^26 ones is off
    by far more than the tolerance, so a kernel that accumulated naively could not pass."""
    acc = np.float32(0)
    ones = np.ones(1 << 26, np.float32)
    # np.cumsum accumulates sequentially in the array's dtype
    acc = np.cumsum(ones, dtype=np.float32)[-1]
    assert abs(float(acc) - 2**26) / 2**26 > 1e-2


@pytest.mark.parametrize("isa_name", isa.runnable())
def test_exp_accuracy(isa_name):
    acc = verify.exp_accuracy(isa_name, points=1 << 18)
    # each ISA declares its exp's bound beside it (SB_EXP_MAX_ULP): about 2 ULP for rr2, up to
    # 4.8 for rr1 (README "Performance"); the extended form over |x| <= 2^20 (SB_EXP_EXT_MAX_ULP)
    assert 0 < acc.max_ulp <= acc.bound_ulp <= 6.0
    assert 0 < acc.max_ulp_ext <= acc.bound_ulp_ext <= 32.0
    assert acc.within_bounds


def test_verify_catches_a_wrong_kernel():
    """A kernel that computes the wrong thing fails verify: use exp without normalisation."""
    mod = build.load(isa.best())
    wrong = getattr(mod.lib, f"sb_exp_nonpos_array__{isa.best()}")
    case = verify.Case("random", lambda rng: -np.abs(rng.standard_normal(1000)).astype(np.float32))
    r = verify.run_case(wrong, mod.ffi, case)
    assert not r.passed and r.max_rel_error > 1.0


def test_verify_catches_writes_outside_the_output():
    mod = build.load("scalar")
    fn = mod.kernels["two-pass"]

    @mod.ffi.callback("void(size_t, const float *, float *)")
    def overrun(n, x, y):
        fn(n, x, y)
        y[n] = 0.5  # one past the end

    r = verify.run_case(overrun, mod.ffi, verify.Case("random", lambda rng: rng.standard_normal(100).astype(np.float32)))
    assert not r.passed and "outside" in r.detail


def test_masked_entries_are_exact_zeros_and_rest_matches_unmasked_softmax():
    import softbench

    rng = np.random.default_rng(3)
    x = rng.standard_normal(1000).astype(np.float32)
    mask = rng.random(1000) < 0.5
    xm = x.copy()
    xm[mask] = -np.inf
    for alg in algorithms():
        y = softbench.softmax(xm, alg)
        assert np.all(y[mask] == 0.0)
        expected = softbench.softmax(x[~mask].copy(), alg)
        np.testing.assert_allclose(y[~mask], expected, rtol=2e-6)
        assert abs(float(y.sum(dtype=np.float64)) - 1.0) < 1e-5


@pytest.mark.parametrize("variant", ["temporal", "nt"])
@pytest.mark.parametrize("alg,isa_name", KERNELS, ids=IDS)
def test_store_variants_on_tails_and_misaligned_outputs(alg, isa_name, variant):
    """The forced store variants: non-temporal stores need an aligned output, so every tail length
    and every misalignment (where the aligning head is written first) is checked."""
    mod = build.load(isa_name)
    fn = mod.variants[(alg, variant)][0]
    cases = [c for c in _cases(isa_name, alg, large=False) if c.name.startswith(("tail", "misaligned", "-inf mask", "all -inf"))]
    failures = [f"{c.name}: {r.detail}" for c in cases if not (r := verify.run_case(fn, mod.ffi, c)).passed]
    assert not failures, failures


def test_size_selected_kernels_switch_to_nt_stores_past_the_llc():
    """The default kernel is the nt variant from sb_nt_min_bytes on: set the threshold low and the
    default kernel must write exactly what the nt variant writes (and the temporal one below it)."""
    mod = build.load(isa.best())
    x = np.random.default_rng(5).standard_normal(10_000).astype(np.float32)
    outs = {}
    for threshold in (4, 1 << 62):
        build.set_nt_min_bytes(mod, threshold)
        y = np.empty_like(x)
        mod.kernels["two-pass"](x.size, mod.ffi.cast("const float *", x.ctypes.data), mod.ffi.cast("float *", y.ctypes.data))
        outs[threshold] = y
    build.set_nt_min_bytes(mod, build.nt_min_bytes())
    np.testing.assert_allclose(outs[4], outs[1 << 62], rtol=1e-6)


def test_an_exp_beyond_its_declared_bound_fails_verify():
    good = verify.ExpAccuracy("avx2", 4.75, 20.0, 10, 6.0, 32.0)
    bad = verify.ExpAccuracy("sse2", 3.5, 20.0, 10, 3.0, 32.0)
    bad_ext = verify.ExpAccuracy("sse2", 2.3, 40.0, 10, 3.0, 32.0)
    assert good.within_bounds and not bad.within_bounds and not bad_ext.within_bounds
    assert verify.all_passed([], {"avx2": good})
    assert not verify.all_passed([], {"avx2": good, "sse2": bad})
    assert not verify.all_passed([], {"sse2": bad_ext})


def test_the_extended_exp_ratio_check_forgives_a_shared_factor_and_catches_noise():
    # what two-pass needs of m * 2^n: ratios within a row; a factor that depends on n only (a
    # one-constant reduction's e^(n * (ln2 - LN2_HI))) cancels there, per-element error does not
    rng = np.random.default_rng(1)
    xi = rng.uniform(-2.0**20, 2.0**20, 4096).astype(np.float32)
    xj = (xi.astype(np.float64) + rng.uniform(0, 87.3, xi.size)).astype(np.float32)

    def ext(x, error):
        n = np.round(x.astype(np.float64) / np.log(2.0))
        return (np.exp(x.astype(np.float64) - n * np.log(2.0)) * error(n)).astype(np.float32), n.astype(np.float32)

    shared = lambda n: np.exp(n * 1.9e-9)  # up to 2.9e-3 at |x| = 2^20: 48,000 ULP on m alone
    assert verify.ext_ratio_ulp(xi, *ext(xi, shared), xj, *ext(xj, shared)) < 8
    noisy = lambda n: 1 + 1e-5 * rng.standard_normal(n.size)
    assert verify.ext_ratio_ulp(xi, *ext(xi, noisy), xj, *ext(xj, noisy)) > 32
