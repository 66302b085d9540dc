from pathlib import Path

import pytest

import softbench
from softbench.bench import suites
from softbench.bench import plan
from softbench.bench import sizes
from softbench.errors import InputError
from softbench.bench.sizes import LLCMultiple, Sweep
from softbench.bench.suites import Suite

LLC = 32 * 2**20
PLENTY = 256 * 2**30


@pytest.mark.parametrize(
    "text, n",
    [
        ("4096", 4096), (4096, 4096), ("4Ki", 4096), ("4 Ki", 4096), ("1Mi", 2**20),
        ("2Gi", 2 * 2**30), ("4K", 4000), ("4k", 4000), ("3M", 3_000_000), ("1G", 10**9),
        ("1e6", 10**6), ("1E3", 1000), (1e6, 10**6), ("2.5Ki", 2560), ("1.5K", 1500),
        ("1_000", 1000), (" 12 ", 12), ("3e7", 30_000_000), ("2^26", 2**26), ("2 ^ 10", 1024),
    ],
)  # fmt: skip
def test_parse_size(text, n):
    assert sizes.parse_size(text) == n


@pytest.mark.parametrize(
    "text", ["0", "-5", "1.5", "0.0001K", "1e-3", "", "abc", "4KB", "4Kib", "1 000", True, 2.5, 0, -1,
             float("nan"), float("inf"), None, "1e99", "2^49", "2^99999", "3^4"]
)  # fmt: skip
def test_parse_size_rejects(text):
    with pytest.raises(InputError) as e:
        sizes.parse_size(text)
    msg = str(e.value)
    assert "\n" not in msg
    if isinstance(text, str) and text:
        assert text in msg  # names the text


def test_run_and_profile_take_one_size_grammar():
    """`run --sizes` reads sizes as a suite does; `profile -n` resolves them the same way."""
    s = suites.apply_overrides(suites.load_suite("quick"), sizes="2^12,4Ki,1e3")
    assert s.sizes == (4096, 4096, 1000)
    assert [sizes.resolve_size(t, None) for t in ("2^12", "4Ki", "1e3")] == [4096, 4096, 1000]


@pytest.mark.parametrize("name", ["quick", "paper", "full"])
def test_builtin_suites_load_and_resolve(name):
    s = suites.load_suite(name)
    assert s.name == name and s.description
    assert s.algorithms == suites.ALGORITHMS
    assert s.repetitions >= 5
    ns = plan.resolve_sizes(s, LLC, PLENTY)
    assert ns == sorted(set(ns))
    # Past the STREAM bound: the input alone of the last point is >= 4x the LLC ...
    assert 4 * ns[-1] >= 4 * LLC
    # ... and the one before it is not yet (so the sweep stops right after the bound).
    assert 4 * ns[-2] < 4 * LLC
    assert s.to_dict()["name"] == name


def test_quick_suite_is_small():
    s = suites.load_suite("quick")
    assert s.isas == ("best", "scalar") and s.repetitions == 5 and s.min_time == 0.01
    assert 8 <= len(plan.resolve_sizes(s, LLC, PLENTY)) <= 10
    assert plan.resolve_sizes(s, LLC, PLENTY)[0] == 4096


def test_paper_suite_sizes_and_isas():
    s = suites.load_suite("paper")
    ns = plan.resolve_sizes(s, LLC, PLENTY)
    assert ns[:5] == [1000, 3000, 10_000, 30_000, 100_000]
    assert ns[-1] == 100_000_000  # 3e7 * 4 B < 4 * 32 MiB, so the sweep goes on to 1e8
    sel = plan.resolve_isas(s, ["scalar", "sse2", "avx2"])
    assert sel.isas == ("avx2",) and sel.skipped == ("avx512f",)
    with pytest.raises(InputError, match="none of the suite's ISAs"):
        plan.resolve_isas(s, ["scalar", "neon"])
    assert s.repetitions == 9


def test_models_and_rowlength_suites_are_batches_on_threads():
    m = suites.load_suite("models")
    shapes = plan.resolve_shapes(m, LLC, PLENTY)
    assert (6144, 512) in shapes and (512, 128256) in shapes and all(r > 1 for r, _ in shapes)
    assert plan.resolve_sizes(m, LLC, PLENTY) == [4 * LLC // 4]  # one row past 4x LLC
    assert plan.resolve_threads(m, 16) == ([1, 2, 4, 8, 16], [])
    assert plan.resolve_threads(m, 2) == ([1, 2], [4, 8, 16])  # skipped where there are fewer CPUs
    r = suites.load_suite("rowlength")
    shapes = plan.resolve_shapes(r, LLC, PLENTY)
    assert len({a * b for a, b in shapes}) == 1 and len(shapes) >= 5  # one total size
    assert suites.load_suite("paper").threads == (1, "all")
    with pytest.raises(InputError, match="shape 512x128256 needs"):
        plan.resolve_shapes(m, LLC, 10**9)


def test_threads_and_shape_overrides():
    s = suites.apply_overrides(suites.load_suite("models"), threads="1,2,all", shapes="8x8,1x4xLLC")
    assert s.threads == (1, 2, "all") and s.sizes == ()  # --shape alone replaces the suite's sizes too
    assert plan.resolve_shapes(s, LLC, PLENTY) == [(8, 8), (1, LLC)]
    assert plan.resolve_threads(s, 4) == ([1, 2, 4], [])
    with pytest.raises(InputError, match="3 threads need 3 CPUs"):
        plan.resolve_threads(suites.apply_overrides(s, threads="3"), 2, strict=True)
    q = suites.apply_overrides(suites.load_suite("models"), sizes="1Ki")
    assert q.shapes == () and q.sizes == (1024,)
    assert sizes.parse_shape("4Kix8Ki") == sizes.Shape(4096, 8192)


def test_full_suite_isas_all():
    s = suites.load_suite("full")
    assert s.isas == ("all",) and s.repetitions == 9
    sel = plan.resolve_isas(s, ["sse2", "avx2", "avx512f"])
    assert sel.isas == ("scalar", "sse2", "avx2", "avx512f")


def test_resolve_isas_best_and_strict():
    s = Suite(name="t", sizes=(1000,), isas=("best", "scalar", "avx512f"))
    assert plan.resolve_isas(s, ["sse2", "avx2"]).isas == ("avx2", "scalar")
    assert plan.resolve_isas(s, ["neon"]).isas == ("neon", "scalar")
    with pytest.raises(InputError, match="avx512f"):
        plan.resolve_isas(s, ["sse2"], strict=True)
    assert plan.best_isa([]) == "scalar"


def test_suites_dir_finds_the_repository_folder():
    d = suites.suites_dir()
    assert d in (Path(softbench.__file__).resolve().parent / "suites",
                 Path(softbench.__file__).resolve().parent.parent / "suites")  # fmt: skip
    assert {"quick", "paper", "full"} <= set(suites.list_suites())


def write(tmp_path, text, name="x.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_by_path_and_defaults(tmp_path):
    p = write(tmp_path, 'sizes = [1000, "4Ki", "1e6", "4xLLC", 1000]\n', "mine.toml")
    s = suites.load_suite(str(p))
    assert s.name == "mine" and s.algorithms == suites.ALGORITHMS and s.isas == ("best",)
    assert s.repetitions == 5 and s.min_time == 0.01 and s.warmup == 1 and s.seed == 0
    assert s.threads == (1,)
    assert s.sizes == (1000, 4096, 1_000_000, LLCMultiple(4.0), 1000)
    assert plan.resolve_sizes(s, LLC, PLENTY) == [1000, 4096, 1_000_000, LLC // 4 * 4]
    assert s.to_dict()["sizes"] == [1000, 4096, 1_000_000, "4xLLC", 1000]


def test_sweep_with_numeric_to_includes_the_end(tmp_path):
    p = write(tmp_path, '[sizes]\nfrom = 1000\nto = "1M"\npoints_per_decade = 1\n')
    s = suites.load_suite(p)
    assert plan.resolve_sizes(s, None, None) == [1000, 10_000, 100_000, 1_000_000]
    p = write(tmp_path, 'sizes = {sequence = "1-2-5", from = 100, to = 1000}\n')
    assert plan.resolve_sizes(suites.load_suite(p), None, None) == [100, 200, 500, 1000]


def test_llc_unknown_is_an_error_only_when_needed():
    s = suites.load_suite("quick")
    with pytest.raises(InputError, match="last-level cache size is unknown"):
        plan.resolve_sizes(s, None, PLENTY)
    t = Suite(name="t", sizes=(1000, 2000))
    assert plan.resolve_sizes(t, None, PLENTY) == [1000, 2000]


@pytest.mark.parametrize(
    "text, key, fragment",
    [
        ('sizes = [1000\nrepetitions = 5\n', None, "not valid TOML"),
        ('sizes = [1000]\nrepetitions = "three"\n', "repetitions", 'must be an integer >= 5 and <= 1000, got "three"'),
        ("sizes = [1000]\nrepetitions = 3\n", "repetitions", "must be an integer >= 5 and <= 1000, got 3"),
        ("sizes = [1000]\nrepetitions = true\n", "repetitions", "got true"),
        ("sizes = [1000]\nrepetition = 9\n", "repetition", "did you mean 'repetitions'"),
        ('sizes = [1000]\nalgorithms = ["tow-pass"]\n', "algorithms", "unknown algorithm \"tow-pass\" (did you mean 'two-pass'?)"),
        ('sizes = [1000]\nalgorithms = "fast"\n', "algorithms", "unknown algorithm \"fast\""),
        ('sizes = [1000]\nisas = ["avx3"]\n', "isas", "unknown ISA"),
        ("sizes = [1000]\nisas = []\n", "isas", "must be"),
        ("sizes = [1000]\nmin_time = 0\n", "min_time", "a number of seconds > 0"),
        ('sizes = [1000]\nmin_time = "10ms"\n', "min_time", "a number of seconds > 0"),
        ("sizes = [1000]\nwarmup = -1\n", "warmup", "an integer >= 0"),
        ("sizes = [1000]\nseed = 1.5\n", "seed", "an integer >= 0"),
        ("sizes = [1000]\nthreads = [0]\n", "threads", "a list of integers >= 1"),
        ('sizes = [1000]\nthreads = ["most"]\n', "threads", 'or "all"'),
        ('shapes = ["4096"]\n', "shapes", "ROWSxCOLUMNS"),
        ('shapes = ["0x512"]\n', "shapes", "rows"),
        ('shapes = ["4x1.5"]\n', "shapes", "not a whole number"),
        ("shapes = []\n", "shapes", "no sizes"),
        ("shapes = 4096\n", "shapes", "a list"),
        ("sizes = [1000]\nname = 3\n", "name", "a non-empty string"),
        ("repetitions = 5\n", "sizes", "is missing"),
        ("sizes = []\n", "sizes", "non-empty list"),
        ('sizes = ["1.5K7"]\n', "sizes", '"1.5K7" is not a number of elements'),
        ("sizes = [0]\n", "sizes", "must be positive"),
        ("sizes = 1000\n", "sizes", "a list of sizes or a sweep table"),
        ('sizes = {from = "4Ki", to = "4xLLC"}\n', "sizes", "exactly one of 'points_per_decade' and 'sequence'"),
        ('sizes = {from = "4Ki", to = "4xLLC", points = 2}\n', "sizes.points", "not a sweep key"),
        ('sizes = {to = "4xLLC", points_per_decade = 2}\n', "sizes.from", "is missing"),
        ('sizes = {from = "4xLLC", to = "8xLLC", points_per_decade = 2}\n', "sizes.from", "a number of elements"),
        ("sizes = {from = 1000, to = 10, points_per_decade = 2}\n", "sizes.to", "must not be below"),
        ('sizes = {from = 1000, to = "4xLLC", points_per_decade = 0}\n', "sizes.points_per_decade", "from 1 to 100"),
        ('sizes = {from = 1000, to = "4xLLC", sequence = "3-1"}\n', "sizes.sequence", "increasing digits"),
    ],
)  # fmt: skip
def test_malformed_suite_errors_name_file_and_key(tmp_path, text, key, fragment):
    p = write(tmp_path, text, "bad-suite.toml")
    with pytest.raises(InputError) as e:
        suites.load_suite(p)
    msg = str(e.value)
    assert "bad-suite.toml" in msg and "\n" not in msg
    if key is not None:
        assert f"key '{key}'" in msg
    assert fragment in msg


def test_missing_suite_file_and_unknown_name(tmp_path):
    with pytest.raises(InputError, match="nope.toml: no such suite file"):
        suites.load_suite(tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"unknown suite 'quik' \(did you mean 'quick'\?\).*paper"):
        suites.load_suite("quik")
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="bin.toml"):
        suites.load_suite(p)


def test_memory_refusal_names_the_numbers():
    s = Suite(name="t", sizes=(1000, 10**9), source="suites/t.toml")
    avail = 4 * 10**9
    with pytest.raises(InputError) as e:
        plan.resolve_sizes(s, LLC, avail)
    msg = str(e.value)
    assert "suites/t.toml" in msg and "N=1,000,000,000" in msg
    assert f"{sizes.bytes_needed(10**9):,} bytes" in msg and f"{avail:,} bytes" in msg
    assert sizes.bytes_needed(10**9) >= 4 * 4 * 10**9  # x, y and the twin's two buffers
    # A sweep may be capped instead; explicit sizes may not.
    quick = suites.load_suite("quick")
    small = sizes.bytes_needed(1_300_000)
    capped = plan.resolve_sizes(quick, LLC, small, cap=True)
    assert capped and max(capped) <= 1_300_000
    with pytest.raises(InputError):
        plan.resolve_sizes(quick, LLC, small)
    with pytest.raises(InputError):
        plan.resolve_sizes(s, LLC, avail, cap=True)


def test_apply_overrides():
    base = suites.load_suite("quick")
    s = suites.apply_overrides(base, algorithms="two-pass,online", isas=["avx2"], sizes="4Ki,1M,4xLLC",
                               repetitions=9, min_time=0.05, seed=7, threads=[1, 2], warmup=0)  # fmt: skip
    assert base.repetitions == 5  # the original is unchanged
    assert s.algorithms == ("two-pass", "online") and s.isas == ("avx2",)
    assert s.sizes == (4096, 1_000_000, LLCMultiple(4.0))
    assert (s.repetitions, s.min_time, s.seed, s.threads, s.warmup) == (9, 0.05, 7, (1, 2), 0)
    assert suites.apply_overrides(base) == base
    assert suites.apply_overrides(base, algorithms="all").algorithms == suites.ALGORITHMS
    sweep = suites.apply_overrides(base, sizes={"from": 1000, "to": 100_000, "points_per_decade": 1})
    assert sweep.sizes == Sweep(1000, 100_000, points_per_decade=1)
    with pytest.raises(InputError, match="command line: option 'repetitions' must be an integer >= 5 and <= 1000, got 3"):
        suites.apply_overrides(base, repetitions=3)
    with pytest.raises(InputError, match="option 'algorithms' has unknown algorithm"):
        suites.apply_overrides(base, algorithms=["fast"])
    with pytest.raises(InputError, match="option 'sizes'"):
        suites.apply_overrides(base, sizes="4Ki,-1")
