"""softbench compare: same machine (ratios, significance, geometric means, --fail-above), across
machines (regime tables, speedups, context), crossover N, and unreadable files, on the checked-in
fixtures (tests/fixtures/make_fixtures.py; synthetic data)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import invoke

from softbench.analysis import compare as cmp
from softbench.analysis import crossovers
from softbench.analysis import machines
from softbench.analysis import same_machine
from softbench.results import files as results
from softbench.bench import stats
from softbench.errors import InputError
from softbench.results.schema import Record, ResultFile

FIX = Path(__file__).parent / "fixtures"
A1, A2, B = FIX / "machine-a-run1.json", FIX / "machine-a-run2.json", FIX / "machine-b.json"
FEW = FIX / "machine-a-few-samples.json"
DAMAGED = {
    "damaged-not-json.json": "not valid JSON",
    "damaged-not-softbench.json": "not a softbench result file",
    "damaged-newer-schema.json": "newer softbench (schema 99",
    "damaged-missing-field.json": "has no field 'samples_ns'",
    "damaged-gbench-no-time-unit.json": "needs a number 'real_time' and a 'time_unit'",
}


def load(p):
    return results.load(p)


@pytest.fixture(scope="module")
def same():
    return cmp.compare([load(A1), load(A2)])


@pytest.fixture(scope="module")
def cross():
    return cmp.compare([load(A1), load(B)])


cli = invoke  # the real app, compare and report included


# --- the same-machine rule -------------------------------------------------------------------


def test_same_machine_rule():
    a1, a2, b = load(A1).context, load(A2).context, load(B).context
    assert machines.same_machine(a1, a2) and not machines.same_machine(a1, b)
    # hostname from context.os when the top level has none
    ctx = {"cpu": {"model_name": "X"}, "os": {"hostname": "h"}}
    assert machines.hostname(ctx) == "h" and machines.same_machine(ctx, {"cpu": {"model_name": "X"}, "hostname": "h"})
    # unknown CPU or hostname never counts as the same machine
    assert not machines.same_machine({"cpu": {"model_name": "unknown"}, "hostname": "h"}, {"cpu": {"model_name": "unknown"}, "hostname": "h"})
    assert not machines.same_machine({"cpu": {"model_name": "X"}}, {"cpu": {"model_name": "X"}})
    assert not machines.same_machine({"cpu": {"model_name": "X"}, "hostname": "h"}, {"cpu": {"model_name": "Y"}, "hostname": "h"})


def test_auto_mode_picks_by_machine(same, cross):
    assert same.kind == "same-machine" and cross.kind == "cross-machine"
    assert cmp.compare([load(A1), load(B)], mode="same").kind == "same-machine"
    assert cmp.compare([load(A1), load(A2)], mode="cross").kind == "cross-machine"
    with pytest.raises(InputError, match="mode"):
        cmp.compare([load(A1), load(A2)], mode="sideways")


def test_forcing_same_on_different_machines_says_so():
    r = cmp.compare([load(A1), load(B)], mode="same")
    assert any("forced" in n for n in r.notes)


def test_needs_two_files():
    with pytest.raises(InputError, match="at least two"):
        cmp.compare([load(A1)])


# --- same machine ----------------------------------------------------------------------------


def test_slowdown_is_found_and_unchanged_points_are_not(same):
    pair = same.pairs[0]
    assert (pair.baseline, pair.candidate) == ("machine-a-run1", "machine-a-run2")
    assert len(pair.points) == 72 and not pair.only_in_baseline and not pair.only_in_candidate
    for p in pair.points:
        if (p.algorithm, p.isa) == ("two-pass", "avx2"):
            assert p.verdict == "slower" and p.significant and p.p_value < 0.001
            assert p.ratio == pytest.approx(1.10, abs=1e-6) and p.change_pct == pytest.approx(10.0, abs=1e-4)
        else:
            assert p.verdict == "no change" and not p.significant and p.p_value > 0.5
            assert p.ratio == pytest.approx(1.0, abs=2e-3)


def test_ratio_and_p_from_raw_per_element_samples(same):
    """The figures are recomputed from the raw samples, not copied from the file."""
    ra = {(r.algorithm, r.isa, r.n): r for r in load(A1).results}
    rb = {(r.algorithm, r.isa, r.n): r for r in load(A2).results}
    p = next(p for p in same.pairs[0].points if (p.algorithm, p.isa, p.n) == ("two-pass", "avx2", 1 << 20))
    a, b = ra[("two-pass", "avx2", 1 << 20)], rb[("two-pass", "avx2", 1 << 20)]
    xa = np.asarray(a.samples_ns) / (a.calls_per_sample * a.n)
    xb = np.asarray(b.samples_ns) / (b.calls_per_sample * b.n)
    assert p.baseline_ns_per_element == pytest.approx(np.median(xa))
    assert p.ratio == pytest.approx(np.median(xb) / np.median(xa))
    assert p.p_value == pytest.approx(stats.mann_whitney(xa, xb).p_value)
    assert p.baseline_samples == p.candidate_samples == 9 and p.regime == "L3"


def test_geometric_mean_per_algorithm(same):
    g = {x.algorithm: x for x in same.pairs[0].geomeans}
    assert list(g) == ["three-pass-recompute", "three-pass-reload", "two-pass", "online"]
    # two-pass: 9 avx2 points at 1.10, 9 scalar points at 1.00
    assert g["two-pass"].geomean_ratio == pytest.approx(math.sqrt(1.10), rel=1e-3)
    assert (g["two-pass"].slower, g["two-pass"].faster, g["two-pass"].points) == (9, 0, 18)
    for alg in ("three-pass-recompute", "three-pass-reload", "online"):
        assert g[alg].geomean_ratio == pytest.approx(1.0, abs=1e-3) and g[alg].slower == 0


def test_fail_above_threshold(same):
    assert len(same_machine.regressions(same, 5.0)) == 9
    assert all(p.algorithm == "two-pass" and p.isa == "avx2" for _, p in same_machine.regressions(same, 9.5))
    assert same_machine.regressions(same, 10.5) == []


def test_too_few_samples_are_untested_and_warned():
    r = cmp.compare([load(A1), load(FEW)])
    pair = r.pairs[0]
    assert len(pair.points) == 12 and all(p.verdict == "untested" and not p.significant for p in pair.points)
    assert all(not p.enough_samples and p.candidate_samples == 3 for p in pair.points)
    assert any("too few samples" in n and "as few as 3" in n for n in r.notes)
    # the points only one file has are named, not dropped silently
    assert len(pair.only_in_baseline) == 60 and not pair.only_in_candidate
    assert any("60 points only in machine-a-run1" in n for n in r.notes)
    # an untested point never counts as a regression, but is reported when above the threshold
    assert same_machine.regressions(r, 0.0) == []
    assert {id(p) for _, p in same_machine.untestable_above(r, 0.0)} == {id(p) for p in pair.points if p.ratio > 1.0}


def test_notes_name_synthetic_incomplete_and_failed_runs(tmp_path):
    rf = load(A1)
    rf.complete = False
    rf.in_progress = "two-pass/avx2 n=4096"
    rf.failures = [{"kernel": "online/avx2", "message": "wrong output at n=64"}]
    notes = machines.file_notes(rf, "x")
    assert any("synthetic" in n for n in notes)
    assert any("did not finish" in n and "two-pass/avx2 n=4096" in n for n in notes)
    assert any("online/avx2 failed" in n for n in notes)


# --- across machines -------------------------------------------------------------------------


def test_cross_machine_regime_table_matches_the_files(cross):
    assert cross.files == ["machine-a-run1", "machine-b"]
    rows = {(r.algorithm, r.regime): r for r in cross.rows}
    assert {g for _, g in rows} == {"L1", "L2", "L3", "transition", "DRAM"}
    a, b = load(A1), load(B)
    for (alg, regime), row in rows.items():
        for label, rf, isa in (("machine-a-run1", a, "avx2"), ("machine-b", b, "avx512f")):
            cell = row.cells[label]
            recs = [r for r in rf.results if r.algorithm == alg and r.regime == regime and r.isa == isa]
            assert cell.isa == isa and cell.points == len(recs)
            assert cell.ns_per_element == pytest.approx(np.median([r.ns_per_element for r in recs]))
            assert cell.gbps_effective == pytest.approx(8.0 / cell.ns_per_element)
            assert cell.roofline_efficiency == pytest.approx(np.median([r.roofline_efficiency for r in recs]))
            assert (cell.n_min, cell.n_max) == (min(r.n for r in recs), max(r.n for r in recs))
    # sizes differ between the machines, so the points are matched by regime
    assert rows[("two-pass", "DRAM")].cells["machine-a-run1"].n_min == 1 << 24
    assert rows[("two-pass", "DRAM")].cells["machine-b"].n_min == 1 << 25
    assert any("widest ISA" in n for n in cross.notes) and any("matched by regime" in n for n in cross.notes)


def test_cross_machine_speedups(cross):
    b = load(B)
    idx = {(r.algorithm, r.isa, r.n): r for r in b.results}
    dram = [r.n for r in b.results if r.regime == "DRAM" and r.algorithm == "two-pass" and r.isa == "avx512f"]
    expect = stats.geometric_mean([idx[("three-pass-recompute", "avx512f", n)].ns_per_element / idx[("two-pass", "avx512f", n)].ns_per_element for n in dram])
    row = next(s for s in cross.speedups if (s.algorithm, s.baseline, s.regime) == ("two-pass", "three-pass-recompute", "DRAM"))
    assert row.cells["machine-b"].speedup == pytest.approx(expect) and row.cells["machine-b"].isa == "avx512f"
    assert row.cells["machine-a-run1"].speedup > 1.1
    kinds = {(s.algorithm, s.baseline) for s in cross.speedups}
    assert kinds == {(a, t) for a in ("two-pass", "online") for t in ("three-pass-recompute", "three-pass-reload")}
    assert cross.paper_speedup == {"avx2": 1.18, "avx512f": 1.28}


def test_cross_machine_context_side_by_side(cross):
    ctx = dict(cross.context)
    assert ctx["CPU"] == ["Fixture CPU A (synthetic, Skylake-class)", "Fixture CPU B (synthetic, Ice Lake-class)"]
    assert ctx["L3 cache"] == ["8 MiB, shared by 8", "32 MiB, shared by 16"]
    assert ctx["L1d cache"] == ["32 KiB", "48 KiB"]
    assert ctx["compiler"] == ["gcc 12.2.0", "gcc 12.2.0"]
    assert ctx["flags (avx512f)"][0] == "-" and "-mavx512f" in ctx["flags (avx512f)"][1]
    assert ctx["ISAs run"][1] == "avx512f, avx2, sse2, scalar"
    assert ctx["synthetic test data"] == ["yes", "yes"]


def test_cross_machine_isa_choice():
    a, b = load(A1), load(B)
    one = cmp.compare([a, b], isa="avx2")
    assert all(c.isa == "avx2" for r in one.rows for c in r.cells.values())
    every = cmp.compare([a, b], isa="all")
    assert {r.isa for r in every.rows} == {"scalar", "avx2", "avx512f"}
    only_b = cmp.compare([a, b], isa="avx512f")
    assert all(r.cells["machine-a-run1"] is None for r in only_b.rows)
    assert any("machine-a-run1: has no avx512f results" in n for n in only_b.notes)


# --- crossover -------------------------------------------------------------------------------


def _rec(alg, n, ns):
    return Record(algorithm=alg, isa="avx2", n=n, threads=1, regime="L1", bytes_per_element={}, samples_ns=[ns * n],
                  calls_per_sample=1, ns_per_element=ns, min_ns_per_element=ns, gbps_effective=8 / ns,
                  gbps_actual=12 / ns, roofline_efficiency=None, max_rel_error=1e-7)  # fmt: skip


def _crossover(two_pass_times, base=1.0):
    recs = []
    for k, t in enumerate(two_pass_times):
        n = 1024 << k
        recs += [_rec("three-pass-reload", n, base), _rec("two-pass", n, t)]
    rf = ResultFile(path=Path("x.json"), context={}, results=recs)
    (c,) = crossovers.crossovers(rf)
    return c


def test_crossover():
    c = _crossover([1.2, 0.9, 1.1, 0.95, 0.9])  # wins at 2Ki, loses at 4Ki, wins from 8Ki on
    assert (c.status, c.n, c.n_below, c.wins_at) == ("crosses", 8192, 4096, [2048, 8192, 16384])
    c = _crossover([0.9, 0.8])
    assert (c.status, c.n) == ("always", 1024)
    c = _crossover([1.2, 0.9, 1.1])
    assert (c.status, c.n, c.wins_at) == ("never", None, [2048])


def test_crossover_on_fixture(cross):
    c = {(x.algorithm, x.baseline): x for x in cross.crossovers["machine-a-run1"]}
    assert c[("two-pass", "three-pass-recompute")].status == "crosses"
    assert (c[("two-pass", "three-pass-recompute")].n_below, c[("two-pass", "three-pass-recompute")].n) == (4096, 16384)


# --- unreadable files ------------------------------------------------------------------------


def test_damaged_files_one_line_each():
    files, errors = cmp.load_files([A1, *(FIX / name for name in DAMAGED)])
    assert len(files) == 1 and len(errors) == len(DAMAGED)
    for line, (name, what) in zip(errors, DAMAGED.items()):
        assert "\n" not in line and line.startswith(str(FIX / name)) and what in line


def test_cli_damaged_files_stop_with_one_line_each():
    code, out, err = cli("compare", A1, *(FIX / name for name in DAMAGED))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(DAMAGED)
    for line, (name, what) in zip(lines, DAMAGED.items()):
        assert line.startswith("softbench: error: ") and name in line and what in line


def test_cli_skip_bad_goes_on_and_says_so():
    code, out, err = cli("compare", A1, FIX / "damaged-not-json.json", A2, "--skip-bad", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["files"] == ["machine-a-run1", "machine-a-run2"]
    assert any("skipped (unreadable)" in n and "damaged-not-json.json" in n for n in doc["notes"])
    assert "damaged-not-json.json" in err


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_fail_above_exit_codes():
    code, out, err = cli("compare", A1, A2, "--fail-above", "5")
    assert code == 1 and "9 point(s) significantly slower" in err and "two-pass" in out
    code, out, err = cli("compare", A1, A2, "--fail-above", "15")
    assert code == 0 and "no point significantly slower" in err
    code, _, err = cli("compare", A1, B, "--fail-above", "5")
    assert code == 2 and "one machine" in err and len(err.strip().splitlines()) == 1


def test_cli_json_same_machine():
    code, out, _ = cli("compare", A1, A2, "--json", "--fail-above", "5")
    assert code == 1
    doc = json.loads(out)
    assert doc["kind"] == "same-machine" and doc["softbench_compare"] == 1
    assert len(doc["regressions"]) == 9 and doc["fail_above_pct"] == 5.0
    two = next(g for g in doc["pairs"][0]["geomeans"] if g["algorithm"] == "two-pass")
    assert two["geomean_ratio"] == pytest.approx(math.sqrt(1.1), rel=1e-3)


def test_cli_json_cross_machine():
    code, out, _ = cli("compare", A1, B, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "cross-machine" and doc["context"]["CPU"]["machine-b"].startswith("Fixture CPU B")
    assert {r["regime"] for r in doc["rows"]} == {"L1", "L2", "L3", "transition", "DRAM"}


def test_cli_markdown_and_terminal_tables():
    code, out, _ = cli("compare", A1, A2, "--markdown")
    assert code == 0
    assert "| two-pass | avx2 | 1Mi | L3 | 0.543 | 0.597 | 1.100x | +10.0% | 1.100 [1.097, 1.103] | <0.001 | 0.003 | 9/9 | slower |" in out
    assert "no change beyond +-" in out and "Holm-adjusted p < 0.05 over the 72 points" in out
    assert "| two-pass | 18 | 1.049x | +4.9% | 9 | 0 | 0 |" in out
    code, out, _ = cli("compare", A1, B)
    assert code == 0
    assert "two-pass over three-pass-recompute" in out and "machines side by side" in out and "32 MiB, shared by 16" in out
    code, out, _ = cli("compare", A1, FEW)
    assert code == 0 and "untested" in out and "too few samples" in out


def test_cli_bad_options():
    code, _, err = cli("compare", A1, A2, "--json", "--markdown")
    assert code == 2 and "choose one" in err
    code, _, err = cli("compare", A1, A2, "--mode", "nope")
    assert code == 2 and "--mode" in err
    code, _, err = cli("compare", A1, B, "--isa", "mmx")
    assert code == 2 and "unknown ISA" in err
    code, _, err = cli("compare", A1)
    assert code == 2 and "at least two" in err
