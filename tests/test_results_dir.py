"""results/ holds real result files and the report made from them: regenerating the report from
the files must reproduce it exactly."""

from pathlib import Path

import pytest

import subprocess
import sys

from softbench.results import files as results
from softbench.bench import suites

RESULTS = Path(__file__).resolve().parent.parent / "results"
FILES = sorted(RESULTS.glob("*.json"))
TITLE = "softbench results from real machines"


def test_result_files_are_real_and_complete():
    assert FILES, "results/ must hold real result files"
    for f in FILES:
        doc = results.load(f)
        assert doc.complete and doc.results and not doc.context.get("fixture")
        assert doc.context["suite"]["name"] in suites.list_suites()  # a built-in suite: paper, models, rowlength...


@pytest.mark.skipif(not (RESULTS / "README.md").exists(), reason="no report in results/")
def test_report_regenerates_exactly(tmp_path):
    # the command that wrote results/README.md, on copies of the files in a folder of their own
    # (the report links the files relative to its folder)
    import shutil

    copies = [shutil.copy(f, tmp_path / f.name) for f in FILES]
    cmd = [sys.executable, "-m", "softbench.cli", "report", *map(str, copies), "-o", str(tmp_path),
           "--markdown-name", "README.md", "--title", TITLE]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "README.md").read_text() == (RESULTS / "README.md").read_text()
    made = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert made == sorted(p.name for p in (RESULTS / "plots").iterdir())
    for name in made:
        if name.endswith(".svg"):  # text, and deterministic with a fixed hashsalt
            assert (tmp_path / "plots" / name).read_bytes() == (RESULTS / "plots" / name).read_bytes(), name
