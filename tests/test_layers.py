"""The layers of softbench/ (README "Layout"): imports go one way, down the list, never up.

Parsed from the sources (ast), so an import hidden inside a function counts as much as one at the
top, and a module that nobody has placed in a layer fails too."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "softbench"

# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS = [
    ("base", ["softbench.errors", "softbench.version"]),
    ("catalog", ["softbench.catalog"]),
    ("host probes and native bridge", ["softbench.host", "softbench.bridge"]),
    ("results", ["softbench.results"]),
    ("measurement", ["softbench.bench"]),
    ("analysis", ["softbench.analysis"]),
    ("reporters", ["softbench.reporters"]),
    ("public face", ["softbench", "softbench.__main__", "softbench.api", "softbench.cli"]),
]
RANK = {prefix: (i, name) for i, (name, prefixes) in enumerate(LAYERS) for prefix in prefixes}

HEAVY = ("matplotlib", "scipy", "pandas", "torch", "onnxruntime", "onnx")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> tuple[int, str]:
    """The layer of a module: its longest listed prefix ("softbench" alone is the package's face)."""
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        prefix = ".".join(parts[:k])
        if prefix in RANK and (k > 1 or module == "softbench"):
            return RANK[prefix]
    raise AssertionError(f"{module} is in no layer of tests/test_layers.py: place it in one")


def own_imports(tree: ast.Module):
    """(node, imported softbench module) for every import of softbench's own modules."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "softbench":
                    yield node, a.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "softbench":
                continue
            for a in node.names:  # `from softbench.host import isa` imports softbench.host.isa
                sub = f"{node.module}.{a.name}"
                yield node, sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).is_file() or \
                    (PACKAGE.parent / sub.replace(".", "/")).is_dir() else node.module


def modules():
    return [(module_name(p), ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_is_in_a_layer():
    for name, _ in modules():
        layer(name)


def upward_imports(name: str, tree: ast.Module) -> list[str]:
    mine = layer(name)
    out = []
    for node, target in own_imports(tree):
        theirs = layer(target)
        if theirs[0] > mine[0]:
            out.append(f"{name} ({mine[1]}) imports {target} ({theirs[1]}) at line {node.lineno}")
    return out


def test_imports_never_run_back_up_a_layer():
    upward = [line for name, tree in modules() for line in upward_imports(name, tree)]
    assert not upward, "\n".join(upward)


def test_own_modules_are_imported_at_the_top():
    """Only heavy third-party libraries may be imported inside a function; softbench's own modules
    at the top, so that the import graph above is the real one."""
    inside = []
    for name, tree in modules():
        for node, target in own_imports(tree):
            if node not in tree.body:
                inside.append(f"{name}:{node.lineno} imports {target} inside a function")
    assert not inside, "\n".join(inside)


def test_the_command_line_does_not_import_heavy_libraries():
    """`softbench --help` stays fast: matplotlib, scipy and the baselines load in the command that needs them."""
    code = "import sys, softbench.cli; print(' '.join(sorted(m for m in %r if m in sys.modules)))" % (HEAVY,)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "", f"imported at startup: {p.stdout.strip()}"


def test_the_layer_check_catches_an_upward_import():
    """The check itself can fail: measurement importing analysis is refused, the reverse allowed."""
    assert upward_imports("softbench.bench.measure", ast.parse("from softbench.analysis import compare\n"))
    assert upward_imports("softbench.host.isa", ast.parse("def f():\n    import softbench.bench.verify\n"))
    assert not upward_imports("softbench.analysis.compare", ast.parse("from softbench.bench import stats\n"))
