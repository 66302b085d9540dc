"""Issue 15, "results you can trust in CI": each numbered case of the issue, reproduced.

Data: concurrent runs on one output name, the gate on files that hold less than they should,
impossible values. One clear line: unwritable folders, a full disk, bad suites and compilers, an
ASCII terminal, absurd thread counts, stop signals and --resume, and the smaller cases of item 7.
"""

import copy
import errno
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import invoke

from softbench.results import files as results
from softbench.errors import InputError, ResultFileError
from softbench.results.files import ResultWriter

FIX = Path(__file__).parent / "fixtures"
A1, A2, FEW = FIX / "machine-a-run1.json", FIX / "machine-a-run2.json", FIX / "machine-a-few-samples.json"
TINY = ("--sizes", "1Ki", "-a", "online", "-i", "scalar", "--repetitions", "5", "--min-time", "0.0005")


def sb(*args, env=None, cwd=None, timeout=300):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "softbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=timeout)  # fmt: skip


def one_line_error(text: str) -> bool:
    """stderr ends with one error line (a run's plan may come before it), and no traceback."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("softbench: error:")]
    return len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in text


def record(**over):
    r = {"algorithm": "online", "isa": "scalar", "n": 1024, "threads": 1, "regime": "L1",
         "bytes_per_element": {"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16},
         "samples_ns": [1000.0] * 5, "calls_per_sample": 10, "ns_per_element": 0.1, "min_ns_per_element": 0.1,
         "gbps_effective": 80.0, "gbps_actual": 120.0, "roofline_efficiency": 0.9, "max_rel_error": 1e-7}  # fmt: skip
    r.update(over)
    return r


# --- 1. concurrent runs lose nothing ---------------------------------------------------------


def _race(path, i, free_name, barrier, out):
    barrier.wait()
    try:
        w = ResultWriter(path, {"writer": i}, **({"free_name": True} if free_name else {}))
        w.add(record(n=1024 * (i + 1)))
        w.close()
        out.put((i, str(w.path)))
    except InputError as e:
        out.put((i, f"refused: {e}"))


def _race_once(tmp_path, trial, free_name):
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    path = tmp_path / f"t{trial}.json"
    procs = [ctx.Process(target=_race, args=(path, i, free_name, barrier, out)) for i in range(4)]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return path, dict(got)


def test_four_writers_on_one_name_twenty_times_lose_nothing(tmp_path):
    for trial in range(20):
        path, got = _race_once(tmp_path, trial, free_name=False)
        winners = {i: p for i, p in got.items() if not p.startswith("refused")}
        assert len(winners) == 1, got  # exactly one run keeps the name; the others are told
        (i, p), = winners.items()
        doc = results.load(p)
        assert doc.complete and doc.context == {"writer": i} and [r.n for r in doc.results] == [1024 * (i + 1)]
        for j, text in got.items():
            if j != i:
                assert "already exists" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_four_runs_with_default_names_twenty_times_keep_four_files(tmp_path):
    for trial in range(20):
        path, got = _race_once(tmp_path, trial, free_name=True)
        assert len(set(got.values())) == 4, got  # four files, each with its own run
        for i, p in got.items():
            doc = results.load(p)
            assert doc.complete and doc.context == {"writer": i} and [r.n for r in doc.results] == [1024 * (i + 1)]


def test_four_cli_runs_in_one_folder_write_four_files_and_one_output_name_is_refused(tmp_path):
    runs = [subprocess.Popen([sys.executable, "-m", "softbench.cli", "run", *TINY, "--seed", str(i)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0] * 4, outs
    files = sorted(tmp_path.glob("softbench-*.json"))
    assert len(files) == 4 and sorted(results.load(f).context["suite"]["seed"] for f in files) == [0, 1, 2, 3]
    same = [subprocess.Popen([sys.executable, "-m", "softbench.cli", "run", *TINY, "-o", "same.json", "--seed", str(i)],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in same]
    codes = [p.returncode for p in same]
    assert sorted(codes) == [0, 2, 2, 2], outs
    for (_, err), code in zip(outs, codes):
        if code == 2:
            assert one_line_error(err) and "already exists" in err
    seed = results.load(tmp_path / "same.json").context["suite"]["seed"]
    assert codes[seed] == 0


# --- 2. the gate fails when the candidate holds less than it should ---------------------------


def _variant(tmp_path, name, edit):
    doc = json.loads(A2.read_text())
    edit(doc)
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(doc))
    return p


def _fail_verification(doc):
    doc["failures"].append({"kernel": "online/avx2", "message": "failed verification: tail 3: NaN"})
    doc["results"] = [r for r in doc["results"] if (r["algorithm"], r["isa"]) != ("online", "avx2")]


GATE_CASES = {
    "failed": (_fail_verification, "kernel failure", "failed"),
    "empty": (lambda d: d.update(results=[]), "holds no points", None),
    "nothing-in-common": (lambda d: [r.update(n=r["n"] + 1) for r in d["results"]], "no point in common", None),
    "half-missing": (lambda d: d.update(results=d["results"][::2]), "lacks 36 of the 72 points", "missing"),
    "unfinished": (lambda d: d.update(complete=False), "did not finish", "incomplete"),
}


@pytest.mark.parametrize("case", sorted(GATE_CASES))
def test_gate_fails_on_a_candidate_that_holds_less(tmp_path, case):
    edit, words, allow = GATE_CASES[case]
    # the baseline against itself plus the damage: no regression, so only the damage can fail it
    cand = _variant(tmp_path, case, lambda d: (d.update(results=json.loads(A1.read_text())["results"]), edit(d)))
    code, out, err = invoke("compare", A1, cand, "--fail-above", "5")
    assert code == 1 and words in err and "gate" in err, err
    if allow:
        code, _, err = invoke("compare", A1, cand, "--fail-above", "5", "--allow", allow)
        assert code == 0, err
    else:  # comparing nothing never passes
        code, _, err = invoke("compare", A1, cand, "--fail-above", "5", "--allow", "failed,incomplete,missing,untested")
        assert code == 1


def test_gate_fails_on_points_with_too_few_samples(tmp_path):
    cand = _variant(tmp_path, "few", lambda d: d.update(results=json.loads(FEW.read_text())["results"]))
    base = tmp_path / "base.json"
    base.write_text(FEW.read_text())
    code, _, err = invoke("compare", base, cand, "--fail-above", "5")
    assert code == 1 and "too few samples" in err
    code, _, err = invoke("compare", base, cand, "--fail-above", "5", "--allow", "untested")
    assert code == 0, err


def test_gate_passes_a_clean_comparison_and_fails_a_regression():
    assert invoke("compare", A1, A2, "--fail-above", "15")[0] == 0
    code, _, err = invoke("compare", A1, A2, "--fail-above", "5")
    assert code == 1 and "9 point(s) significantly slower" in err


def test_allow_needs_the_gate_and_known_names():
    code, _, err = invoke("compare", A1, A2, "--allow", "missing")
    assert code == 2 and "--fail-above" in err
    code, _, err = invoke("compare", A1, A2, "--fail-above", "5", "--allow", "everything")
    assert code == 2 and "unknown" in err


# --- 3. impossible values are refused by the reader --------------------------------------------


@pytest.mark.parametrize("field,value", [("samples_ns", [1000.0, -5.0, 1000.0, 1000.0, 1000.0]),
                                         ("samples_ns", [0.0] * 5), ("ns_per_element", 0.0),
                                         ("ns_per_element", -0.1), ("gbps_effective", -80.0),
                                         ("twin_samples_ns", [1.0, 0.0, 1.0, 1.0, 1.0])])  # fmt: skip
def test_reader_refuses_impossible_values(tmp_path, field, value):
    doc = json.loads(A1.read_text())
    doc["results"][3][field] = value
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError, match=f"record 3 field '{field}'") as e:
        results.load(p)
    assert "> 0" in str(e.value)
    code, _, err = invoke("compare", A1, p)
    assert code == 2 and "record 3" in err and "Traceback" not in err


# --- 4. one clear line instead of a traceback ---------------------------------------------------


def test_unwritable_output_folder_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code, _, err = invoke("run", *TINY, "-o", tmp_path / "r.json")
    assert code == 2 and "cannot write the result file" in err and "Permission denied" in err
    assert not (tmp_path / "r.json").exists()


def test_output_under_proc_is_one_line():
    p = sb("run", *TINY, "-o", "/proc/softbench-r.json")
    assert p.returncode == 2 and one_line_error(p.stderr) and "cannot write" in p.stderr


def _disk_full_after(monkeypatch, good_writes):
    real = ResultWriter._temp_file
    count = {"n": 0}

    def temp_file(self, text, durable=True):
        count["n"] += 1
        if count["n"] > good_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, text, durable)

    monkeypatch.setattr(ResultWriter, "_temp_file", temp_file)


def test_full_disk_during_a_run_keeps_a_valid_file_that_says_so(tmp_path, monkeypatch):
    from softbench.bench import measure

    out = tmp_path / "full.json"
    sizes_done = []
    real_point = measure.measure_point

    def point(n, *a, **k):
        res = real_point(n, *a, **k)
        sizes_done.append(n)
        if len(sizes_done) == 2:  # the disk fills up after the second size is measured
            _disk_full_after(monkeypatch, 0)
        return res

    monkeypatch.setattr(measure, "measure_point", point)
    code, _, err = invoke("run", "--sizes", "1Ki,2Ki,4Ki", "-a", "online", "-i", "scalar", "--min-time", "0.0005", "-o", out)
    assert code == 4, err
    assert "No space left on device" in err and "keeps the 1 points" in err and "--resume" in err
    doc = results.load(out)
    assert not doc.complete and [r.n for r in doc.results] == [1024]
    assert any("No space left on device" in w for w in doc.warnings)


def test_report_onto_a_full_disk_is_one_line_and_leaves_no_empty_folder(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def full(fig, path, **k):
        Path(path).write_bytes(b"\x89PNG partial")  # what a write cut short leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    out = tmp_path / "rep"
    code, _, err = invoke("report", A1, "-o", out)
    assert code == 2 and "No space left on device" in err and "cannot write the report" in err
    assert not (out / "plots").exists() and not out.exists()


def test_suite_whose_thread_counts_all_exceed_the_cpus_is_one_line(tmp_path):
    suite = tmp_path / "big.toml"
    suite.write_text('sizes = [1024]\nthreads = [1000]\nalgorithms = ["online"]\nisas = ["scalar"]\n')
    code, _, err = invoke("run", "--suite", suite, "--min-time", "0.0005", "-o", tmp_path / "r.json")
    assert code == 2 and "1000 threads need 1000 CPUs" in err and "big.toml" in err


def test_compiler_that_writes_nothing_is_one_line(tmp_path):
    p = sb("verify", "--isa", "scalar", "--quick", env={"CC": "/bin/true", "SOFTBENCH_CACHE_DIR": str(tmp_path)})
    assert p.returncode == 2 and one_line_error(p.stderr) and "/bin/true" in p.stderr and "no module" in p.stderr


def test_cache_manifest_with_a_bad_command_is_one_line(tmp_path):
    env = {"SOFTBENCH_CACHE_DIR": str(tmp_path)}
    assert sb("verify", "--isa", "scalar", "--quick", env=env).returncode == 0
    for m in tmp_path.glob("softbench-*.json"):
        meta = json.loads(m.read_text())
        meta["command"] = "cc -O2"
        m.write_text(json.dumps(meta))
    p = sb("verify", "--isa", "scalar", "--quick", env=env)
    assert p.returncode == 2 and one_line_error(p.stderr) and "damaged" in p.stderr


def test_ascii_terminal_gets_text_not_a_traceback():
    # no coercion to C.UTF-8 (PEP 538): the terminal really is ASCII
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "",
           "COLUMNS": "60"}  # narrow: rich shortens cells with "…"
    if shutil.which("script"):  # util-linux: gives the command a terminal, where rich prints its ellipses
        p = subprocess.run(["script", "-qec", f"{sys.executable} -m softbench.cli list", "/dev/null"], capture_output=True,
                           env=dict(os.environ, **env), timeout=300)  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:]
        assert b"Traceback" not in p.stdout and b"UnicodeEncodeError" not in p.stdout
    for cmd in ("list", "info"):
        q = sb(cmd, env=env)
        assert q.returncode == 0 and "Traceback" not in q.stderr, q.stderr


# --- 5. absurd thread counts --------------------------------------------------------------------


@pytest.mark.parametrize("threads", [2**31, 2**63, 10**6])
def test_softmax_refuses_thread_counts_beyond_the_cpus(threads):
    import softbench
    from softbench.host import threads as th

    x = np.zeros(64, np.float32)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=f"{threads} threads") as e:
        softbench.softmax(x, threads=threads)
    assert time.perf_counter() - t0 < 1.0
    assert f"may use {len(th.allowed_cpus())}" in str(e.value)


# --- 6. stop signals, and --resume ---------------------------------------------------------------


def _wait_for_points(path: Path, k: int, proc, timeout=120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate())
        try:
            if len(json.loads(path.read_text())["results"]) >= k:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("no points appeared")


SLOW = ("--sizes", "1Ki,2Ki,4Ki,8Ki,16Ki,32Ki,64Ki,128Ki", "-a", "online", "-i", "scalar", "--repetitions", "5", "--min-time", "0.01")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_is_noted_and_resume_finishes_the_run(tmp_path, sig):
    out = tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, "-m", "softbench.cli", "run", *SLOW, "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_points(out, 2, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    name = signal.Signals(sig).name
    assert proc.returncode == 128 + sig, err
    assert one_line_error(err) and f"stopped by {name}" in err and f"--resume {out}" in err
    doc = results.load(out)
    kept = [r.n for r in doc.results]
    assert not doc.complete and 2 <= len(kept) < 8
    assert any(f"stopped by {name}" in w for w in doc.warnings)

    p = sb("run", "--resume", out)
    assert p.returncode == 0, p.stderr
    doc = results.load(out)
    assert doc.complete and sorted(r.n for r in doc.results) == [1024 * 2**k for k in range(8)]
    assert [r.n for r in doc.results][: len(kept)] == kept  # the first session's points, as they were
    assert any("resumed" in w for w in doc.warnings)


def test_resume_is_refused_for_a_finished_run_another_machine_or_other_options(tmp_path):
    out = tmp_path / "done.json"
    assert invoke("run", *TINY, "-o", out)[0] == 0
    code, _, err = invoke("run", "--resume", out)
    assert code == 2 and "complete" in err
    doc = json.loads(out.read_text())
    doc["complete"] = False
    other = copy.deepcopy(doc)
    other["context"]["hostname"] = other["context"]["os"]["hostname"] = "elsewhere"
    (tmp_path / "other.json").write_text(json.dumps(other))
    code, _, err = invoke("run", "--resume", tmp_path / "other.json")
    assert code == 2 and "elsewhere" in err and "machine" in err
    (tmp_path / "stopped.json").write_text(json.dumps(doc))
    code, _, err = invoke("run", "--resume", tmp_path / "stopped.json", "--sizes", "4Ki")
    assert code == 2 and "drop --sizes" in err
    code, _, err = invoke("run", "--resume", tmp_path / "stopped.json")  # nothing left to measure
    assert code == 0 and results.load(tmp_path / "stopped.json").complete


def test_two_resumes_of_one_file_are_refused_while_one_holds_it(tmp_path):
    out = tmp_path / "stopped.json"
    assert invoke("run", *TINY, "-o", out)[0] == 0
    doc = json.loads(out.read_text())
    doc["complete"] = False
    out.write_text(json.dumps(doc))
    first = ResultWriter.reopen(out)  # as `run --resume` holds it while it measures
    with pytest.raises(InputError, match="another softbench process is resuming it"):
        ResultWriter.reopen(out)
    code, _, err = invoke("run", "--resume", out)
    assert code == 2 and one_line_error(err) and "another softbench process is resuming it" in err
    assert len(results.load(out).results) == len(doc["results"]) and not results.load(out).complete  # the refused one changed nothing
    first.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)  # stopped again: the lock goes
    assert not (tmp_path / ".stopped.json.lock").exists()
    code, _, err = invoke("run", "--resume", out)
    assert code == 0, err
    assert results.load(out).complete


def test_ctrl_c_message_points_at_resume(tmp_path, monkeypatch):
    from softbench.bench import measure, runner

    real = measure.measure_point
    calls = []

    def stop_on_second(n, *a, **k):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(n, *a, **k)

    monkeypatch.setattr(measure, "measure_point", stop_on_second)
    plan = runner.make_plan("quick", algorithms="online", isas="scalar", sizes="1Ki,2Ki", min_time=0.0005)
    with pytest.raises(runner.Interrupted, match="--resume") as e:
        runner.run(plan, tmp_path / "c.json")
    assert e.value.exit_code == 130


# --- 7. the smaller cases -------------------------------------------------------------------------


def test_output_folder_gets_a_fresh_name_inside(tmp_path):
    code, _, err = invoke("run", *TINY, "-o", tmp_path)
    assert code == 0, err
    code, _, err = invoke("run", *TINY, "-o", f"{tmp_path / 'newdir'}/")
    assert code == 0, err
    assert len(list(tmp_path.glob("softbench-*.json"))) == 1
    assert (tmp_path / "newdir").is_dir() and len(list((tmp_path / "newdir").glob("softbench-*.json"))) == 1


def test_command_line_errors_are_not_blamed_on_the_suite_file():
    code, _, err = invoke("run", "--sizes", "1e14", "-a", "online", "-i", "scalar")
    assert code == 2 and "command line" in err and "quick.toml" not in err


def test_skipped_thread_counts_warn_with_the_cpus_the_process_may_use(tmp_path):
    from softbench.host import threads as th

    suite = tmp_path / "t.toml"
    suite.write_text('sizes = [1024]\nthreads = [1, 1000]\nalgorithms = ["online"]\nisas = ["scalar"]\nmin_time = 0.0005\n')
    code, _, err = invoke("run", "--suite", suite, "-o", tmp_path / "r.json")
    assert code == 0, err
    warnings = results.load(tmp_path / "r.json").warnings
    assert f"1000 threads skipped: this process may use {len(th.allowed_cpus())} CPUs, one per thread" in warnings


@pytest.mark.parametrize("args,words", [(("--repetitions", "100000"), "<= 1000"), (("--min-time", "1e6"), "<= 10")])
def test_repetitions_and_min_time_are_bounded(args, words):
    code, _, err = invoke("run", *args)
    assert code == 2 and words in err and "command line" in err


def test_a_killed_writers_temporary_file_is_removed(tmp_path):
    stale = tmp_path / ".r.json.999999999.abc.tmp"
    stale.write_text("{")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh_live = tmp_path / f".r.json.{os.getpid()}.def.tmp"  # a live writer's, mid-write: kept
    fresh_live.write_text("{")
    w = ResultWriter(tmp_path / "r.json", {})
    w.close()
    assert not stale.exists() and fresh_live.exists()


def test_info_and_list_need_no_compiler(tmp_path):
    env = {"CC": "no-such-cc", "SOFTBENCH_CACHE_DIR": str(tmp_path)}
    p = sb("list", env=env)
    assert p.returncode == 0, p.stderr
    assert "no C compiler" in p.stdout or "no C compiler" in p.stderr
    p = sb("info", "--json", env=env)
    assert p.returncode == 0, p.stderr
    assert "no-such-cc" in json.dumps(json.loads(p.stdout)["compiler"])


def test_comparing_a_file_with_itself_says_so():
    code, out, err = invoke("compare", A1, A1, "--json")
    assert code == 0
    assert any("same run" in n for n in json.loads(out)["notes"])
