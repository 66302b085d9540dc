"""softbench.softmax(): what it accepts, what it refuses, and that every choice is honoured."""

import numpy as np
import pytest

import softbench
from softbench.host import isa
from softbench.errors import InputError
from softbench.catalog import ISAS, algorithms


def ref(x):
    e = np.exp(x.astype(np.float64) - x.max())
    return e / e.sum()


def test_default_is_two_pass_on_best_isa_and_correct():
    x = np.random.default_rng(0).standard_normal(1234).astype(np.float32)
    y = softbench.softmax(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, ref(x), rtol=1e-5)


@pytest.mark.parametrize("alg", list(algorithms()))
@pytest.mark.parametrize("isa_name", isa.runnable())
def test_every_algorithm_and_isa_in_place_and_out(alg, isa_name):
    x = np.random.default_rng(1).standard_normal(777).astype(np.float32)
    out = np.empty_like(x)
    assert softbench.softmax(x, alg, isa_name, out=out) is out
    np.testing.assert_allclose(out, ref(x), rtol=1e-5)
    inplace = x.copy()
    softbench.softmax(inplace, alg, isa_name, out=inplace)
    np.testing.assert_array_equal(inplace, out)


def test_empty_row_is_a_no_op():
    assert softbench.softmax(np.empty(0, np.float32)).size == 0


@pytest.mark.parametrize(
    "x,exc,words",
    [
        (np.zeros(4, np.float64), TypeError, "float32"),
        ([1.0, 2.0], TypeError, "numpy.ndarray"),
        (np.zeros((2, 2, 2), np.float32), ValueError, "2-D"),
        (np.zeros(8, np.float32)[::2], ValueError, "C-contiguous"),
        (np.frombuffer(bytes(17), np.float32, count=4, offset=1), ValueError, "aligned"),
    ],
)
def test_bad_inputs_raise_clear_errors(x, exc, words):
    with pytest.raises(exc, match=words):
        softbench.softmax(x)


def test_bad_out():
    x = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="elements"):
        softbench.softmax(x, out=np.zeros(7, np.float32))
    with pytest.raises(TypeError, match="float32"):
        softbench.softmax(x, out=np.zeros(8, np.float64))
    buf = np.zeros(9, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        softbench.softmax(buf[:8], out=buf[1:])
    ro = np.zeros(8, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        softbench.softmax(x, out=ro)


def test_unknown_algorithm_and_isa_name_the_choices():
    x = np.zeros(8, np.float32)
    with pytest.raises(InputError, match="two-pass") as e:
        softbench.softmax(x, algorithm="four-pass")
    assert isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match="avx2"):
        softbench.softmax(x, isa="avx1024")


def test_isa_the_host_lacks_is_refused_with_the_reason():
    missing = [n for n, s in isa.host_status().items() if not s.runs]
    assert missing  # neon on x86, or the x86 ISAs on Arm
    with pytest.raises(ValueError, match="does not run on this host"):
        softbench.softmax(np.zeros(8, np.float32), isa=missing[0])


def test_isa_decision_from_cpu_flags():
    from softbench.host.isa import status_from_features

    x86_avx512_no_os = {"sse2": 1, "avx": 1, "fma": 1, "avx2": 1, "avx512f": 1, "os_avx": 1, "os_avx512": 0, "xcr0": 0x7}
    st = status_from_features(x86_avx512_no_os, "x86_64")
    assert st["avx2"].runs and st["sse2"].runs and st["scalar"].runs
    assert not st["avx512f"].runs and "OS does not enable AVX-512" in st["avx512f"].reason
    assert not st["neon"].runs and "aarch64" in st["neon"].reason
    full = dict(x86_avx512_no_os, os_avx512=1, xcr0=0xE7)
    assert status_from_features(full, "x86_64")["avx512f"].runs
    no_fma = dict(x86_avx512_no_os, fma=0)
    assert "FMA" in status_from_features(no_fma, "x86_64")["avx2"].reason
    arm = status_from_features({"neon": 1}, "aarch64")
    assert arm["neon"].runs and arm["scalar"].runs and not arm["avx2"].runs
    assert [n for n in ISAS if arm[n].runs] == ["neon", "scalar"]


@pytest.mark.parametrize("variant", [None, "auto", "temporal", "nt"])
def test_store_variants_are_selectable_by_name(variant):
    x = np.random.default_rng(2).standard_normal(5000).astype(np.float32)
    np.testing.assert_allclose(softbench.softmax(x, "three-pass-reload", variant=variant), ref(x), rtol=1e-5)


def test_unknown_variant_names_the_choices():
    with pytest.raises(ValueError, match="temporal, nt"):
        softbench.softmax(np.zeros(8, np.float32), variant="streaming")


@pytest.mark.parametrize("isa_name", isa.runnable())
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_a_nan_or_inf_anywhere_poisons_the_row_through_the_api(isa_name, value):
    """Issue #10: on AVX-512, softmax(x) with a NaN first or a +inf anywhere returned finite
    numbers (head, main loop and tail; one thread and a row split across two)."""
    for n in (5, 100, 4099):
        for pos in (0, n // 2, n - 1):
            x = np.linspace(-3, 3, n, dtype=np.float32)
            x[pos] = value
            for threads in (1, 2):
                for alg in algorithms():
                    y = softbench.softmax(x, algorithm=alg, isa=isa_name, threads=threads)
                    assert np.isnan(y).all(), (alg, n, pos, threads, int((~np.isnan(y)).sum()))
