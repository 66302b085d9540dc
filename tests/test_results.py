import json
import math
import os

import numpy as np
import pytest

from softbench.results import files as results
from softbench.results import schema
from softbench.errors import InputError, ResultFileError
from softbench.results.schema import Record
from softbench.results.files import ResultWriter

CONTEXT = {"hostname": "box", "created": "2024-05-06T07:08:09Z", "tool_version": "0.1.0"}


def make_record(n=1000, **kw):
    fields = dict(
        algorithm="two-pass",
        isa="avx2",
        n=n,
        threads=1,
        regime="L1",
        bytes_per_element={"read_x": 8, "read_y": 0, "write_y": 4, "total": 12, "with_rfo": 16},
        samples_ns=[1000.0, 1100.0, 1050.0, 990.0, 1010.0],
        calls_per_sample=10,
        ns_per_element=0.101,
        min_ns_per_element=0.099,
        gbps_effective=79.2,
        gbps_actual=118.8,
        roofline_efficiency=0.8,
        max_rel_error=1.2e-7,
    )
    fields.update(kw)
    return Record(**fields)


def on_disk(path):
    return json.loads(path.read_text())


def test_round_trip(tmp_path):
    path = tmp_path / "r.json"
    rec = make_record(variant="nt-store", twin_ns_per_element=0.08)
    with ResultWriter(path, CONTEXT) as w:
        w.add(rec)
        w.add(make_record(n=2000, roofline_efficiency=None))
        w.warn("governor is powersave,\n not performance")
        w.fail("online/avx512f", "max relative error 0.5 > 1e-5", n=3000)
    rf = results.load(path)
    assert rf.complete is True
    assert rf.context == CONTEXT
    assert rf.results == [rec, make_record(n=2000, roofline_efficiency=None)]
    assert rf.warnings == ["governor is powersave, not performance"]
    assert rf.failures == [
        {"kernel": "online/avx512f", "message": "max relative error 0.5 > 1e-5", "n": 3000}
    ]
    assert rf.schema_version == schema.SCHEMA_VERSION and rf.path == path
    doc = on_disk(path)
    assert doc["tool"] == "softbench" and doc["schema_version"] == 1
    # Optional fields appear only when known.
    assert "twin_samples_ns" not in doc["results"][0] and doc["results"][0]["variant"] == "nt-store"
    assert "variant" not in doc["results"][1]


def test_file_is_valid_from_the_start_and_after_each_add(tmp_path):
    path = tmp_path / "sub" / "r.json"  # the folder is created
    w = ResultWriter(path, CONTEXT)
    doc = on_disk(path)
    assert doc["results"] == [] and doc["complete"] is False and doc["warnings"] == []
    for i in range(3):
        w.add(make_record(n=1000 * (i + 1)))
        rf = results.load(path)
        assert [r.n for r in rf.results] == [1000 * (j + 1) for j in range(i + 1)]
        assert rf.complete is False
    w.close()
    assert results.load(path).complete is True
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp files left


def test_interruption_leaves_loadable_incomplete_file(tmp_path):
    path = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        with ResultWriter(path, CONTEXT) as w:
            w.add(make_record())
            raise KeyboardInterrupt
    rf = results.load(path)
    assert rf.complete is False
    assert [r.n for r in rf.results] == [1000]
    assert any("interrupted" in x for x in rf.warnings)

    path2 = tmp_path / "r2.json"
    with pytest.raises(RuntimeError):
        with ResultWriter(path2, CONTEXT) as w:
            w.add(make_record())
            raise RuntimeError("kernel crashed")
    rf2 = results.load(path2)
    assert rf2.complete is False and len(rf2.results) == 1
    assert any("kernel crashed" in x for x in rf2.warnings)


def test_writer_accepts_numpy_and_dicts_and_rejects_invalid(tmp_path):
    path = tmp_path / "r.json"
    w = ResultWriter(path, {"cores": np.int64(4), "nan": float("nan")})
    rec = make_record(samples_ns=np.array([1.0, 2.0]), ns_per_element=np.float64(0.5),
                      roofline_efficiency=float("nan"))
    w.add(rec)
    w.add(make_record(n=7).to_dict())
    with pytest.raises(ValueError):
        w.add(make_record(ns_per_element=float("inf")))
    with pytest.raises(ValueError):
        w.add({"algorithm": "two-pass"})
    rf = results.load(path)
    assert rf.context == {"cores": 4, "nan": None}
    assert rf.results[0].samples_ns == [1.0, 2.0] and rf.results[0].roofline_efficiency is None
    assert len(rf.results) == 2


def test_writer_refuses_to_overwrite(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{}")
    with pytest.raises(InputError, match="r.json"):
        ResultWriter(path, CONTEXT)
    ResultWriter(path, CONTEXT, overwrite=True).close()
    assert results.load(path).complete


def test_unknown_fields_are_ignored(tmp_path):
    path = tmp_path / "r.json"
    rec = make_record().to_dict()
    rec["future_field"] = {"x": 1}
    rec["bytes_per_element"]["with_nt_store"] = 12
    doc = {"schema_version": 1, "tool": "softbench", "context": {}, "results": [rec],
           "warnings": [], "complete": True, "failures": [], "new_top_level": 3}
    path.write_text(json.dumps(doc))
    rf = results.load(path)
    assert rf.results == [make_record()]


def test_record_from_dict_names_file_index_and_field():
    d = make_record().to_dict()
    del d["samples_ns"]
    with pytest.raises(ResultFileError, match=r"x\.json: record 3 has no field 'samples_ns'"):
        schema.record_from_dict(d, "x.json", 3)
    d = make_record().to_dict()
    d["n"] = "1000"
    with pytest.raises(ResultFileError, match=r"x\.json: record 0 field 'n' must be an integer"):
        schema.record_from_dict(d, "x.json", 0)
    d = make_record().to_dict()
    d["bytes_per_element"] = {"total": 12}
    with pytest.raises(ResultFileError, match="bytes_per_element"):
        schema.record_from_dict(d, "x.json", 0)


def write(path, doc):
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def valid_doc(**kw):
    doc = {"schema_version": 1, "tool": "softbench", "context": {}, "results": [],
           "warnings": [], "complete": True, "failures": []}
    doc.update(kw)
    return doc


@pytest.mark.parametrize(
    "content, pattern",
    [
        ('{"schema_version": 1,\n "tool": "softbench", ', r"not valid JSON \(line 2, column"),
        ("", "not valid JSON"),
        ("[1, 2]", "not a softbench result file"),
        ({"machine_info": {}, "benchmarks": []}, "not a softbench result file"),  # pytest-benchmark's
        ({"context": {}, "benchmarks": [{"name": "BM_x/8", "real_time": 1.0}]}, r"benchmark 0 \(BM_x/8\) needs .*'time_unit'"),
        ({"tool": "softbench", "results": []}, "not a softbench result file"),
        (valid_doc(schema_version=2), r"written by a newer softbench \(schema 2.*upgrade softbench"),
        (valid_doc(schema_version="1"), "schema_version"),
        (valid_doc(results={}), "key 'results' must be a list"),
        (valid_doc(context=None), "key 'context'"),
        (valid_doc(results=[{"algorithm": "two-pass"}]), "record 0 has no field 'isa'"),
        (valid_doc(results=[7]), "record 0 is 7"),
    ],
)
def test_load_errors_name_the_file(tmp_path, content, pattern):
    path = write(tmp_path / "bad-file.json", content)
    with pytest.raises(ResultFileError, match=pattern) as e:
        results.load(path)
    msg = str(e.value)
    assert "bad-file.json" in msg and "\n" not in msg


def test_load_missing_file_and_folder(tmp_path):
    with pytest.raises(ResultFileError, match="nope.json: no such result file"):
        results.load(tmp_path / "nope.json")
    with pytest.raises(ResultFileError, match="folder"):
        results.load(tmp_path)
    bin_path = tmp_path / "bin.json"
    bin_path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultFileError, match="bin.json"):
        results.load(bin_path)


def test_default_result_path(tmp_path):
    p = results.default_result_path(tmp_path, {"hostname": "my host/1", "created": "2024-05-06T07:08:09Z"})
    assert p == tmp_path / "softbench-my-host-1-20240506-070809.json"
    p.write_text("{}")
    p2 = results.default_result_path(tmp_path, {"hostname": "my host/1", "created": "2024-05-06T07:08:09+00:00"})
    assert p2.name == "softbench-my-host-1-20240506-070809-2.json"
    p3 = results.default_result_path(tmp_path, {})
    assert p3.name.startswith("softbench-unknown-host-") and p3.suffix == ".json"


def test_no_nan_in_file(tmp_path):
    path = tmp_path / "r.json"
    with ResultWriter(path, {"x": [1.0, math.inf]}) as w:
        w.add(make_record())
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))
