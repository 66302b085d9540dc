"""Batches and threads: softmax over each row of a batch, and a call split across threads (rows in
blocks, one row in chunks whose pass states merge) against the float64 reference, on every
algorithm and ISA; the pool, the CPU order, and `run --shape --threads` end to end. This machine
may have 2 CPUs: pools with more threads than CPUs still run (oversubscribed, correctness only)."""

import json

import numpy as np
import pytest

import softbench
from softbench.bridge import build
from softbench.host import isa, threads
from softbench.host import caches
from softbench.bench import measure, verify
from softbench.errors import ResultFileError
from softbench.results import files as results
from softbench.results import schema
from softbench.catalog import ISAS, algorithms

ALGS = list(algorithms())
RUNNABLE = isa.runnable()
BEST = isa.best()


@pytest.fixture(autouse=True)
def _oversubscribe(monkeypatch):
    """softmax() refuses more threads than the process's CPUs; these tests split calls into more
    chunks than this machine has CPUs on purpose (correctness only), so they lift that limit."""
    from softbench import api

    monkeypatch.setattr(api, "max_threads", lambda: 64)


def ref_rows(x2):
    return np.stack([verify.reference(r) for r in x2])


def rel_err(y, ref):
    return float(np.max(np.abs(y.astype(np.float64) - ref) / ref))


def widths(isa_name):
    """Row lengths around the vector width: shorter than one vector, tails, one unrolled block."""
    lanes, block = ISAS[isa_name].lanes, verify.block_of(isa_name)
    return sorted({1, 2, 3, max(1, lanes - 1), lanes, lanes + 1, block - 1, block + 3, 2 * block + 1})


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("isa_name", RUNNABLE)
def test_batch_rows_are_independent_and_equal_to_one_row_calls(alg, isa_name):
    rng = np.random.default_rng(3)
    for cols in widths(isa_name) + [1000]:
        x = (rng.standard_normal((5, cols)) * 4).astype(np.float32)
        y = softbench.softmax(x, alg, isa_name)
        # the batch runs the 1-D kernel on each row: the very same bits
        np.testing.assert_array_equal(y, np.stack([softbench.softmax(r.copy(), alg, isa_name) for r in x]))
        assert rel_err(y, ref_rows(x)) <= verify.REL_TOLERANCE


@pytest.mark.parametrize("alg", ALGS)
def test_batch_masks_and_nan_stay_in_their_row(alg):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((6, 37)) * 3).astype(np.float32)
    x[0, ::2] = -np.inf  # a masked row: exact zeros where masked, the rest accurate
    x[2, :] = -np.inf  # all masked: NaN in this row only
    x[4, 5] = np.nan  # NaN: this row only
    for threads_ in (1, 3):
        y = softbench.softmax(x, alg, threads=threads_)
        assert np.all(y[0, ::2] == 0.0)
        assert np.all(np.isnan(y[2])) and np.all(np.isnan(y[4]))
        ok = [0, 1, 3, 5]
        assert rel_err(y[ok][np.isfinite(x[ok])], ref_rows(x[ok])[np.isfinite(x[ok])]) <= verify.REL_TOLERANCE


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("isa_name", RUNNABLE)
def test_one_row_split_across_threads_matches_the_reference(alg, isa_name):
    rng = np.random.default_rng(5)
    for n in widths(isa_name) + [1000, 65537]:
        x = (rng.standard_normal(n) * 4).astype(np.float32)
        for t in (2, 3, 5):  # 5 > this machine's CPUs, and more threads than 16-float chunks for small n
            y = softbench.softmax(x, alg, isa_name, threads=t)
            assert rel_err(y, verify.reference(x)) <= verify.REL_TOLERANCE, (n, t)


@pytest.mark.parametrize("alg", ALGS)
def test_split_row_passes_the_correctness_matrix(alg):
    """Every case of `softbench verify` (tails, misalignment, huge inputs, -inf masks, NaN and +inf
    in the first, middle or last chunk) through a row split across 3 threads, normal and
    non-temporal stores; guard zones catch writes outside the row."""
    module = build.load(BEST)
    pool = threads.pool(3)
    for variant in (None, "nt"):
        def fn(n, xp, yp):
            pool.run(threads.kernel_work(module, alg, variant, n).cdata, 1, n, xp, yp)

        for case in verify.cases(verify.block_of(BEST), algorithms()[alg].max_abs_x, large=False):
            if case.name.startswith("random n=1000003"):
                continue  # the 65537 case covers big rows; keep the test fast
            r = verify.run_case(fn, module.ffi, case)
            assert r.passed, (variant, case.name, r.detail)


def test_more_threads_than_rows_and_rows_shorter_than_a_vector():
    rng = np.random.default_rng(6)
    lanes = ISAS[BEST].lanes
    for rows, cols, t in ((3, 1000, 5), (7, max(1, lanes - 1), 4), (2, 1, 3), (1, 1, 4), (9, 3, 2)):
        x = rng.standard_normal((rows, cols)).astype(np.float32)
        for alg in ALGS:
            y = softbench.softmax(x, alg, threads=t)
            # whole rows per thread: the same kernel per row as one thread, so the same bits
            np.testing.assert_array_equal(y, softbench.softmax(x, alg), err_msg=f"{alg} {rows}x{cols} threads={t}")


def test_threads_in_place_and_bad_arguments():
    x = np.random.default_rng(7).standard_normal((4, 300)).astype(np.float32)
    expected = softbench.softmax(x, threads=2)
    inplace = x.copy()
    softbench.softmax(inplace, out=inplace, threads=2)
    np.testing.assert_array_equal(inplace, expected)
    row = x[0].copy()
    softbench.softmax(row, out=row, threads=3)
    assert rel_err(row, verify.reference(x[0])) <= verify.REL_TOLERANCE
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            softbench.softmax(x, threads=bad)
    with pytest.raises(ValueError, match="shape"):
        softbench.softmax(x, out=np.empty((300, 4), np.float32))
    assert softbench.softmax(np.empty((0, 5), np.float32), threads=2).shape == (0, 5)


def test_pool_is_created_once_and_pins_its_workers():
    assert threads.pool(2) is threads.pool(2)
    p = threads.pool(2)
    assert p.threads == 2 and 0 <= p.pinned <= 1
    if len(threads.allowed_cpus()) >= 2:
        assert p.pinned == 1  # Linux pins; the caller (thread 0) is not counted


def test_cpu_order_gives_each_thread_a_core_before_sharing_one(monkeypatch):
    # CPUs 0-3: 0 and 2 are one core's two hardware threads, 1 and 3 another's
    monkeypatch.setattr(threads, "_core_of", lambda c: (0, c % 2))
    assert threads.cpu_order([0, 1, 2, 3], first=3) == [3, 0, 1, 2]
    assert threads.cpu_order([0, 1, 2, 3]) == [0, 1, 2, 3]
    assert threads.cores_of([3, 0]) == 2 and threads.cores_of([3, 0, 1]) == 2  # `run` warns: a core is shared
    monkeypatch.setattr(threads, "_core_of", lambda c: None)  # no topology: in order
    assert threads.cpu_order([2, 0, 1], first=1) == [1, 0, 2]
    assert threads.cores_of([0, 1]) is None


def test_touched_array_and_empty_call_cost():
    pool = threads.pool(2)
    a = threads.touched_array(3, 1000, pool)
    assert a.size == 3000 and not a.any() and a.ctypes.data % 4096 == 0
    module = build.load(BEST)
    work = threads.kernel_work(module, "two-pass", None, 1000)
    assert work.passes == 2 and work.merges == (3, 0)  # SB_MERGE_EXT, then the output pass
    empty = threads.empty_work(module, work)
    y = threads.touched_array(1, 1000, pool)
    ns = pool.time(empty.cdata, 1, 1000, a[:1000], y, 100, True)
    assert 0 < ns and not y.any()  # the empty call synchronises and computes nothing


def test_measure_point_batch_with_threads_records_shape_threads_and_sync():
    mod = build.load("scalar")
    timer = measure.Timer(build.load(build.HARNESS_ISA))
    point = measure.measure_point(
        4 * 1000,
        [("two-pass", "scalar", None, mod.kernels["two-pass"], mod.twins["two-pass"], None),
         ("online", "scalar", None, mod.lib.sb_exp_nonpos_array__scalar, mod.twins["online"], None)],  # wrong: no figure
        [("copy", "scalar", *mod.streams["copy"])],
        timer, repetitions=5, warmup=0, min_time=0.0005, rng=np.random.default_rng(0), levels=[("L1", 32768)],
        cpu=None, rows=4, pool=threads.pool(2),
    )  # fmt: skip
    assert [r["algorithm"] for r in point.records] == ["two-pass"]
    assert point.failures and "row" in point.failures[0][1] and "4x1000" in point.failures[0][1]
    rec = schema.record_from_dict(point.records[0])
    assert rec.threads == 2 and rec.shape == [4, 1000] and rec.rows == 4 and rec.cols == 1000
    assert rec.sync_ns > 0 and rec.roofline_efficiency > 0 and rec.max_rel_error < 1e-5
    assert point.bandwidth[0]["threads"] == 2 and point.bandwidth[0]["shape"] == [4, 1000]


def test_batch_check_finds_a_wrong_row():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((50, 64)).astype(np.float32)
    y = softbench.softmax(x)
    assert measure.reference_check(x.ravel(), y.ravel(), rng, rows=50) [1] == ""
    bad = y.copy()
    bad[17] = bad[16]  # sums to 1, but it is another row's softmax: only a row check catches it
    bad[49, 3] *= 1.5  # the last row is always checked
    err, problem = measure.reference_check(x.ravel(), bad.ravel(), rng, rows=50)
    assert problem.startswith("row 49 of 50") or problem.startswith("row 17 of 50")


def test_shape_must_match_n_in_a_record():
    rec = {"algorithm": "two-pass", "isa": "scalar", "n": 12, "threads": 2, "regime": "L1",
           "bytes_per_element": {"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16},
           "samples_ns": [1.0], "calls_per_sample": 1, "ns_per_element": 1.0, "min_ns_per_element": 1.0,
           "gbps_effective": 8.0, "gbps_actual": 12.0, "roofline_efficiency": 0.5, "max_rel_error": 1e-7}  # fmt: skip
    assert schema.record_from_dict(dict(rec, shape=[3, 4])).rows == 3
    assert schema.record_from_dict(rec).shape is None and schema.record_from_dict(rec).cols == 12
    with pytest.raises(ResultFileError, match="shape"):
        schema.record_from_dict(dict(rec, shape=[5, 4]))
    with pytest.raises(ResultFileError, match="shape"):
        schema.record_from_dict(dict(rec, shape=[12]))


def sb(*args):
    """The CLI in a subprocess on every CPU this test process started with (an in-process `run`
    of another test pins this thread, and a child inherits that)."""
    import os
    import subprocess
    import sys

    cpus = threads.allowed_cpus()
    return subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))  # fmt: skip


two_cpus = pytest.mark.skipif(len(threads.allowed_cpus()) < 2, reason="needs 2 CPUs for 2 threads")


@two_cpus
def test_run_with_shapes_and_threads_end_to_end(tmp_path):
    out = tmp_path / "t.json"
    p = sb("run", "--shape", "8x1000,1x4Ki,16x256", "--threads", "1,2", "-a", "two-pass,three-pass-reload",
           "-i", "scalar", "--min-time", "0.0005", "-o", str(out), "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = results.load(out)
    got = sorted((r.algorithm, r.rows, r.cols, r.threads) for r in doc.results)
    assert got == sorted((a, rows, cols, t) for a in ("two-pass", "three-pass-reload")
                         for rows, cols in ((8, 1000), (1, 4096), (16, 256)) for t in (1, 2))  # fmt: skip
    for r in doc.results:
        assert (r.sync_ns is not None) == (r.threads > 1) and r.max_rel_error < 1e-5
        assert r.regime == caches.regime(r.n, caches.cache_levels(doc.context["caches"]))
    assert doc.context["threads"] == [1, 2] and len(doc.context["thread_cpus"]) == 2
    assert {(b["threads"], tuple(b.get("shape") or ())) for b in doc.bandwidth} >= {(2, (8, 1000)), (1, ())}
    assert json.loads(p.stdout)["complete"]
    # the report draws scaling and row length (4096 elements as 1, 16 rows: with 8x1000 not the same N)
    from softbench.reporters import report

    made = report.write_report([doc], tmp_path / "rep")
    names = {q.name for q in made.plots}
    assert "t-scaling.png" in names and "t-rowlength.png" not in names
    text = made.markdown.read_text()
    assert "8x1000" in text and "speedup over Three-Pass per thread count" in text
    # compare matches points on threads and shape: a file against a copy of itself
    from softbench.analysis import same_machine

    (tmp_path / "u.json").write_text(out.read_text())
    pair = same_machine.compare_same_machine([doc, results.load(tmp_path / "u.json")]).pairs[0]
    assert len(pair.points) == len(doc.results) and all(pt.ratio == 1.0 for pt in pair.points)
    assert {(pt.rows, pt.threads) for pt in pair.points} == {(8, 1), (8, 2), (1, 1), (1, 2), (16, 1), (16, 2)}


def test_row_length_plot_for_one_total_size(tmp_path):
    out = tmp_path / "rl.json"
    p = sb("run", "--shape", "1x4096,16x256,256x16", "-a", "two-pass", "-i", "scalar", "--min-time", "0.0005", "-o", str(out))
    assert p.returncode == 0, p.stderr
    from softbench.reporters import report

    made = report.write_report([results.load(out)], tmp_path / "rep")
    assert "rl-rowlength.png" in {q.name for q in made.plots} and "rl-scaling.png" not in {q.name for q in made.plots}


def test_threads_above_the_cpus_are_refused_on_the_command_line(tmp_path):
    p = sb("run", "--sizes", "1Ki", "--threads", "4096", "-o", str(tmp_path / "x.json"))
    assert p.returncode == 2 and "4096 threads need 4096 CPUs" in p.stderr and "Traceback" not in p.stderr
    p = sb("run", "--shape", "64", "-o", str(tmp_path / "y.json"))
    assert p.returncode == 2 and "ROWSxCOLUMNS" in p.stderr
