"""The statistics behind compare and its gate: the Hodges-Lehmann ratio and its distribution-free
interval, the correction for many points, "no change beyond +-X%", and per-regime thresholds."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import invoke

from softbench.analysis import compare as cmp, gate
from softbench.bench import stats
from softbench.results import files as results
from softbench.errors import InputError

FIX = Path(__file__).parent / "fixtures"
A1, A2 = FIX / "machine-a-run1.json", FIX / "machine-a-run2.json"


def test_interval_order_statistics_match_the_tables():
    # the 95% critical values of U (two-sided): 5 vs 5 -> 2, 9 vs 9 -> 17, so k = U + 1
    assert stats._order_index(5, 5, 0.95)[0] == 3
    assert stats._order_index(9, 9, 0.95)[0] == 18
    k, coverage = stats._order_index(3, 3, 0.95)  # too few samples for 95%: says what it has
    assert k == 1 and coverage == pytest.approx(0.9)


def test_ratio_estimate_recovers_a_known_ratio_and_is_symmetric():
    rng = np.random.default_rng(1)
    a = rng.lognormal(0.0, 0.02, 11)
    b = rng.lognormal(0.0, 0.02, 11) * 1.07
    est = stats.ratio_estimate(a, b)
    assert est.low < 1.07 < est.high and est.confidence >= 0.95
    inv = stats.ratio_estimate(b, a)
    assert inv.ratio == pytest.approx(1 / est.ratio) and inv.low == pytest.approx(1 / est.high)
    with pytest.raises(ValueError):
        stats.ratio_estimate([1.0, -1.0], [1.0, 1.0])


def test_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(400):
        a, b = rng.lognormal(0, 0.05, 9), rng.lognormal(0, 0.05, 9) * 1.03
        e = stats.ratio_estimate(a, b)
        hits += e.low <= 1.03 <= e.high
    assert 0.92 <= hits / 400 <= 0.995


def test_holm_and_bh():
    p = [0.01, 0.04, 0.03, 0.5]
    assert stats.adjust_p_values(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert stats.adjust_p_values(p, "bh") == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert stats.adjust_p_values(p, "none") == p
    with pytest.raises(ValueError):
        stats.adjust_p_values(p, "sidak")


def test_many_unchanged_points_are_not_called_changed_after_the_correction():
    """80 points with no real change: uncorrected, some come out 'significant' by chance."""
    rng = np.random.default_rng(3)
    ps = [stats.mann_whitney(rng.lognormal(0, 0.05, 9), rng.lognormal(0, 0.05, 9)).p_value for _ in range(80)]
    assert sum(p < 0.05 for p in ps) >= 1
    assert sum(p < 0.05 for p in stats.adjust_p_values(ps, "holm")) == 0


def test_compare_points_carry_the_interval_and_the_adjusted_p():
    r = cmp.compare([results.load(A1), results.load(A2)])
    pair = r.pairs[0]
    slow = [p for p in pair.points if (p.algorithm, p.isa) == ("two-pass", "avx2")]
    assert all(p.ci_low < p.hl_ratio < p.ci_high and 1.08 < p.ci_low and p.ci_high < 1.12 for p in slow)
    assert all(p.p_adjusted >= p.p_value for p in pair.points)
    assert pair.correction == "holm" and 10.0 < pair.bound_pct < 15.0
    same = [p for p in pair.points if p.verdict == "no change"]
    assert all(p.ci_low <= 1.0 + 1e-3 and p.ci_high >= 1.0 - 1e-3 for p in same)


def test_no_change_beyond_is_stated_for_unchanged_files(tmp_path):
    doc = json.loads(A1.read_text())
    rng = np.random.default_rng(4)
    for r in doc["results"]:
        r["samples_ns"] = [s * float(rng.uniform(0.999, 1.001)) for s in r["samples_ns"]]
    doc["context"]["created"] = "2026-01-01T00:00:00+00:00"
    p = tmp_path / "again.json"
    p.write_text(json.dumps(doc))
    code, out, _ = invoke("compare", A1, p, "--json")
    assert code == 0
    bound = json.loads(out)["pairs"][0]["bound_pct"]
    assert 0 < bound < 5
    code, out, _ = invoke("compare", A1, p)
    assert f"no change beyond +-{bound:.1f}%" in out


def test_thresholds_parse_per_regime():
    t = gate.parse_thresholds("L1=8,dram=3")
    assert t.default is None and t.per_regime == {"L1": 8.0, "DRAM": 3.0} and t.for_regime("L2") is None
    t = gate.parse_thresholds("5,DRAM=3")
    assert t.for_regime("DRAM") == 3.0 and t.for_regime("L3") == 5.0
    for bad, words in (("fast", "not a percentage"), ("L7x=3", "unknown regime"), ("-1", ">= 0"), ("5,6", "two percentages"), ("", "no threshold")):
        with pytest.raises(InputError, match=words):
            gate.parse_thresholds(bad)


def test_per_regime_threshold_gates_only_its_regimes():
    # two-pass/avx2 is 10% slower at every size of the fixtures; L3 holds some of them
    code, _, err = invoke("compare", A1, A2, "--fail-above", "L3=5")
    assert code == 1 and "L3" in err
    code, out, err = invoke("compare", A1, A2, "--fail-above", "L3=15,L1=5", "--json")
    doc = json.loads(out)
    assert code == 1 and all(r["regime"] == "L1" for r in doc["regressions"]) and doc["regressions"]
    assert set(doc["gate"]["ungated_regimes"]) == {"L2", "transition", "DRAM"}
    code, _, err = invoke("compare", A1, A2, "--fail-above", "15,DRAM=5")
    assert code == 1 and "DRAM" in err
    assert invoke("compare", A1, A2, "--fail-above", "15")[0] == 0
