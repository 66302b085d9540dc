"""Kernel tiles (native/tiles.def): the table, the names, one module per tile, every tile of every
ISA this host runs on the correctness matrix, tiles in result files, `run --variants` and
`tune --tiles` end to end, and what softmax(algorithm="auto") runs after a tiled tuning."""

import json
import re

import numpy as np
import pytest

import isa_ledger
import softbench
from cli_runner import invoke
from softbench import api, catalog
from softbench.analysis import points, same_machine, tuning
from softbench.bench import verify
from softbench.bridge import build
from softbench.bridge.resolve import kernel
from softbench.errors import InputError, ResultFileError
from softbench.host import isa, threads as th
from softbench.results import files as results
from softbench.results import schema as result_schema, tabular
from softbench.results.schema import record_from_dict

RUNNABLE = isa.runnable()
TILE_KERNELS = [(a, i, t) for i in RUNNABLE for t in catalog.TILES[i] for a in catalog.algorithms()]
TILE_IDS = [f"{a}-{i}-{t}" for a, i, t in TILE_KERNELS]
# Unrolled groups between two flushes of the float partial sums into double (native/sb_common.h).
BLOCK_ITERS = int(re.search(r"#define SB_BLOCK_ITERS (\d+)", (catalog.native_dir() / "sb_common.h").read_text()).group(1))


# --- the table and the names --------------------------------------------------------------------


def test_tile_names_are_the_recipe():
    assert catalog.tile_name(64, 4) == "x64-acc4"
    assert catalog.tile_name(32, 2) == "x32-acc2"
    assert catalog.tile_name(16, 1) == "x16"  # one accumulator: no suffix, as XNNPACK's u16


def test_tiles_def_declares_a_4x4_default_first_for_every_isa():
    assert list(catalog.TILES) == list(catalog.ISAS)
    for isa_name, tiles in catalog.TILES.items():
        first = next(iter(tiles.values()))
        assert first.default and (first.unroll, first.acc) == (4, 4), isa_name
        assert catalog.default_tile(isa_name) is first
        assert [t.default for t in tiles.values()].count(True) == 1
        for name, t in tiles.items():
            assert name == t.name == catalog.tile_name(catalog.ISAS[isa_name].lanes * t.unroll, t.acc)
            assert t.unroll % t.acc == 0
    assert catalog.TILES["avx512f"]["x64-acc4"].unroll == 4 and catalog.TILES["avx2"]["x64-acc4"].unroll == 8


@pytest.mark.parametrize(
    "rows,words",
    [
        ("SB_TILE(avx512f, 4, 3)", "acc must divide unroll"),
        ("SB_TILE(avx512f, 4, 4)\nSB_TILE(avx512f, 4, 4)", "declares the tile x64-acc4 twice"),
        ("SB_TILE(avx9000, 4, 4)", "names an ISA that isas.def does not declare"),
        ("SB_TILE(scalar, 4, 4)", "declares no tile for avx512f"),
    ],
)
def test_a_bad_tiles_def_is_refused_with_the_row(tmp_path, rows, words):
    path = tmp_path / "tiles.def"
    # a default row for every ISA the bad rows leave out (none for the missing-ISA case)
    named = set(re.findall(r"SB_TILE\((\w+)", rows))
    others = "" if "declares no tile" in words else "\n".join(f"SB_TILE({i}, 4, 4)" for i in catalog.ISAS if i not in named)
    path.write_text(f"/* SB_TILE(isa, unroll, acc) */\n{rows}\n{others}\n")
    with pytest.raises(RuntimeError, match=re.escape(words)):
        catalog.read_tiles(path)


def test_check_tile_names_the_isas_tiles():
    assert catalog.check_tile("scalar", None).default and catalog.check_tile("scalar", "default").default
    with pytest.raises(InputError, match="x4-acc4, x1"):
        catalog.check_tile("scalar", "x64-acc4")


# --- modules --------------------------------------------------------------------------------------


def test_the_default_tile_is_the_module_every_caller_gets():
    mod = build.load("scalar")
    assert build.load("scalar", "default") is mod and build.load("scalar", catalog.default_tile("scalar").name) is mod
    assert mod.default_tile and mod.tile == "x4-acc4" and "-DSB_UNROLL=4" in mod.flags and "-DSB_ACC=4" in mod.flags
    assert mod.path.name.startswith("softbench-scalar-") and "x4-acc4" not in mod.path.name  # the cache's former name


def test_a_tile_is_its_own_cached_module_without_the_harness():
    mod = build.load("scalar", "x1")
    assert mod is not build.load("scalar") and not mod.default_tile
    assert mod.path.name.startswith("softbench-scalar-x1-") and "-DSB_UNROLL=1" in mod.flags
    assert int(getattr(mod.lib, "sb_block_floats__scalar")) == 1
    assert int(getattr(build.load("scalar").lib, "sb_block_floats__scalar")) == 4
    assert not hasattr(mod.lib, "sb_time_calls")  # one harness per process: the default module's
    assert build.build("scalar", "x1").path == mod.path and not build.build("scalar", "x1").compiled_now


def test_modules_of_one_isa_keep_their_own_store_threshold():
    """Every tile exports the same symbols; each module must still read its own variables."""
    default, tile = build.load("scalar"), build.load("scalar", "x1")
    build.set_nt_threshold(tile, 1234)
    assert int(getattr(tile.lib, "sb_nt_min_bytes__scalar")) == 1234
    assert int(getattr(default.lib, "sb_nt_min_bytes__scalar")) != 1234


# --- every tile on the correctness matrix ---------------------------------------------------------


def _block_cases(block: int, lanes: int):
    """Sizes around the tile's block and around the flush of its partial sums, and rows whose max
    (and two-pass's shared exponent) grows all along, so every group rescales its accumulators."""
    for m in (3, BLOCK_ITERS, BLOCK_ITERS + 1, 2 * BLOCK_ITERS):
        for d in sorted({-lanes - 1, -1, 0, 1, lanes, lanes + 1}):
            n = m * block + d
            yield verify.Case(f"n={n} ({m} blocks {d:+d})", lambda rng, n=n: (rng.standard_normal(n) * 4).astype(np.float32))
    n = 2 * BLOCK_ITERS * block + 3
    yield verify.Case("ascending", lambda rng, n=n: np.sort(rng.standard_normal(n) * 30).astype(np.float32))
    yield verify.Case("descending", lambda rng, n=n: np.sort(rng.standard_normal(n) * 30)[::-1].astype(np.float32).copy())
    yield verify.Case("ascending by 1 per element", lambda rng, n=n: (np.arange(n, dtype=np.float32) * 0.05 - 50))


@pytest.mark.parametrize("alg,isa_name,tile", TILE_KERNELS, ids=TILE_IDS)
def test_every_tile_passes_the_correctness_matrix(alg, isa_name, tile):
    """The whole matrix of `verify` (tails 1 .. 2 x block + 1 at the tile's own block,
    misalignment, scales, -inf masks, NaN/inf rows), plus sizes around the tile's block and its
    flushes, and rows that make every group rescale its accumulators."""
    lanes = catalog.ISAS[isa_name].lanes
    block = verify.block_of(isa_name, tile)
    assert block == catalog.TILES[isa_name][tile].block_floats
    name = None if catalog.TILES[isa_name][tile].default else tile
    report = verify.verify_kernel(alg, isa_name, large=False, tile=name)
    assert sum(r.case.startswith("tail n=") for r in report.results) == 2 * block + 1
    fn, module = kernel(alg, isa_name, None, name)
    extra = [verify.run_case(fn, module.ffi, case) for case in _block_cases(block, lanes)]
    failures = [f"{r.case}: {r.detail}" for r in report.results + extra if not r.passed]
    assert not failures, failures
    isa_ledger.ran(isa_name, "kernel matrix")


@pytest.mark.parametrize("isa_name", RUNNABLE)
def test_the_widest_tile_keeps_its_accuracy_at_2_to_26(isa_name):
    """The tile with the most vectors per accumulator adds the most into each float partial sum
    between flushes: the 2^26-element cases must still hold."""
    tile = max(catalog.TILES[isa_name].values(), key=lambda t: (t.unroll // t.acc, t.unroll))
    name = None if tile.default else tile.name
    fn, module = kernel("three-pass-reload", isa_name, None, name)
    large = [c for c in verify.cases(tile.block_floats, float("inf"), large=True) if c.name.startswith("large")]
    for case in large:
        r = verify.run_case(fn, module.ffi, case)
        assert r.passed and r.max_rel_error <= verify.REL_TOLERANCE, f"{tile.name} {case.name}: {r.detail}"


def test_a_tile_splits_one_row_across_threads_with_its_own_passes():
    isa_name = isa.best()
    tile = list(catalog.TILES[isa_name])[-1]
    module = build.use_store_policy(build.load(isa_name, tile))
    x = np.random.default_rng(1).standard_normal(100_003).astype(np.float32) * 4
    y = np.empty_like(x)
    work = th.kernel_work(module, "two-pass", None, x.size)
    assert [p.fn for p in module.passes["two-pass"]] != [p.fn for p in build.load(isa_name).passes["two-pass"]]
    th.pool(2).run(work.cdata, 1, x.size, module.ffi.from_buffer("float[]", x), module.ffi.from_buffer("float[]", y))
    assert verify.max_rel_error(y, verify.reference(x)) <= verify.REL_TOLERANCE


# --- result files ----------------------------------------------------------------------------------


def _record(**extra):
    ns = 0.5
    return {"algorithm": "two-pass", "isa": "scalar", "n": 1024, "threads": 1, "regime": "L1",
            "bytes_per_element": {k: 4 for k in result_schema.BYTES_KEYS}, "samples_ns": [ns * 1024] * 5,
            "calls_per_sample": 1, "ns_per_element": ns, "min_ns_per_element": ns, "gbps_effective": 16.0,
            "gbps_actual": 24.0, "roofline_efficiency": 0.5, "max_rel_error": 1e-7, **extra}  # fmt: skip


def test_a_record_with_a_tile_round_trips_and_one_without_is_the_default(tmp_path):
    path = tmp_path / "r.json"
    with results.ResultWriter(path, {"created": "2026-12-02T00:00:00+00:00"}) as w:
        w.add(_record())
        w.add(_record(tile="x1"))
    doc = results.load(path)
    assert [r.tile for r in doc.results] == [None, "x1"]
    raw = json.loads(path.read_text())["results"]
    assert "tile" not in raw[0] and raw[1]["tile"] == "x1"  # the default tile writes nothing
    keys = {points.point_key(r) for r in doc.results}
    assert len(keys) == 2  # two tiles of one kernel are two points
    assert points.point_text(points.point_key(doc.results[1])) == "two-pass[x1]/scalar n=1024"
    assert [tabular.record_row(r)["tile"] for r in doc.results] == [None, "x1"]  # CSV's last column
    with pytest.raises(ResultFileError, match="tile"):
        record_from_dict(_record(tile=""), "r.json", 0)
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(result_schema.json_schema())
    assert validator.is_valid(json.loads(path.read_text()))
    assert not validator.is_valid({**json.loads(path.read_text()), "results": [_record(tile=3)]})


def test_an_old_file_compares_with_the_default_tile_of_a_new_one(tmp_path):
    """A file from before tiles (no "tile" anywhere) matches a tiled run's default-tile points;
    the other tile's point is listed as only in the new file, not folded into the default's."""
    ctx = {"created": "2026-12-02T00:00:00+00:00", "hostname": "h", "cpu": {"model_name": "m"}}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    with results.ResultWriter(old, ctx) as w:
        w.add(_record())
    with results.ResultWriter(new, ctx) as w:
        w.add(_record())
        w.add(_record(tile="x1", ns_per_element=0.25, samples_ns=[0.25 * 1024] * 5))
    cmp = same_machine.compare_same_machine([results.load(old), results.load(new)])
    [pair] = cmp.pairs
    assert [(p.algorithm, p.tile, p.ratio) for p in pair.points] == [("two-pass", None, 1.0)]
    assert pair.only_in_candidate == ["two-pass[x1]/scalar n=1024"]


# --- run --variants ----------------------------------------------------------------------------------


def test_run_variants_sweeps_tiles_end_to_end(tmp_path):
    out = tmp_path / "tiles.json"
    code, text, err = invoke("run", "-a", "two-pass,online", "-i", "scalar", "--sizes", "1Ki", "--variants", "tiles",
                          "--repetitions", "5", "--min-time", "0.0005", "-o", out)  # fmt: skip
    assert code == 0, err
    # the progress lines name the tile (its brackets are not read as terminal markup)
    assert "verifying two-pass[x1]/scalar" in text + err
    doc = results.load(out)
    got = sorted((r.algorithm, r.tile or "") for r in doc.results)
    assert got == [("online", ""), ("online", "x1"), ("two-pass", ""), ("two-pass", "x1")]
    assert all(r.max_rel_error <= verify.REL_TOLERANCE for r in doc.results)
    assert doc.context["variants"] == ["auto", "tiles"]
    assert [(t["name"], t["default"]) for t in doc.context["tiles"]["scalar"]] == [("x4-acc4", True), ("x1", False)]
    assert "-DSB_UNROLL=1" in doc.context["tiles"]["scalar"][1]["flags"]
    # a same-machine comparison keeps the tiles apart
    code, text, err = invoke("compare", out, out, "--json")
    assert code == 0, err
    names = {(p["algorithm"], p.get("tile")) for p in json.loads(text)["pairs"][0]["points"]}
    assert ("two-pass", "x1") in names and ("two-pass", None) in names


def test_run_variants_with_one_tile_and_a_store_kind(tmp_path):
    out = tmp_path / "one.json"
    code, _, err = invoke("run", "-a", "two-pass", "-i", "scalar", "--sizes", "1Ki", "--variants", "x1,temporal",
                          "--repetitions", "5", "--min-time", "0.0005", "-o", out)  # fmt: skip
    assert code == 0, err
    [r] = results.load(out).results
    assert (r.tile, r.variant) == ("x1", "temporal")


@pytest.mark.parametrize(
    "args,words",
    [
        (["--variants", "x999"], "unknown variant 'x999'"),
        (["--variants", "x64-acc2", "-i", "scalar"], "no ISA of this run has the tile 'x64-acc2'"),
    ],
)
def test_an_unknown_tile_is_one_line_and_exit_2(tmp_path, args, words):
    code, _, err = invoke("run", "--sizes", "1Ki", "-o", tmp_path / "x.json", *args)
    assert code == 2 and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = invoke("tune", "--tiles", "bogus", "--sizes", "1Ki", "-o", tmp_path / "t.json")
    assert code == 2 and "unknown tile 'bogus'" in err and len(err.strip().splitlines()) == 1


# --- tune --tiles and softmax(algorithm="auto") --------------------------------------------------------


@pytest.fixture
def tuning_file(tmp_path, monkeypatch):
    path = tmp_path / "tuning.json"
    monkeypatch.setenv(tuning.ENV_TUNING_FILE, str(path))
    tuning.clear_cache()
    yield path
    tuning.clear_cache()


def test_tune_tiles_records_the_tile_and_auto_runs_it(tuning_file, tmp_path):
    code, text, err = invoke("tune", "--isa", "scalar", "--sizes", "1Ki,4Ki", "--tiles", "x1", "-r", "5",
                             "--min-time", "0.0005", "--result", tmp_path / "run.json", "--json")  # fmt: skip
    assert code == 0, err
    doc = tuning.read(tuning_file)
    assert doc["format"] == tuning.TUNING_FORMAT == 2
    entry = doc["isas"]["scalar"]
    assert entry["tiles"] == ["x1", "x1"] and {b["tile"] for b in entry["bands"]} == {"x1"}  # only x1 was measured
    assert all(k.endswith("[x1]") for k in entry["ns_per_element"]["1024"])
    tuning.clear_cache()
    alg, tile = tuning.choose_kernel(1024, "scalar")
    assert tile == "x1" and alg == entry["fastest"][0]
    fn, chosen, module = api.auto_choice(1024, "scalar")
    assert chosen == alg and module.tile == "x1" and module is build.load("scalar", "x1")
    x = np.random.default_rng(2).standard_normal(1024).astype(np.float32)
    y = softbench.softmax(x, algorithm="auto", isa="scalar")
    assert verify.max_rel_error(y, verify.reference(x)) <= verify.REL_TOLERANCE


def test_tune_default_names_the_default_tile_it_measured(tuning_file, tmp_path):
    code, _, err = invoke("tune", "--isa", "scalar", "--sizes", "1Ki", "--tiles", "default", "-r", "5",
                          "--min-time", "0.0005", "--result", tmp_path / "run.json")  # fmt: skip
    assert code == 0, err
    entry = tuning.read(tuning_file)["isas"]["scalar"]
    assert entry["tiles"] == ["x4-acc4"] and set(entry["ns_per_element"]["1024"]) == set(catalog.algorithms())
    tuning.clear_cache()
    assert tuning.choose_kernel(1024, "scalar")[1] is None  # the default tile's module


def test_a_format_1_tuning_reads_as_default_tiles(tuning_file):
    here = tuning.this_machine()
    tuning_file.write_text(json.dumps({
        "tool": "softbench", "kind": tuning.TUNING_KIND, "format": 1, "softbench_version": softbench.__version__,
        "machine": here, "isas": {"scalar": {"bands": [{"from_n": 1, "to_n": None, "algorithm": "online", "measured": [1024]}]}},
    }))  # fmt: skip
    tuning.clear_cache()
    assert tuning.choose_kernel(5000, "scalar") == ("online", None)
    assert api.auto_choice(5000, "scalar")[2] is build.load("scalar")


def test_a_tuning_naming_a_tile_this_softbench_lacks_falls_back(tuning_file):
    here = tuning.this_machine()
    tuning_file.write_text(json.dumps({
        "tool": "softbench", "kind": tuning.TUNING_KIND, "format": 2, "softbench_version": softbench.__version__,
        "machine": here, "isas": {"scalar": {"bands": [{"from_n": 1, "to_n": None, "algorithm": "online", "tile": "x999",
                                                         "measured": [1024]}]}},
    }))  # fmt: skip
    tuning.clear_cache()
    assert tuning.choose_kernel(1 << 26, "scalar") == (tuning.default_choice(1 << 26), None)
    assert "no algorithm and tile" in tuning.selector().reason
