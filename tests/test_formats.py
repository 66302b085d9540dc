"""Other tools' formats: Google Benchmark JSON read by compare and report (XNNPACK's naming), the
exports (CSV, Google Benchmark JSON, Markdown) read back, DataFrames, and the published JSON
Schema against every result file. The files are the checked-in fixtures (synthetic data, see
tests/fixtures/make_fixtures.py)."""

import csv
import io
import json
import math
from pathlib import Path

import pytest

from tests.cli_runner import invoke

import softbench
from softbench.analysis import compare as cmp
from softbench.analysis import machines
from softbench.reporters import csv_out, gbench_json
from softbench.results import files as results
from softbench.results import gbench, tabular
from softbench.results import schema as result_schema
from softbench.results.regimes import cache_sizes

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures"
GB = FIX / "machine-a-xnnpack-gbench.fixture.json"  # XNNPACK bench/f32-softmax's layout, machine a
AX = FIX / "machine-a-xnnpack-sizes.json"  # softbench on machine a at XNNPACK's sizes
A1, B = FIX / "machine-a-run1.json", FIX / "machine-b.json"


@pytest.fixture(scope="module")
def gb():
    return results.load(GB)


# --- reading Google Benchmark JSON ------------------------------------------------------------


def test_xnnpack_names_map_to_algorithm_isa_and_n():
    assert gbench.parse_name("TwoPassSoftMax/avx512f_p5_scalef/10000/manual_time") == {
        "algorithm": "two-pass", "isa": "avx512f", "n": 10000, "rows": 1, "variant": None, "recipe": "avx512f_p5_scalef"}
    got = gbench.parse_name("ThreePassSoftMaxWithRecomputing/avx2_p5/128/manual_time")
    assert (got["algorithm"], got["isa"], got["n"]) == ("three-pass-recompute", "avx2", 128)
    got = gbench.parse_name("ThreePassSoftMaxWithReloading/rvv_p6_rmax_m8_exp_m4_vmulc_m8/1000/manual_time")
    assert (got["algorithm"], got["isa"], got["n"]) == ("three-pass-reload", "rvv", 1000)
    # other names: kept as given, the last integer argument as N
    got = gbench.parse_name("DNNLSoftArgMax/100000/manual_time")
    assert (got["algorithm"], got["isa"], got["n"]) == ("DNNLSoftArgMax", "unknown", 100000)
    got = gbench.parse_name("BM_Softmax/64/1024/repeats:3")
    assert (got["algorithm"], got["n"]) == ("BM_Softmax/64", 1024)
    assert gbench.parse_name("BM_NoArgs")["n"] is None
    # what softbench export writes
    got = gbench.parse_name("two-pass/avx2/4096/rows:4/variant:nt/threads:2")
    assert (got["algorithm"], got["isa"], got["n"], got["rows"], got["variant"]) == ("two-pass", "avx2", 4096, 4, "nt")


def test_google_benchmark_file_reads_as_imported_records(gb):
    assert gb.source_format == "google-benchmark" and gb.imported
    # 3 algorithms x 5 sizes of avx2; the avx512f runs were skipped by the benchmark itself
    assert len(gb.results) == 15
    assert {r.algorithm for r in gb.results} == {"two-pass", "three-pass-recompute", "three-pass-reload"}
    assert {r.isa for r in gb.results} == {"avx2"} and {r.n for r in gb.results} == {2048, 10_000, 100_000, 1_000_000, 10_000_000}
    doc = json.loads(GB.read_text())
    raw = [b for b in doc["benchmarks"] if b["run_name"] == "TwoPassSoftMax/avx2_p5/10000/manual_time" and b["run_type"] == "iteration"]
    r = next(r for r in gb.results if (r.algorithm, r.n) == ("two-pass", 10_000))
    # repetitions are the samples; each is `iterations` calls of real_time ns
    assert len(r.samples_ns) == len(raw) == 5 and r.calls_per_sample == raw[0]["iterations"]
    per_call = sorted(b["real_time"] for b in raw)
    assert r.ns_per_element == pytest.approx(per_call[2] / 10_000, rel=1e-12)
    assert r.min_ns_per_element == pytest.approx(per_call[0] / 10_000, rel=1e-12)
    assert r.imported["name"] == "TwoPassSoftMax/avx2_p5/10000/manual_time" and r.imported["recipe"] == "avx2_p5"
    assert set(r.imported["counters"]) == {"bytes", "cpufreq", "elements"}
    assert r.imported["cpu_time_ns_per_call"] == [b["cpu_time"] for b in sorted(raw, key=lambda b: b["repetition_index"])]
    # never checked, no twin: said, not invented
    assert r.max_rel_error is None and r.roofline_efficiency is None
    assert r.bytes_per_element["total"] == 12  # two-pass's traffic model
    assert r.regime == "L2" and next(x for x in gb.results if x.n == 10_000_000).regime == "DRAM"


def test_google_benchmark_context_is_the_machine(gb):
    ctx = gb.context
    assert ctx["hostname"] == "fixture-a" and ctx["cores"]["logical"] == 16
    assert cache_sizes(ctx) == {"L1": 32768, "L2": 1 << 20, "L3": 8 << 20}
    assert ctx["google_benchmark"]["mhz_per_cpu"] == 3000 and ctx["imported"]["format"] == "google-benchmark"
    notes = machines.file_notes(gb, "gb")
    assert any("synthetic test data" in n for n in notes)
    assert any("imported from a google-benchmark file" in n for n in notes)
    assert any("15 benchmarks reported an error" in n and "no AVX512F extension" in n for n in notes)


def test_aggregates_only_file_gives_one_sample(tmp_path):
    doc = json.loads(GB.read_text())
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b["run_type"] == "aggregate"]
    path = tmp_path / "aggregates.json"
    path.write_text(json.dumps(doc))
    rf = results.load(path)
    assert len(rf.results) == 15 and all(len(r.samples_ns) == 1 for r in rf.results)
    med = next(b for b in doc["benchmarks"] if b["name"] == "TwoPassSoftMax/avx2_p5/10000/manual_time_median")
    r = next(r for r in rf.results if (r.algorithm, r.n) == ("two-pass", 10_000))
    assert r.ns_per_element == pytest.approx(med["real_time"] / 10_000)
    assert any("only aggregates" in n for n in rf.context["imported"]["notes"])


def test_a_name_without_size_takes_n_from_the_elements_counter(tmp_path):
    doc = {"context": {"host_name": "h"}, "benchmarks": [
        {"name": "BM_Softmax", "run_type": "iteration", "iterations": 10, "real_time": 2.0, "cpu_time": 2.0,
         "time_unit": "us", "elements": 500e6},
        {"name": "BM_Other", "run_type": "iteration", "iterations": 10, "real_time": 2.0, "cpu_time": 2.0, "time_unit": "us"}]}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    rf = results.load(path)
    assert [(r.algorithm, r.n, r.isa, r.regime) for r in rf.results] == [("BM_Softmax", 1000, "unknown", "unknown")]
    assert rf.results[0].ns_per_element == pytest.approx(2.0)  # 2 us per call of 1000 elements
    assert any("BM_Other: no element count" in n for n in rf.context["imported"]["notes"])


def test_same_machine_rule_matches_an_imported_file_by_host_caches_and_cpus(gb):
    ax = results.load(AX).context
    assert machines.same_machine(gb.context, ax) and machines.same_machine(ax, gb.context)
    assert not machines.same_machine(gb.context, results.load(B).context)
    other = json.loads(json.dumps(gb.context))
    other["caches"][-1]["size_bytes"] *= 2
    assert not machines.same_machine(other, ax)
    other = json.loads(json.dumps(gb.context))
    other["cores"]["logical"] = 8
    assert not machines.same_machine(other, ax)
    # two softbench files without a CPU model are still never the same machine
    assert not machines.same_machine({"hostname": "h", "caches": ax["caches"], "cores": ax["cores"]}, {"hostname": "h", "caches": ax["caches"], "cores": ax["cores"]})


def test_compare_gbench_file_against_softbench_file_of_the_same_machine(gb):
    result = cmp.compare([gb, results.load(AX)])
    assert result.kind == "same-machine"
    (pair,) = result.pairs
    # the 4 common sizes x 3 algorithms; online and N = 2048 are on one side only
    assert len(pair.points) == 12 and len(pair.only_in_candidate) == 4 and len(pair.only_in_baseline) == 3
    assert all(p.enough_samples for p in pair.points)
    reload_ = [p for p in pair.points if p.algorithm == "three-pass-reload"]
    # the fixture's XNNPACK reloading is modelled 0.86x of softbench's time: softbench is slower
    assert all(p.ratio > 1.0 and p.verdict == "slower" for p in reload_)


def test_cli_compare_and_report_read_google_benchmark(tmp_path):
    code, out, err = invoke("compare", GB, AX, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "same-machine" and len(doc["pairs"][0]["points"]) == 12
    code, out, err = invoke("compare", GB, AX)
    assert code == 0 and "two-pass" in out
    code, out, err = invoke("report", GB, AX, "-o", tmp_path / "r")
    assert code == 0, err
    text = (tmp_path / "r" / "report.md").read_text()
    assert "imported from a google-benchmark file" in text and "No accuracy" in text


# --- exports -----------------------------------------------------------------------------------


def test_csv_round_trip_through_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    code, out, err = invoke("export", A1, GB, "--format", "csv", "--context", "-o", tmp_path / "all.csv")
    assert code == 0, err
    df = pd.read_csv(tmp_path / "all.csv")
    a1, g = results.load(A1), results.load(GB)
    assert list(df.columns) == tabular.columns(context=True)
    assert len(df) == len(a1.results) + len(g.results)
    back = df[df["file"] == str(A1)].reset_index(drop=True)
    want = a1.to_dataframe(context=True)
    for col in ("algorithm", "isa", "n", "threads", "regime", "samples", "hostname"):
        assert back[col].tolist() == want[col].tolist(), col
    for col in ("ns_per_element", "gbps_effective", "roofline_efficiency", "max_rel_error"):
        assert back[col].tolist() == pytest.approx(want[col].tolist(), rel=1e-15), col
    imported = df[df["file"] == str(GB)]
    assert (imported["source_format"] == "google-benchmark").all() and imported["max_rel_error"].isna().all()


def test_load_to_dataframe_one_row_per_record():
    pd = pytest.importorskip("pandas")
    rf = softbench.load(A1)
    df = rf.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(rf.results)
    assert list(df.columns) == list(tabular.COLUMNS)
    r = rf.results[5]
    row = df.iloc[5]
    assert (row["algorithm"], row["isa"], row["n"]) == (r.algorithm, r.isa, r.n)
    assert row["ns_per_element"] == r.ns_per_element
    assert "hostname" in rf.to_dataframe(context=True).columns


def test_gbench_export_reads_back_as_the_same_points(tmp_path):
    path = tmp_path / "a1.gbench.json"
    code, out, err = invoke("export", A1, "--format", "gbench-json", "-o", path)
    assert code == 0, err
    doc = json.loads(path.read_text())
    first = doc["benchmarks"][0]
    # google/benchmark's fields, as its compare.py and CI dashboards read them
    for key in ("name", "run_name", "run_type", "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit"):
        assert key in first, key
    assert {"date", "host_name", "num_cpus", "caches", "library_version"} <= set(doc["context"])
    assert any(b["run_type"] == "aggregate" and b["aggregate_name"] == "median" for b in doc["benchmarks"])
    orig, back = results.load(A1), results.load(path)
    assert back.imported and machines.same_machine(orig.context, back.context)
    key = lambda r: (r.algorithm, r.isa, r.n, r.threads, r.variant, r.rows)  # noqa: E731
    ob, bb = {key(r): r for r in orig.results}, {key(r): r for r in back.results}
    assert ob.keys() == bb.keys()
    for k, r in ob.items():
        assert bb[k].samples_ns == pytest.approx(r.samples_ns, rel=1e-12)
        assert bb[k].calls_per_sample == r.calls_per_sample and bb[k].regime == r.regime
        assert bb[k].ns_per_element == pytest.approx(r.ns_per_element, rel=1e-12)
    # and compares with its source as the same machine, every ratio 1
    same = cmp.compare([orig, back])
    assert same.kind == "same-machine" and all(p.ratio == pytest.approx(1.0) for p in same.pairs[0].points)


def test_gbench_export_keeps_threads_batches_and_variants(tmp_path):
    rf = results.load(A1)
    r = rf.results[0]
    r.threads, r.shape, r.variant, r.n = 2, [4, r.n], "nt", 4 * r.n
    doc = gbench_json.gbench_document(rf)
    name = f"{r.algorithm}/{r.isa}/{r.n}/rows:4/variant:nt/threads:2"
    runs = [b for b in doc["benchmarks"] if b["run_name"] == name]
    assert len(runs) == len(r.samples_ns) + 4 and all(b["threads"] == 2 for b in runs)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    back = next(x for x in results.load(path).results if x.imported["name"] == name)
    assert (back.threads, back.rows, back.variant, back.n) == (2, 4, "nt", r.n)


def test_export_markdown_and_errors(tmp_path):
    code, out, err = invoke("export", A1, "--format", "markdown")
    assert code == 0 and out.startswith("## machine-a-run1: ") and "| algorithm | isa | N |" in out
    code, out, err = invoke("export", A1, B, "--format", "gbench-json")
    assert code == 2 and "takes one result file" in err and out == ""
    code, out, err = invoke("export", A1, "--format", "xml")
    assert code == 2 and "csv, gbench-json, markdown" in err
    code, out, err = invoke("export", FIX / "damaged-not-json.json", "--format", "csv")
    assert code == 2 and "not valid JSON" in err


def test_export_never_overwrites_without_force(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("keep me")
    code, out, err = invoke("export", A1, "--format", "csv", "-o", path)
    assert code == 2 and "--force" in err and path.read_text() == "keep me"
    code, out, err = invoke("export", A1, "--format", "csv", "-o", path, "--force")
    assert code == 0 and path.read_text().startswith("file,source_format,algorithm")


def test_csv_cells_are_plain_values():
    text = csv_out.to_csv([results.load(GB)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["roofline_efficiency"] == "" and rows[0]["imported_name"].endswith("/manual_time")
    assert math.isfinite(float(rows[0]["ns_per_element"]))


# --- the published JSON Schema -----------------------------------------------------------------


def _all_result_files():
    files = sorted(p for p in FIX.glob("*.json") if not p.name.startswith("damaged-") and ".fixture." not in p.name)
    files += sorted((ROOT / "results").rglob("*.json"))
    return files


def test_schema_validates_every_fixture_and_every_file_in_results():
    jsonschema = pytest.importorskip("jsonschema")
    schema = result_schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = _all_result_files()
    assert any(p.parent.name == "results" for p in files) and any(p.parent == FIX for p in files)
    for path in files:
        errors = sorted(validator.iter_errors(json.loads(path.read_text())), key=lambda e: list(e.path))
        assert not errors, f"{path}: {errors[0].message} at {list(errors[0].path)}"


@pytest.mark.parametrize("name", ["damaged-missing-field.json", "damaged-newer-schema.json", "damaged-not-softbench.json", "machine-a-xnnpack-gbench.fixture.json"])
def test_schema_refuses_what_the_reader_refuses(name):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(result_schema.json_schema())
    assert not validator.is_valid(json.loads((FIX / name).read_text()))


def test_schema_and_reader_agree_on_the_fields():
    schema = result_schema.json_schema()
    record = schema["$defs"]["record"]
    assert set(record["required"]) == set(result_schema._REQUIRED)
    assert set(record["properties"]) == set(result_schema._FIELDS)
    assert schema["properties"]["schema_version"] == {"const": result_schema.SCHEMA_VERSION}


def test_what_the_writer_writes_is_valid(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    rf = results.load(A1)
    path = tmp_path / "w.json"
    with results.ResultWriter(path, {"hostname": "h"}) as w:
        w.extend(rf.results[:3], bandwidth=rf.bandwidth[:2])
        w.warn("a warning")
        w.fail("two-pass/avx2", "wrong output")
    jsonschema.validate(json.loads(path.read_text()), result_schema.json_schema(), cls=jsonschema.Draft202012Validator)
