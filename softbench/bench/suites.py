"""Benchmark suites: which algorithms, ISAs and sizes to measure, and how many samples to take.

A suite is a small TOML file. The built-in ones (quick, paper, full, models, rowlength, targets) live in
the suites folder (see `suites_dir`); any other file can be given by path. Every key is optional
except `sizes` or `shapes` (at least one); unknown keys are an error, so that a typo never silently
falls back to a default.

    name = "quick"                     # string; default: the file name without .toml
    description = "A first look"       # string; default ""
    algorithms = "all"                 # "all" or a list of algorithm names; default "all"
    isas = ["best", "scalar"]          # "all", "best" or a list of ISA names, "best" and "all";
                                       #   "best" = the best ISA the host has, "all" = every ISA
                                       #   it supports; named ISAs the host lacks are skipped
                                       #   (see resolve_isas); default ["best"]
    sizes = [1000, "4Ki", "1e6", "4xLLC"]    # explicit sizes, or a sweep table, either
    sizes = {from = "4Ki", to = "4xLLC", points_per_decade = 2}   # geometric grid, or
    sizes = {sequence = "1-3", from = 1000, to = "4xLLC"}         # 1e3, 3e3, 1e4, 3e4, ...
    shapes = ["4096x8192", "64x50257"]  # batches "ROWSxCOLUMNS": softmax over each row; measured
                                       #   after the sizes (each a single row); default none
    repetitions = 5                    # samples per point, integer from 5 to 1000; default 5
    min_time = 0.01                    # seconds per sample, number > 0 and <= 10; default 0.01
    warmup = 1                         # warm-up samples discarded, integer >= 0; default 1
    seed = 0                           # seeds input data and the run order, integer >= 0
    threads = [1, 2, "all"]            # thread counts, integers >= 1 or "all" (every CPU the
                                       #   process may use); counts above that are skipped
                                       #   (see resolve_threads); default [1]
    [[kernel]]                         # a user's own kernel, measured beside the algorithms
    kernel = "my.c:my_softmax@avx2"    #   FILE:SYMBOL[@ISA], relative to the suite file
    passes = "r, rw"                   #   its traffic (or read_bytes/write_bytes); see
                                       #   softbench.bench.user_kernels for cflags, name, stores

Sizes count float32 ELEMENTS, not bytes. A size is a whole positive number, written as an integer,
in scientific notation ("1e6", also a TOML float 1e6) or with a suffix: K, M, G are powers of 1000
("3M" = 3,000,000), Ki, Mi, Gi are powers of 1024 ("4Ki" = 4096). "<k>xLLC" (e.g. "4xLLC") is
the smallest N whose input alone (4*N bytes) is at least k times the last-level cache: with
k = 4 that is the STREAM rule for "out of cache". In a sweep, a numeric `to` is the largest size
allowed; a "<k>xLLC" `to` means "continue until a point reaches that bound", so the last point is
past it. A `sequence` such as "1-3" or "1-2-5" lists the mantissas of each decade; the sweep takes
the values of that sequence from `from` on. A shape's ROWS is a size, its COLUMNS a size or
"<k>xLLC" ("1x4xLLC" is one row past the STREAM bound); its memory is checked like a size's.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from softbench import catalog as _kernels
from softbench.bench import user_kernels
from softbench.bench.sizes import Shape
from softbench.bench.sizes import Size
from softbench.bench.sizes import Sweep
from softbench.bench.sizes import _SHAPE_HELP
from softbench.bench.sizes import _Where
from softbench.bench.sizes import _did_you_mean
from softbench.bench.sizes import _parse_shapes
from softbench.bench.sizes import _parse_sizes
from softbench.bench.sizes import _show
from softbench.bench.sizes import _size_json
from softbench.errors import InputError

__all__ = [
    "ALGORITHMS",
    "ISAS",
    "MIN_REPETITIONS",
    "Suite",
    "suites_dir",
    "list_suites",
    "load_suite",
    "suite_from_dict",
    "apply_overrides",
]


# Canonical names, from the one table of kernels (native/kernels.def via softbench.catalog).
ALGORITHMS: tuple[str, ...] = tuple(_kernels.algorithms())
ISAS: tuple[str, ...] = tuple(reversed(_kernels.ISAS))  # scalar first, as "all" lists them
ISA_SPECIAL = ("best", "all")
MIN_REPETITIONS = 5
# Upper bounds that catch a typo (repetitions = 50000, min_time = 100) before it means a run of days.
MAX_REPETITIONS = 1000
MAX_MIN_TIME = 10.0  # seconds per sample
MAX_THREADS = 4096  # per count, before the host is asked (plan.resolve_threads)


@dataclass(frozen=True)
class Suite:
    """A validated suite. `isas` may still hold "best"/"all" (see resolve_isas), `sizes` may
    still depend on the cache size (see resolve_sizes)."""

    name: str
    sizes: tuple[Size, ...] | Sweep  # () when the suite has only shapes
    description: str = ""
    algorithms: tuple[str, ...] = ALGORITHMS
    isas: tuple[str, ...] = ("best",)
    repetitions: int = MIN_REPETITIONS
    min_time: float = 0.01
    warmup: int = 1
    seed: int = 0
    threads: tuple[int | str, ...] = (1,)  # "all" resolves on the host (resolve_threads)
    shapes: tuple[Shape, ...] = ()
    source: str | None = None  # the file it was read from, for messages
    kernels: tuple = ()  # users' own kernels ([[kernel]] tables): user_kernels.KernelSpec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, in the suite file's own terms (for the result file's context)."""
        sizes = self.sizes.to_dict() if isinstance(self.sizes, Sweep) else [
            _size_json(s) for s in self.sizes
        ]
        return {
            "name": self.name,
            "description": self.description,
            "algorithms": list(self.algorithms),
            "isas": list(self.isas),
            "sizes": sizes,
            "repetitions": self.repetitions,
            "min_time": self.min_time,
            "warmup": self.warmup,
            "seed": self.seed,
            "threads": list(self.threads),
            "shapes": [str(s) for s in self.shapes],
            "source": self.source,
            **({"kernels": [k.to_dict() for k in self.kernels]} if self.kernels else {}),
        }


_KEYS = ("name", "description", "algorithms", "isas", "sizes", "shapes", "repetitions", "min_time",
         "warmup", "seed", "threads", "kernel")  # fmt: skip


def _parse_names(v: Any, where: _Where, key: str, known: Sequence[str], special: Sequence[str]) -> tuple[str, ...]:
    expected = f"\"all\" or a list of {', '.join(known)}" if special == ("all",) else (
        f"\"best\", \"all\" or a list of {', '.join((*known, *special))}"
    )
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",")] if where.noun == "option" else [v]
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) for x in v):
        raise where.bad(key, expected, v)
    out: list[str] = []
    for name in v:
        if name in special:
            if key == "algorithms":  # "all" algorithms expand now; ISAs wait for the host
                out.extend(known)
            else:
                out.append(name)
        elif name in known:
            out.append(name)
        else:
            what = "algorithm" if key == "algorithms" else "ISA"
            raise where.say(key, f"has unknown {what} {_show(name)}{_did_you_mean(name, (*known, *special))}; "
                            f"expected {expected}")  # fmt: skip
    return tuple(dict.fromkeys(out))  # drop repeats, keep order


def _int(v: Any, where: _Where, key: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum or (maximum is not None and v > maximum):
        raise where.bad(key, f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else ""), v)
    return v


def _positive_number(v: Any, where: _Where, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= MAX_MIN_TIME:
        raise where.bad(key, f"a number of seconds > 0 and <= {MAX_MIN_TIME:g}", v)
    return float(v)


_THREADS_HELP = 'a list of integers >= 1 (thread counts) or "all"'


def _threads(v: Any, where: _Where) -> tuple[int | str, ...]:
    if isinstance(v, str) and where.noun == "option":  # --threads 1,2,all
        v = [int(t) if t.strip().isdigit() else t.strip() for t in v.split(",") if t.strip()]
    if isinstance(v, (int, str)) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v:
        raise where.bad("threads", _THREADS_HELP, v)
    for t in v:
        if t != "all" and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
            raise where.bad("threads", _THREADS_HELP, v)
        if t != "all" and t > MAX_THREADS:
            raise where.say("threads", f"has {t} threads; at most {MAX_THREADS} per count")
    return tuple(dict.fromkeys(v))


def suite_from_dict(data: Mapping[str, Any], source: str = "<suite>", default_name: str = "custom",
                    folder: Path | None = None) -> Suite:
    """Validate a parsed suite (e.g. from TOML); errors name `source` and the key."""
    where = _Where(source)
    for k in data:
        if k not in _KEYS:
            raise where.say(k, f"is not a suite key{_did_you_mean(k, _KEYS)}; known keys: {', '.join(_KEYS)}")
    if "sizes" not in data and "shapes" not in data:
        raise where.say("sizes", 'is missing; give a list or a sweep such as '
                        '{from = "4Ki", to = "4xLLC", points_per_decade = 2}, or batch shapes')  # fmt: skip
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise where.bad("name", "a non-empty string", name)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise where.bad("description", "a string", description)
    if "sizes" not in data and not _parse_shapes(data["shapes"], where):
        raise where.say("shapes", f"is empty and the suite has no sizes; give at least {_SHAPE_HELP}")
    return Suite(
        name=name.strip(),
        description=description.strip(),
        algorithms=_parse_names(data.get("algorithms", "all"), where, "algorithms", ALGORITHMS, ("all",)),
        isas=_parse_names(data.get("isas", ["best"]), where, "isas", ISAS, ISA_SPECIAL),
        sizes=_parse_sizes(data["sizes"], where) if "sizes" in data else (),
        shapes=_parse_shapes(data.get("shapes", []), where),
        repetitions=_int(data.get("repetitions", MIN_REPETITIONS), where, "repetitions", MIN_REPETITIONS, MAX_REPETITIONS),
        min_time=_positive_number(data.get("min_time", 0.01), where, "min_time"),
        warmup=_int(data.get("warmup", 1), where, "warmup", 0, MAX_REPETITIONS),
        seed=_int(data.get("seed", 0), where, "seed", 0),
        threads=_threads(data.get("threads", [1]), where),
        source=source,
        # paths in [[kernel]] tables are relative to the suite file's folder
        kernels=user_kernels.suite_specs(data["kernel"], source, folder) if "kernel" in data else (),
    )


def suites_dir() -> Path:
    """The folder of built-in suites: softbench/_suites in an installed wheel (pyproject.toml maps
    the repository's suites/ there, away from this module's name), or the repository's top-level
    suites/ in a source checkout."""
    pkg = Path(__file__).resolve().parent.parent
    for d in (pkg / "_suites", pkg.parent / "suites"):
        if d.is_dir():
            return d
    raise InputError(f"built-in suites not found (looked in {pkg / '_suites'} and "
                     f"{pkg.parent / 'suites'}); reinstall softbench")  # fmt: skip


def list_suites() -> list[str]:
    """Names of the built-in suites."""
    try:
        return sorted(p.stem for p in suites_dir().glob("*.toml"))
    except InputError:
        return []


def _display(p: Path) -> str:
    """`p` relative to the current folder when it is below it (short messages), else absolute."""
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def load_suite(name_or_path: str | os.PathLike) -> Suite:
    """A built-in suite by name ("quick", "paper", "full") or a suite file by path."""
    text = os.fspath(name_or_path)
    builtins = list_suites()
    if text in builtins:
        path = suites_dir() / f"{text}.toml"
    else:
        path = Path(text)
        looks_like_path = os.sep in text or "/" in text or text.endswith(".toml")
        if not path.is_file():
            if looks_like_path or path.exists():
                raise InputError(f"{text}: no such suite file; built-in suites: "
                                 f"{', '.join(builtins) or 'none found'}")  # fmt: skip
            raise InputError(f"unknown suite '{text}'{_did_you_mean(text, builtins)}; built-in "
                             f"suites: {', '.join(builtins) or 'none found'}, or give a path to a "
                             ".toml file")  # fmt: skip
    source = _display(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{source}: cannot read the suite file ({e.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{source}: not a text (UTF-8) file; a suite is a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        msg = " ".join(str(e).split())
        raise InputError(f"{source}: not valid TOML ({msg}); fix the syntax") from None
    return suite_from_dict(data, source, default_name=path.stem, folder=path.resolve().parent)


def apply_overrides(
    suite: Suite,
    algorithms: str | Sequence[str] | None = None,
    isas: str | Sequence[str] | None = None,
    sizes: str | Sequence[str | int] | Mapping[str, Any] | Sweep | None = None,
    repetitions: int | None = None,
    min_time: float | None = None,
    seed: int | None = None,
    threads: int | str | Sequence[int | str] | None = None,
    warmup: int | None = None,
    shapes: str | Sequence[str] | None = None,
) -> Suite:
    """A copy of `suite` with command-line overrides applied and validated.

    Strings may be comma-separated lists ("two-pass,online", "4Ki,1M,4xLLC", "1,2,all",
    "4096x8192,64x50257"). Sizes and shapes replace the suite's points together: given one without
    the other, the suite's other kind is dropped (`--shape 4096x8192` runs that batch only).
    Errors name the option, e.g. "command line: option 'repetitions' must be an integer >= 5,
    got 3".
    """
    where = _Where("command line", "option")
    changes: dict[str, Any] = {}
    if algorithms is not None:
        changes["algorithms"] = _parse_names(algorithms, where, "algorithms", ALGORITHMS, ("all",))
    if isas is not None:
        changes["isas"] = _parse_names(isas, where, "isas", ISAS, ISA_SPECIAL)
    if sizes is not None:
        changes["sizes"] = _parse_sizes(sizes, where)
        changes["shapes"] = ()
    if shapes is not None:
        changes["shapes"] = _parse_shapes(shapes, where)
        if not changes["shapes"]:
            raise where.bad("shape", f"at least {_SHAPE_HELP}", shapes)
        if sizes is None:
            changes["sizes"] = ()
    if repetitions is not None:
        changes["repetitions"] = _int(repetitions, where, "repetitions", MIN_REPETITIONS, MAX_REPETITIONS)
    if min_time is not None:
        changes["min_time"] = _positive_number(min_time, where, "min_time")
    if seed is not None:
        changes["seed"] = _int(seed, where, "seed", 0)
    if threads is not None:
        changes["threads"] = _threads(threads, where)
    if warmup is not None:
        changes["warmup"] = _int(warmup, where, "warmup", 0, MAX_REPETITIONS)
    return dataclasses.replace(suite, **changes)
