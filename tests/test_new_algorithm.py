"""Adding an algorithm takes what CONTRIBUTING.md says it takes: a row in native/kernels.def and
one header in native/algorithms/. A throwaway algorithm declared in a copy of the sources is
built, verified and listed, with no Python edited."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME, IDENT = "throwaway", "throwaway_recompute"
TEMPLATE = "three_pass_recompute"  # the algorithm the throwaway one copies, under its own names


def _declare_throwaway(native: Path) -> None:
    """A row in kernels.def and algorithms/<ident>.h: Three-Pass-recompute's passes, renamed."""
    kdef = native / "kernels.def"
    row = next(line for line in kdef.read_text().splitlines() if line.startswith(f"SB_ALGORITHM(\"{TEMPLATE.replace('_', '-')}\""))
    new_row = row.replace(f'"{TEMPLATE.replace("_", "-")}"', f'"{NAME}"').replace(f" {TEMPLATE},", f" {IDENT},")
    kdef.write_text(kdef.read_text().rstrip("\n") + "\n" + new_row + "\n")

    def renamed(text: str) -> str:
        return text.replace(TEMPLATE, IDENT).replace(TEMPLATE.replace("_", "-"), NAME)

    header = renamed((native / "algorithms" / f"{TEMPLATE}.h").read_text())
    # The traffic twin, where twins are still written beside each other rather than from the passes.
    twins = native / "algorithms" / "twins.h"
    if twins.is_file():
        m = re.search(rf"static inline void SB_FN\({TEMPLATE}_twin_impl\).*?SB_DEFINE_VARIANTS\({TEMPLATE}_twin\)\n",
                      twins.read_text(), re.S)
        if m:
            header = renamed(m.group(0)) + header
    (native / "algorithms" / f"{IDENT}.h").write_text(header)
    # Where the templates are still included one by one, include this one the same way.
    inst = native / "instantiate.h"
    include = f'#include "algorithms/{TEMPLATE}.h"\n'
    if include in inst.read_text():
        inst.write_text(inst.read_text().replace(include, include + f'#include "algorithms/{IDENT}.h"\n'))


def _copy_tree(dst: Path) -> None:
    """softbench's Python package, its C sources and suites, laid out as in the repository, so
    that the copied catalog finds the copied native/ (softbench.catalog.native_dir)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("softbench", "native", "suites"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)


def _cli(tree: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree), "SOFTBENCH_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "softbench.cli", *args], capture_output=True, text=True,
                          cwd=tree, env=env, timeout=600)


def test_a_throwaway_algorithm_is_built_verified_and_listed(tmp_path):
    tree = tmp_path / "tree"
    _copy_tree(tree)
    _declare_throwaway(tree / "native")

    listed = _cli(tree, tmp_path / "cache", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [k for k in json.loads(listed.stdout)["kernels"] if k["algorithm"] == NAME]
    assert {r["isa"] for r in rows} >= {"scalar"}, listed.stdout
    assert next(r for r in rows if r["isa"] == "scalar")["runs"] is True

    verified = _cli(tree, tmp_path / "cache", "verify", "--isa", "scalar", "--algorithm", NAME, "--quick", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    out = json.loads(verified.stdout)
    [kernel] = out["kernels"]
    assert (kernel["algorithm"], kernel["isa"], kernel["passed"]) == (NAME, "scalar", True), out
    assert kernel["cases"] > 0 and kernel["max_rel_error"] < 1e-5
    # the module was compiled from the copy: its cache holds a freshly built scalar module
    assert list((tmp_path / "cache").glob("softbench-scalar-*.so"))
