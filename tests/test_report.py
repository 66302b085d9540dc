"""softbench report: the files it writes, that the plots are real images, that the tables hold the
right numbers, that the output is byte-for-byte reproducible, and one-line errors.

Rendering is the slow part (~0.8 s a figure), so one real report is shared by most tests and
the determinism test uses the smallest fixture."""

import hashlib
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import invoke

from softbench.analysis import compare as cmp
from softbench.reporters import report
from softbench.results import files as results
from softbench.errors import InputError

FIX = Path(__file__).parent / "fixtures"
A1, A2, B = FIX / "machine-a-run1.json", FIX / "machine-a-run2.json", FIX / "machine-b.json"
FEW = FIX / "machine-a-few-samples.json"


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = [results.load(A1), results.load(B)]
    return out, report.write_report(files, out), files


def test_files_written(rep):
    out, r, _ = rep
    assert r.markdown == out / "report.md" and r.html == out / "index.html"
    names = sorted(p.name for p in (out / "plots").iterdir())
    expect = sorted(
        f"{stem}-{kind}.{ext}"
        for stem, kinds in (("machine-a-run1", ("throughput", "speedup", "efficiency", "accuracy")),
                            ("machine-b", ("throughput", "speedup", "efficiency", "accuracy")),
                            ("across", ("throughput", "speedup", "efficiency", "accuracy")))
        for kind in kinds for ext in ("png", "svg")
    )  # fmt: skip
    assert names == expect
    assert sorted(p.name for p in r.plots) == expect


def test_pngs_load_and_are_not_blank(rep):
    from PIL import Image

    _, r, _ = rep
    for p in r.plots:
        if p.suffix != ".png":
            continue
        with Image.open(p) as im:
            im.load()
            assert im.format == "PNG" and im.width >= 600 and im.height >= 400
            assert "Software" not in im.info  # no version stamp: reproducible
            a = np.asarray(im.convert("L"), dtype=np.float64)
        # a plot, not an empty canvas: a good share of non-white pixels, several grey levels
        assert (a < 250).mean() > 0.02 and len(np.unique(a)) > 20


def test_svgs_are_valid_and_stamp_free(rep):
    _, r, _ = rep
    for p in r.plots:
        if p.suffix != ".svg":
            continue
        text = p.read_text(encoding="utf-8")
        root = ET.fromstring(text)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 50
        assert "<dc:date>" not in text and "Matplotlib v" not in text


def test_markdown_embeds_every_plot_relatively(rep):
    out, r, _ = rep
    text = r.markdown.read_text()
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text)
    assert sorted(images) == sorted(f"plots/{p.name}" for p in r.plots if p.suffix == ".png")
    for link in re.findall(r"\[SVG\]\(([^)]+)\)", text):
        assert (out / link).is_file()
    assert "> **Synthetic test data" in text
    assert "DRAM only when the input alone is at least 4x the last-level cache" in text
    assert "1.18x (AVX2) and 1.28x (AVX-512)" in text


def test_markdown_tables_hold_the_right_numbers(rep):
    _, r, files = rep
    text = r.markdown.read_text()
    # machine context side by side
    assert "| L3 cache | 8 MiB, shared by 8 | 32 MiB, shared by 16 |" in text
    assert "| compiler | gcc 12.2.0 | gcc 12.2.0 |" in text
    # per regime: the median of the regime's points, in ns/element and GB/s
    b = files[1]
    recs = [x for x in b.results if (x.algorithm, x.isa, x.regime) == ("two-pass", "avx512f", "DRAM")]
    ns = float(np.median([x.ns_per_element for x in recs]))
    eff = float(np.median([x.roofline_efficiency for x in recs]))
    row = f"| two-pass | avx512f | DRAM | 32Mi-128Mi | {len(recs)} | {ns:.3g} | {8 / ns:.1f} | {12 / ns:.1f} | {eff * 100:.0f}% |"
    assert row in text
    # the across-machines table and the speedup table, by regime
    assert f"| DRAM | machine-b | avx512f | 32Mi-128Mi | {ns:.3g} | {8 / ns:.1f} |" in text
    cross = cmp.compare(files)
    sp = next(s for s in cross.speedups if (s.algorithm, s.baseline, s.regime) == ("two-pass", "three-pass-recompute", "DRAM"))
    assert f"| two-pass over three-pass-recompute | DRAM | {sp.cells['machine-a-run1'].speedup:.2f}x (avx2) | {sp.cells['machine-b'].speedup:.2f}x (avx512f) |" in text
    # the paper's figure beside the DRAM speedup, and the crossover
    assert re.search(r"\| avx2 \| two-pass \| three-pass-recompute \| DRAM \| 2 \| [\d.]+x \| [\d.]+x \| [\d.]+x \| 1\.18x \|", text)
    assert "| avx2 | two-pass | three-pass-recompute | 16Ki (slower at 4Ki) |" in text
    # STREAM-style figures of the run
    assert "| copy | avx2 | DRAM | 16Mi-64Mi |" in text
    # every point, folded
    assert "<details><summary>every point of machine-b (72)</summary>" in text


def test_html_is_well_formed_and_uses_svg(rep):
    _, r, _ = rep
    text = r.html.read_text()

    class Check(HTMLParser):
        void = {"meta", "img", "br", "link"}

        def __init__(self):
            super().__init__()
            self.stack, self.imgs = [], []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.imgs.append(dict(attrs)["src"])
            if tag not in self.void:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack and self.stack.pop() == tag, tag

    c = Check()
    c.feed(text)
    assert c.stack == []
    assert sorted(c.imgs) == sorted(f"plots/{p.name}" for p in r.plots if p.suffix == ".svg")
    assert "<caption>per regime (medians over the regime&#x27;s points)</caption>" in text


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_deterministic_bytes(tmp_path):
    files = [results.load(FEW)]
    report.write_report(files, tmp_path / "one" / "out")
    report.write_report([results.load(FEW)], tmp_path / "two" / "out")
    one, two = _digest(tmp_path / "one" / "out"), _digest(tmp_path / "two" / "out")
    assert len(one) == 2 + 8 and one == two
    text = (tmp_path / "one" / "out" / "report.md").read_text()
    # the only timestamps are the run's own (context.created), never the time of writing
    assert len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)) == text.count("2024-05-08T07:08:09+00:00") > 0


def _no_rendering(monkeypatch):
    """Placeholder images instead of matplotlib (for tests of the text only)."""

    def fake(*args):
        stem = next(a for a in args if isinstance(a, Path))
        paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
        for p in paths:
            p.write_bytes(b"placeholder")
        return paths

    for name in ("plot_throughput", "plot_speedup", "plot_efficiency", "plot_accuracy", "plot_across", "plot_across_speedup"):
        monkeypatch.setattr(report, name, fake)


def test_same_machine_runs_among_machines_get_their_own_section(tmp_path, monkeypatch):
    """Three files, two from one machine: the cross-machine tables plus a same-machine section
    with the significant changes. (Plots are not rendered here: that is tested above.)"""

    _no_rendering(monkeypatch)
    r = report.write_report([results.load(A1), results.load(A2), results.load(B)], tmp_path, markdown_name="README.md", html_name=None)
    assert r.markdown == tmp_path / "README.md" and r.html is None and not (tmp_path / "index.html").exists()
    text = r.markdown.read_text()
    assert "## Across files: machines side by side" in text
    assert "## Same machine: Skylake (Fixture CPU A (synthetic, Skylake-class)), AVX2" in text
    assert "significant changes (9 of 72 points)" in text
    assert "| two-pass | 18 | 1.049x | +4.9% | 9 | 0 | 0 |" in text
    assert r.comparison.kind == "cross-machine"


def test_report_notes_skipped_and_incomplete(tmp_path, monkeypatch):
    _no_rendering(monkeypatch)
    rf = results.load(FEW)
    rf.complete, rf.in_progress = False, "online/avx2 n=4096"
    r = report.write_report([rf], tmp_path, notes=["skipped (unreadable): bad.json: not valid JSON"])
    text = r.markdown.read_text()
    assert "- skipped (unreadable): bad.json: not valid JSON" in text
    assert "the run did not finish (it was measuring online/avx2 n=4096)" in text
    assert "| no (stopped) |" in text


_cli = invoke  # the real app, compare and report included


def test_cli_report_errors_are_one_line(tmp_path):
    code, out, err = _cli("report", FIX / "damaged-newer-schema.json", "--output", tmp_path / "r")
    assert code == 2 and err.count("\n") == 1 and "newer softbench" in err and not (tmp_path / "r").exists()
    code, _, err = _cli("report", FIX / "damaged-not-softbench.json", FIX / "damaged-missing-field.json", "-o", tmp_path / "r")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2 and "damaged-not-softbench.json" in lines[0] and "damaged-missing-field.json" in lines[1]
    (tmp_path / "file").write_text("")
    code, _, err = _cli("report", FEW, "-o", tmp_path / "file")
    assert code == 2 and "not a folder" in err
    code, _, err = _cli("report", FEW, "-o", tmp_path / "r", "--markdown-name", "a/b.md")
    assert code == 2 and "--markdown-name" in err
    with pytest.raises(InputError):
        report.write_report([], tmp_path)
