"""The wheel must carry every Python package and every C source: a fresh `pip install .` is what
users run, and a missing file there only shows up on their machine."""

import fnmatch
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONF = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_is_listed():
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "softbench").rglob("__init__.py")
    }
    assert on_disk <= set(CONF["packages"]), on_disk - set(CONF["packages"])


def test_every_native_source_and_suite_is_package_data():
    for package, folder in (("softbench.native", "native"), ("softbench._suites", "suites")):
        assert CONF["package-dir"][package] == folder
        patterns = CONF["package-data"][package]
        for f in (ROOT / folder).rglob("*"):
            if f.is_file() and f.suffix in (".c", ".h", ".def", ".toml"):
                rel = f.relative_to(ROOT / folder).as_posix()
                assert any(fnmatch.fnmatch(rel, p) and rel.count("/") == p.count("/") for p in patterns), rel


def test_the_published_schema_is_package_data():
    """softbench/schema/*.json (the result file's JSON Schema) must be in the wheel."""
    patterns = CONF["package-data"]["softbench"]
    files = [f.relative_to(ROOT / "softbench").as_posix() for f in (ROOT / "softbench" / "schema").glob("*")]
    assert "schema/result-v1.json" in files
    for rel in files:
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


def test_traffic_table_matches_the_design_model():
    """measurement.md's table: total and with-RFO bytes per element for each algorithm."""
    from softbench.catalog import algorithms

    expected = {"three-pass-recompute": (16, 20), "three-pass-reload": (20, 24), "two-pass": (12, 16), "online": (12, 16)}
    got = {name: (a.bytes_total, a.bytes_with_rfo) for name, a in algorithms().items()}
    assert got == expected


def test_each_algorithms_passes_add_up_to_its_declared_traffic():
    """The per-pass bytes (SB_PASSES_<algorithm>, beside each template) and the algorithm's row
    in kernels.def are two declarations of one model: they must agree, on every ISA built here."""
    from softbench.bridge import build
    from softbench.host import isa
    from softbench.catalog import algorithms

    for name in isa.runnable():
        passes = build.load(name).passes
        for alg in algorithms().values():
            ps = passes[alg.name]
            assert len(ps) == alg.passes
            assert sum(p.read_x for p in ps) == alg.read_x
            assert sum(p.read_y for p in ps) == alg.read_y
            assert sum(p.write_y for p in ps) == alg.write_y


def test_the_python_isa_table_matches_the_compiled_vector_width():
    """kernels.ISAS declares each ISA's lanes for listing without compiling; the module says what
    was compiled (SB_W): the two must agree."""
    from softbench.bridge import build
    from softbench.host import isa
    from softbench.catalog import ISAS

    for name in isa.runnable():
        assert ISAS[name].lanes == int(getattr(build.load(name).lib, f"sb_lanes__{name}"))
