"""Crossovers from a run, the tuning file (`softbench tune`), and softmax(algorithm="auto")."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import softbench
from softbench.version import __version__
from softbench import api
from softbench.bridge import build
from softbench.host import isa
from softbench.results import files as results
from softbench.results import schema
from softbench.analysis import crossovers, tuning
from softbench.reporters import tables
from softbench.errors import InputError

BEST = isa.best()


def rec(alg, n, ns, isa_name="avx2", **extra):
    return {"algorithm": alg, "isa": isa_name, "n": n, "threads": 1, "ns_per_element": ns, **extra}


def by_pair(cs):
    return {(c.isa, frozenset((c.algorithm, c.baseline))): c for c in cs}


def test_pair_crossovers_on_synthetic_records():
    ns = [1000, 10_000, 100_000, 1_000_000]
    times = {
        "three-pass-reload": [0.40, 0.42, 0.50, 1.00],
        "two-pass": [0.80, 0.82, 0.85, 0.90],  # beats reload from 1e6 on
        "online": [0.90, 0.91, 0.92, 0.95],  # beats reload from 1e6; never beats two-pass
        "three-pass-recompute": [0.70, 0.95, 0.80, 1.10],  # trades places with online
    }
    records = [rec(a, n, t) for a, ts in times.items() for n, t in zip(ns, ts)]
    records += [rec("two-pass", n, 0.1, threads=4) for n in ns]  # other thread counts are ignored
    records += [rec("two-pass", n, 0.1, variant="nt") for n in ns]  # and other variants
    records += [rec("two-pass", n, 5.0, isa_name="scalar") for n in ns] + [rec("online", n, 6.0, isa_name="scalar") for n in ns]
    cs = by_pair(crossovers.pair_crossovers(records))
    assert len(cs) == 6 + 1  # every pair on avx2, one on scalar
    c = cs[("avx2", frozenset(("two-pass", "three-pass-reload")))]
    assert (c.algorithm, c.baseline, c.status, c.n, c.n_below) == ("two-pass", "three-pass-reload", "crosses", 1_000_000, 100_000)
    c = cs[("avx2", frozenset(("two-pass", "online")))]
    assert (c.algorithm, c.status, c.n, c.wins_at) == ("two-pass", "always", 1000, ns)
    c = cs[("avx2", frozenset(("online", "three-pass-recompute")))]
    # online is faster at the largest N, lost at 100,000 just below it, and also won at 10,000
    assert (c.algorithm, c.status, c.n, c.n_below, c.wins_at) == ("online", "crosses", 1_000_000, 100_000, [10_000, 1_000_000])
    c = cs[("scalar", frozenset(("two-pass", "online")))]
    assert c.status == "always" and c.algorithm == "two-pass"
    assert "beats three-pass-reload from N = 1,000,000 on" in tables.crossover_sentence(cs[("avx2", frozenset(("two-pass", "three-pass-reload")))])


def test_pair_crossovers_tie_and_records_as_objects():
    recs = [schema.record_from_dict(dict(rec(a, n, t), regime="L1", bytes_per_element={k: 1 for k in schema.BYTES_KEYS},
                                          samples_ns=[1.0], calls_per_sample=1, min_ns_per_element=t, gbps_effective=1.0,
                                          gbps_actual=1.0, roofline_efficiency=None, max_rel_error=0.0))
            for a, n, t in [("two-pass", 10, 1.0), ("online", 10, 2.0), ("two-pass", 20, 1.0), ("online", 20, 1.0)]]  # fmt: skip
    (c,) = crossovers.pair_crossovers(recs)
    assert c.status == "never"  # a tie at the largest N: neither beats the other there


def test_bands_boundaries_at_geometric_means():
    b = tuning.bands([1000, 4000, 16000, 64000], ["a", "a", "b", "a"])
    assert [(x["from_n"], x["to_n"], x["algorithm"], x["measured"]) for x in b] == [
        (1, 8000, "a", [1000, 4000]), (8000, 32000, "b", [16000]), (32000, None, "a", [64000])]  # fmt: skip


def here_context():
    m = tuning.this_machine()
    return {"cpu": {"model_name": m["cpu_model"]}, "hostname": m["hostname"], "python": {"softbench": __version__}, "created": "2026-01-01T00:00:00+00:00"}


def synthetic_run(isa_name=BEST):
    ns = [4096, 65536, 1 << 20, 1 << 24]
    fast = {4096: "three-pass-reload", 65536: "three-pass-reload", 1 << 20: "online", 1 << 24: "two-pass"}
    return [rec(a, n, 0.5 if fast[n] == a else 1.0, isa_name=isa_name) for a in ("three-pass-reload", "two-pass", "online") for n in ns]


@pytest.fixture
def tuning_file(tmp_path, monkeypatch):
    path = tmp_path / "tuning.json"
    monkeypatch.setenv(tuning.ENV_TUNING_FILE, str(path))
    tuning.clear_cache()
    yield path
    tuning.clear_cache()


def test_tuning_round_trip_and_auto_choice(tuning_file):
    doc = tuning.derive(synthetic_run(), here_context(), source="run.json")
    assert tuning.write(doc) == tuning_file
    back = tuning.read(tuning_file)
    assert back == json.loads(json.dumps(doc))
    entry = back["isas"][BEST]
    assert entry["fastest"] == ["three-pass-reload", "three-pass-reload", "online", "two-pass"]
    assert tuning.usable(back) == (True, "")
    sel = tuning.selector()
    assert sel.source(BEST).startswith("tuning file")
    assert tuning.choose(100, BEST) == "three-pass-reload"
    assert tuning.choose(65536, BEST) == "three-pass-reload"
    assert tuning.choose(1 << 20, BEST) == "online"
    assert tuning.choose(1 << 26, BEST) == "two-pass"
    # an ISA the file lacks: the default rule
    other = next((i for i in isa.runnable() if i != BEST), None)
    if other:
        assert tuning.choose(1 << 26, other) == tuning.default_choice(1 << 26)
        assert sel.source(other).startswith("default rule")
    # and softmax(algorithm="auto") runs that choice, correctly
    x = np.random.default_rng(0).standard_normal(1 << 20).astype(np.float32)
    fn, alg = api.auto_kernel(x.size, BEST)
    assert alg == "online"
    y = softbench.softmax(x, algorithm="auto")
    np.testing.assert_array_equal(y, softbench.softmax(x, algorithm="online"))
    if getattr(build.load(BEST), "variants", None):  # a forced store variant applies to auto's pick too
        np.testing.assert_array_equal(softbench.softmax(x, algorithm="auto", variant="nt"), softbench.softmax(x, algorithm="online", variant="nt"))


def test_auto_without_a_tuning_file_uses_the_default_rule(tuning_file):
    assert not tuning_file.exists()
    sel = tuning.selector()
    assert "no tuning file" in sel.source(BEST)
    llc = tuning._llc_bytes()
    assert tuning.choose(1024, BEST) == "three-pass-reload"
    assert tuning.choose(llc // 8, BEST) == "three-pass-reload"
    assert tuning.choose(llc // 8 + 1, BEST) == "two-pass"
    x = np.random.default_rng(1).standard_normal(3000).astype(np.float32)
    np.testing.assert_array_equal(softbench.softmax(x, algorithm="auto"), softbench.softmax(x, algorithm="three-pass-reload"))


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda d: d["machine"].update(hostname="elsewhere"), "another machine"),
        (lambda d: d["machine"].update(cpu_model="unknown"), "does not name its machine"),
        (lambda d: d.update(softbench_version="0.0.1"), "softbench 0.0.1"),
    ],
)
def test_foreign_or_stale_tuning_is_ignored(tuning_file, change, words):
    doc = tuning.derive(synthetic_run(), here_context())
    change(doc)
    tuning.write(doc)
    sel = tuning.selector()
    assert words in sel.source(BEST)
    assert tuning.choose(1 << 20, BEST) == tuning.default_choice(1 << 20)


@pytest.mark.parametrize("text", ["not json", json.dumps({"kind": "other"}), json.dumps({"kind": tuning.TUNING_KIND, "format": 1, "isas": {"avx2": {"bands": []}}})])
def test_damaged_tuning_file_falls_back_and_read_says_why(tuning_file, text):
    tuning_file.write_text(text)
    assert tuning.choose(1 << 20, BEST) == tuning.default_choice(1 << 20)
    with pytest.raises(InputError):
        tuning.read(tuning_file)


def test_derive_refuses_an_empty_run():
    with pytest.raises(InputError, match="no measured points"):
        tuning.derive([], here_context())


# --- CLI ---------------------------------------------------------------------------------------


def sb(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True, env=e, timeout=600)


def write_run(path, records, context):
    from softbench.catalog import algorithms

    with results.ResultWriter(path, context) as w:
        for r in records:
            a = algorithms()[r["algorithm"]]
            ns = r["ns_per_element"]
            w.add(dict(r, regime="L1", bytes_per_element=a.traffic(), samples_ns=[ns * r["n"]] * 5, calls_per_sample=1,
                       min_ns_per_element=ns, gbps_effective=8 / ns, gbps_actual=a.bytes_total / ns,
                       roofline_efficiency=0.5, max_rel_error=1e-7))  # fmt: skip


def test_cli_tune_from_a_result_file_end_to_end(tmp_path):
    run = tmp_path / "run.json"
    write_run(run, synthetic_run(), here_context())
    tf = tmp_path / "t.json"
    env = {tuning.ENV_TUNING_FILE: str(tf)}
    p = sb("tune", "--from", str(run), "--json", env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["usable"] and out["tuning_file"] == str(tf) and tf.exists()
    assert [b["algorithm"] for b in out["tuning"]["isas"][BEST]["bands"]] == ["three-pass-reload", "online", "two-pass"]
    # human text of --show, and a fresh process picking by the file
    p = sb("tune", "--show", env=env)
    assert p.returncode == 0, p.stderr
    assert "uses it" in p.stdout and "online" in p.stdout
    code = "import numpy as np, softbench.api as a; print(a.auto_kernel(1 << 20, %r)[1], a.auto_kernel(10, %r)[1])" % (BEST, BEST)
    q = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, **env))
    assert q.stdout.split() == ["online", "three-pass-reload"], q.stderr


def test_cli_tune_from_another_machines_file_writes_it_and_says_auto_ignores_it(tmp_path):
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "machine-a-run1.json")
    tf = tmp_path / "t.json"
    p = sb("tune", "--from", fixture, env={tuning.ENV_TUNING_FILE: str(tf)})
    assert p.returncode == 0, p.stderr
    assert "will ignore this tuning here" in p.stdout and "another machine" in p.stdout
    doc = tuning.read(tf)
    assert set(doc["isas"]) == {"avx2", "scalar"} and doc["machine"]["hostname"] == "fixture-a"


@pytest.mark.parametrize(
    "args,words",
    [
        (["--from", "missing.json"], "no such result file"),
        (["--from", "x.json", "--sizes", "4Ki"], "takes no sweep options"),
        # (--show without a tuning file is no error: it explains the default rule and exits 0;
        # tests/test_cli_habits.py::test_tune_show_without_a_tuning_file_explains_the_default)
    ],
)
def test_cli_tune_errors_are_one_line(tmp_path, args, words):
    p = sb("tune", *args, env={tuning.ENV_TUNING_FILE: str(tmp_path / "none.json")})
    assert p.returncode != 0
    assert words in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_cli_tune_sweeps_and_writes_its_run(tmp_path):
    """A real (tiny) `softbench tune` sweep: it runs, keeps its result file, writes the tuning."""
    tf = tmp_path / "t.json"
    p = sb("tune", "--isa", "scalar", "--sizes", "1Ki,64Ki", "-r", "5", "--min-time", "0.001", "--json", env={tuning.ENV_TUNING_FILE: str(tf)})
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    entry = out["tuning"]["isas"]["scalar"]
    assert entry["sizes"] == [1024, 65536] and len(entry["crossovers"]) == 6
    assert out["usable"] and tuning.read(tf)["isas"]["scalar"]["fastest"] == entry["fastest"]
    run_file = out["tuning"]["source"]["result_file"]
    assert os.path.dirname(run_file) == str(tmp_path / "runs") and results.load(run_file).complete


def test_cli_run_json_has_crossovers(tmp_path):
    r = sb("run", "-a", "two-pass,three-pass-reload", "-i", "scalar", "--sizes", "1Ki,16Ki", "--min-time", "0.001", "--json", "-o", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    (c,) = json.loads(r.stdout)["crossovers"]
    assert {c["algorithm"], c["baseline"]} == {"two-pass", "three-pass-reload"} and c["isa"] == "scalar"
    assert c["status"] in ("always", "crosses", "never") and c["n_measured"] == [1024, 16384]


def test_run_summary_prints_crossovers(tmp_path):
    import io

    from rich.console import Console

    from softbench.analysis import summaries
    from softbench.reporters import terminal
    from softbench.bench.runner import RunOutcome
    from softbench.results.schema import record_from_dict

    bytes_model = {"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16}
    records = [dict(r, regime="L1", roofline_efficiency=0.5, gbps_effective=1.0, gbps_actual=1.0, max_rel_error=1e-7,
                    bytes_per_element=bytes_model, samples_ns=[r["ns_per_element"] * r["n"]] * 5, calls_per_sample=1,
                    min_ns_per_element=r["ns_per_element"])
               for r in synthetic_run("avx2")]  # fmt: skip
    buf = io.StringIO()
    console = Console(file=buf, width=160)
    cells = summaries.regime_cells(record_from_dict(r) for r in records)
    terminal.print_run_summary(console, RunOutcome(path=tmp_path / "r.json", records=records), cells)
    text = buf.getvalue()
    assert "crossovers" in text
    line = next(ln for ln in text.splitlines() if "two-pass" in ln and "three-pass-reload" in ln and "avx2" in ln)
    assert "16,777,216" in line and "1,048,576" in line  # two-pass faster from 2^24, slower at 2^20
