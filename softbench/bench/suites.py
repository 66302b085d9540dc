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
    repetitions = 5                    # samples per point, integer >= 5; default 5
    min_time = 0.01                    # seconds per sample, number > 0; default 0.01
    warmup = 1                         # warm-up samples discarded, integer >= 0; default 1
    seed = 0                           # seeds input data and the run order, integer >= 0
    threads = [1, 2, "all"]            # thread counts, integers >= 1 or "all" (every CPU the
                                       #   process may use); counts above that are skipped
                                       #   (see resolve_threads); default [1]

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
import difflib
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence, Union

from softbench import catalog as _kernels
from softbench.errors import InputError
from softbench.results import naming

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Canonical names, from the one table of kernels (native/kernels.def via softbench.kernels).
ALGORITHMS: tuple[str, ...] = tuple(_kernels.algorithms())
ISAS: tuple[str, ...] = tuple(reversed(_kernels.ISAS))  # scalar first, as "all" lists them

ISA_SPECIAL = ("best", "all")
MIN_REPETITIONS = 5
ELEMENT_BYTES = 4  # float32
# Memory one point needs: input and output, plus the traffic twin's own two buffers.
ARRAYS_PER_POINT = 4
MEMORY_SLACK_BYTES = 64 * 2**20  # numpy, the built kernels, verification temporaries
MAX_SIZE = 2**48  # elements; far beyond any machine, and keeps "1e999999" from building a huge int
MAX_SWEEP_POINTS = 1000  # a guard against a sweep spec that would never end

__all__ = [
    "ALGORITHMS", "ISAS", "MIN_REPETITIONS",
    "LLCMultiple", "Sweep", "Shape", "Suite", "IsaSelection",
    "parse_size", "parse_shape", "suites_dir", "list_suites", "load_suite", "suite_from_dict",
    "apply_overrides", "resolve_sizes", "resolve_shapes", "resolve_isas", "resolve_threads",
    "best_isa", "bytes_needed",
]  # fmt: skip


@dataclass(frozen=True)
class LLCMultiple:
    """A size relative to the last-level cache: the smallest N with 4*N >= factor * LLC bytes."""

    factor: float

    def elements(self, llc_bytes: int) -> int:
        return max(1, math.ceil(self.factor * llc_bytes / ELEMENT_BYTES))

    def __str__(self) -> str:
        return f"{self.factor:g}xLLC"


Size = Union[int, LLCMultiple]


@dataclass(frozen=True)
class Shape:
    """A batch: `rows` rows of `cols` elements, softmax over each row."""

    rows: int
    cols: Size

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}"


@dataclass(frozen=True)
class Sweep:
    """A generated list of sizes: a geometric grid, or a 1-3 (1-2-5, ...) sequence."""

    start: int
    stop: Size
    points_per_decade: int | None = None
    sequence: tuple[int, ...] | None = None  # mantissas per decade, e.g. (1, 3)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"from": self.start, "to": _size_json(self.stop)}
        if self.sequence is not None:
            d["sequence"] = "-".join(str(m) for m in self.sequence)
        else:
            d["points_per_decade"] = self.points_per_decade
        return d


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
        }


class IsaSelection(NamedTuple):
    """ISAs to run, and the ISAs the suite named that this host lacks (to tell the user)."""

    isas: tuple[str, ...]
    skipped: tuple[str, ...]


_KEYS = ("name", "description", "algorithms", "isas", "sizes", "shapes", "repetitions", "min_time",
         "warmup", "seed", "threads")  # fmt: skip
_SWEEP_KEYS = ("from", "to", "points_per_decade", "sequence")


# ---- messages -------------------------------------------------------------------------------


def _show(v: Any) -> str:
    """A value as the user wrote it (TOML/JSON-like), shortened."""
    if isinstance(v, bool):
        return "true" if v else "false"
    try:
        text = json.dumps(v, default=str)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Where:
    """Builds one-line errors that name the file (or the command line) and the key."""

    def __init__(self, source: str, noun: str = "key") -> None:
        self.source = source
        self.noun = noun

    def bad(self, key: str, expected: str, got: Any) -> InputError:
        return InputError(f"{self.source}: {self.noun} '{key}' must be {expected}, got {_show(got)}")

    def say(self, key: str, text: str) -> InputError:
        return InputError(f"{self.source}: {self.noun} '{key}' {text}")

    def detail(self, key: str, text: str) -> InputError:
        return InputError(f"{self.source}: {self.noun} '{key}': {text}")


# ---- sizes ----------------------------------------------------------------------------------

_SUFFIX = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}  # fmt: skip
_SIZE_RE = re.compile(r"^([+-]?[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|[+-]?\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
                      r"\s*(Ki|Mi|Gi|K|k|M|G)?$")  # fmt: skip
_LLC_RE = re.compile(r"^([0-9]+(?:\.[0-9]*)?)\s*[xX]\s*LLC$", re.IGNORECASE)
_SIZE_HELP = "sizes count float32 elements, e.g. 4096, \"4Ki\", \"1e6\", \"3M\""


def parse_size(text: str | int | float) -> int:
    """A number of float32 elements from 4096, "4Ki" (4096), "3M" (3,000,000), "1e6", 1e6.

    K/M/G are powers of 1000, Ki/Mi/Gi powers of 1024. Fractions, zero and negative numbers are
    an InputError naming the text.
    """
    if isinstance(text, bool):
        raise InputError(f"size {_show(text)} is not a number of elements; {_SIZE_HELP}")
    if isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, float):
        if not math.isfinite(text):
            raise InputError(f"size {_show(text)} is not a number of elements; {_SIZE_HELP}")
        value = Decimal(repr(text))  # repr: the shortest exact spelling, 1e6 -> "1000000.0"
    elif isinstance(text, str):
        m = _SIZE_RE.match(text.strip())
        if not m:
            raise InputError(f"size {_show(text)} is not a number of elements; {_SIZE_HELP}")
        try:
            value = Decimal(m.group(1)) * _SUFFIX[m.group(2) or ""]
        except InvalidOperation:
            raise InputError(f"size {_show(text)} is not a number of elements; {_SIZE_HELP}") from None
    else:
        raise InputError(f"size {_show(text)} is not a number of elements; {_SIZE_HELP}")
    if value <= 0:
        raise InputError(f"size {_show(text)} must be positive; {_SIZE_HELP}")
    if value > MAX_SIZE:
        raise InputError(f"size {_show(text)} is too large (more than 2**48 elements)")
    if value != value.to_integral_value():
        raise InputError(f"size {_show(text)} is not a whole number of elements; {_SIZE_HELP}")
    return int(value)


def _parse_size_or_llc(v: Any, where: _Where, key: str) -> Size:
    if isinstance(v, str):
        m = _LLC_RE.match(v.strip())
        if m:
            factor = float(m.group(1))
            if factor <= 0:
                raise where.bad(key, "a positive multiple of the LLC such as \"4xLLC\"", v)
            return LLCMultiple(factor)
    try:
        return parse_size(v)
    except InputError as e:
        raise where.detail(key, str(e)) from None


def _size_json(s: Size) -> int | str:
    return str(s) if isinstance(s, LLCMultiple) else s


def _parse_sequence(v: Any, where: _Where) -> tuple[int, ...]:
    expected = 'a sequence of increasing digits 1-9 such as "1-3" or "1-2-5"'
    if not isinstance(v, str) or not re.fullmatch(r"[1-9](-[1-9])*", v.strip()):
        raise where.bad("sizes.sequence", expected, v)
    ms = tuple(int(x) for x in v.strip().split("-"))
    if list(ms) != sorted(set(ms)):
        raise where.bad("sizes.sequence", expected, v)
    return ms


_SHAPE_HELP = 'a shape "ROWSxCOLUMNS" in float32 elements such as "4096x8192", "64x50257" or "1x4xLLC"'


def parse_shape(text: str) -> Shape:
    """A batch shape from "4096x8192" (rows x columns), "4Kix8Ki", "1x4xLLC". ROWS is a size
    (parse_size); COLUMNS a size or an LLC multiple. Anything else is an InputError naming it."""
    return _parse_shape(text, _Where("shape", "value"), "shapes")


def _parse_shape(v: Any, where: _Where, key: str) -> Shape:
    if isinstance(v, Shape):
        return v
    text = v.strip() if isinstance(v, str) else ""
    cut = text.lower().find("x")
    if cut <= 0:
        raise where.bad(key, _SHAPE_HELP, v)
    try:
        rows = parse_size(text[:cut])
    except InputError as e:
        raise where.detail(key, f"{_show(v)}: rows: {e}") from None
    return Shape(rows, _parse_size_or_llc(text[cut + 1 :], where, key))


def _parse_shapes(v: Any, where: _Where) -> tuple[Shape, ...]:
    if isinstance(v, str) and where.noun == "option":  # --shape 4096x8192,64x50257
        v = [s for s in v.split(",") if s.strip()]
    if not isinstance(v, (list, tuple)):
        raise where.bad("shapes", f"a list, each {_SHAPE_HELP}", v)
    return tuple(dict.fromkeys(_parse_shape(s, where, "shapes") for s in v))


def _parse_sizes(v: Any, where: _Where) -> tuple[Size, ...] | Sweep:
    if isinstance(v, Sweep):
        return v
    if isinstance(v, str) and where.noun == "option":  # --sizes 4Ki,1M,4xLLC
        v = [s for s in v.split(",") if s.strip()]
    if isinstance(v, (list, tuple)):
        if not v:
            raise where.bad("sizes", "a non-empty list of sizes or a sweep table", v)
        return tuple(_parse_size_or_llc(s, where, "sizes") for s in v)
    if not isinstance(v, Mapping):
        raise where.bad("sizes", "a list of sizes or a sweep table such as "
                        '{from = "4Ki", to = "4xLLC", points_per_decade = 2}', v)  # fmt: skip
    for k in v:
        if k not in _SWEEP_KEYS:
            raise where.say(f"sizes.{k}", f"is not a sweep key{_did_you_mean(k, _SWEEP_KEYS)}; "
                            f"known: {', '.join(_SWEEP_KEYS)}")  # fmt: skip
    for k in ("from", "to"):
        if k not in v:
            raise where.say(f"sizes.{k}", "is missing; a sweep needs 'from' and 'to'")
    start = _parse_size_or_llc(v["from"], where, "sizes.from")
    if isinstance(start, LLCMultiple):
        raise where.bad("sizes.from", "a number of elements (an LLC multiple only fits 'to')", v["from"])
    stop = _parse_size_or_llc(v["to"], where, "sizes.to")
    if isinstance(stop, int) and stop < start:
        raise where.say("sizes.to", f"({stop}) must not be below 'from' ({start})")
    has_ppd, has_seq = "points_per_decade" in v, "sequence" in v
    if has_ppd == has_seq:
        raise where.say("sizes", "needs exactly one of 'points_per_decade' and 'sequence'")
    if has_ppd:
        ppd = v["points_per_decade"]
        if not isinstance(ppd, int) or isinstance(ppd, bool) or not 1 <= ppd <= 100:
            raise where.bad("sizes.points_per_decade", "an integer from 1 to 100", ppd)
        return Sweep(start, stop, points_per_decade=ppd)
    return Sweep(start, stop, sequence=_parse_sequence(v["sequence"], where))


def _sweep_points(sweep: Sweep, bound: int, past: bool) -> list[int]:
    """The grid from sweep.start; up to `bound` inclusive, or (past=True) up to the first point
    that reaches `bound`."""
    if sweep.sequence is not None:
        decade = 10 ** max(0, len(str(sweep.start)) - 2)
        candidates = (m * decade * 10**k for k in range(64) for m in sweep.sequence)
        grid = (c for c in candidates if c >= sweep.start)
    else:
        p = sweep.points_per_decade
        grid = (round(sweep.start * 10 ** (i / p)) for i in range(10**6))
    out: list[int] = []
    for n in grid:
        if not past and n > bound:
            break
        out.append(n)
        if past and n >= bound:
            break
        if len(out) > MAX_SWEEP_POINTS:
            raise InputError(f"size sweep from {sweep.start} has over {MAX_SWEEP_POINTS} points; "
                             "use fewer points per decade or a smaller 'to'")  # fmt: skip
    return out


def bytes_needed(n: int) -> int:
    """Memory one point of N elements needs: input, output, the twin's two buffers, slack."""
    return ARRAYS_PER_POINT * ELEMENT_BYTES * n + MEMORY_SLACK_BYTES


def _refuse_memory(src: str, what: str, n: int, available_bytes: int, hint: str) -> InputError:
    need = bytes_needed(n)
    return InputError(
        f"{src}: {what} needs {need:,} bytes ({need / 1e9:.2f} GB: {ARRAYS_PER_POINT} arrays "
        f"of {ELEMENT_BYTES * n:,} bytes for input, output and the traffic twin, plus slack) but only "
        f"{available_bytes:,} bytes ({available_bytes / 1e9:.2f} GB) are available; {hint}"
    )


def _llc_elements(s: Size, llc_bytes: int | None, src: str, key: str, example: str) -> int:
    if isinstance(s, int):
        return s
    if llc_bytes is None or llc_bytes <= 0:
        raise InputError(
            f"{src}: key '{key}' uses \"{s}\" but this machine's last-level cache size is "
            f"unknown; give explicit sizes instead (e.g. {example})"
        )
    return s.elements(llc_bytes)


def resolve_shapes(suite: Suite, llc_bytes: int | None, available_bytes: int | None) -> list[tuple[int, int]]:
    """The suite's batch shapes for this machine, as (rows, cols) in the suite's order. A shape
    that does not fit in `available_bytes` is an InputError with the numbers."""
    src = suite.source or f"suite '{suite.name}'"
    out = []
    for s in suite.shapes:
        shape = (s.rows, _llc_elements(s.cols, llc_bytes, src, "shapes", "--shape 4096x8192"))
        if available_bytes is not None and bytes_needed(shape[0] * shape[1]) > available_bytes:
            raise _refuse_memory(src, f"shape {shape[0]}x{shape[1]}", shape[0] * shape[1], available_bytes,
                                 "use smaller shapes (--shape) or free memory")  # fmt: skip
        if shape not in out:
            out.append(shape)
    return out


def resolve_sizes(
    suite: Suite,
    llc_bytes: int | None,
    available_bytes: int | None,
    *,
    cap: bool = False,
) -> list[int]:
    """The suite's sizes for this machine: sorted, unique numbers of elements.

    `llc_bytes` is the last-level cache size (None when unknown: then "xLLC" sizes are an error),
    `available_bytes` the memory we may use (None: no check). A size that does not fit is an
    InputError with the numbers; with `cap=True`, sweep points that do not fit are dropped
    instead (the default sweeps go "past 4x LLC, capped by the memory available").
    """
    src = suite.source or f"suite '{suite.name}'"

    def elements(s: Size) -> int:
        return _llc_elements(s, llc_bytes, src, "sizes", "--sizes 4Ki,1M,64M")

    sweep = isinstance(suite.sizes, Sweep)
    if isinstance(suite.sizes, Sweep):
        stop = suite.sizes.stop
        ns = _sweep_points(suite.sizes, elements(stop), past=isinstance(stop, LLCMultiple))
    else:
        ns = [elements(s) for s in suite.sizes]
    ns = sorted(set(ns))
    if available_bytes is None:
        return ns
    fits = [n for n in ns if bytes_needed(n) <= available_bytes]
    if len(fits) == len(ns) or (cap and sweep and fits):
        return fits
    n = next(n for n in ns if bytes_needed(n) > available_bytes)
    raise _refuse_memory(src, f"size N={n:,}", n, available_bytes, "use smaller sizes (--sizes) or free memory")


# ---- algorithms and ISAs --------------------------------------------------------------------


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


def best_isa(supported: Iterable[str]) -> str:
    """The best ISA in `supported` by the catalog's order; scalar always works."""
    return naming.best_isa(supported) or "scalar"


def resolve_isas(suite: Suite, supported: Iterable[str], *, strict: bool = False) -> IsaSelection:
    """The suite's ISAs on a host supporting `supported` (scalar is always supported).

    "best" and "all" expand; a named ISA the host lacks is skipped and listed in `skipped` (the
    paper suite names avx2 and avx512f, "those present"), or with strict=True is an InputError
    (for an ISA the user asked for by name). No ISA left at all is an InputError.
    """
    sup = set(supported) | {"scalar"}
    src = suite.source or f"suite '{suite.name}'"
    chosen: list[str] = []
    skipped: list[str] = []
    for isa in suite.isas:
        if isa == "best":
            chosen.append(best_isa(sup))
        elif isa == "all":
            chosen.extend(i for i in ISAS if i in sup)
        elif isa in sup:
            chosen.append(isa)
        else:
            if strict:
                raise InputError(f"{src}: ISA '{isa}' is not supported by this host (it supports "
                                 f"{', '.join(i for i in ISAS if i in sup)}); use --isa best")  # fmt: skip
            skipped.append(isa)
    if not chosen:
        raise InputError(f"{src}: none of the suite's ISAs ({', '.join(suite.isas)}) is supported "
                         f"by this host (it supports {', '.join(i for i in ISAS if i in sup)}); "
                         "use --isa best")  # fmt: skip
    return IsaSelection(tuple(dict.fromkeys(chosen)), tuple(dict.fromkeys(skipped)))


# ---- numbers --------------------------------------------------------------------------------


def _int(v: Any, where: _Where, key: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise where.bad(key, f"an integer >= {minimum}", v)
    return v


def _positive_number(v: Any, where: _Where, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise where.bad(key, "a number of seconds > 0", v)
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
    return tuple(dict.fromkeys(v))


def resolve_threads(suite: Suite, cpus: int, *, strict: bool = False) -> tuple[list[int], list[int]]:
    """(thread counts to run, ascending; counts skipped) on a host where the process may use `cpus`
    CPUs. "all" is `cpus`. Each thread needs a CPU of its own, so a count above `cpus` is skipped
    (a suite written for a bigger machine), or with strict=True (asked for on the command line)
    an InputError."""
    src = suite.source or f"suite '{suite.name}'"
    counts = sorted({cpus if t == "all" else t for t in suite.threads})
    over = [t for t in counts if t > cpus]
    if over and strict:
        raise InputError(f"{src}: {over[0]} threads need {over[0]} CPUs, but this process may use {cpus}; "
                         "use --threads with counts up to that, or 'all'")  # fmt: skip
    return [t for t in counts if t <= cpus], over


# ---- loading --------------------------------------------------------------------------------


def suite_from_dict(data: Mapping[str, Any], source: str = "<suite>", default_name: str = "custom") -> Suite:
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
        repetitions=_int(data.get("repetitions", MIN_REPETITIONS), where, "repetitions", MIN_REPETITIONS),
        min_time=_positive_number(data.get("min_time", 0.01), where, "min_time"),
        warmup=_int(data.get("warmup", 1), where, "warmup", 0),
        seed=_int(data.get("seed", 0), where, "seed", 0),
        threads=_threads(data.get("threads", [1]), where),
        source=source,
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
    return suite_from_dict(data, source, default_name=path.stem)


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
        changes["repetitions"] = _int(repetitions, where, "repetitions", MIN_REPETITIONS)
    if min_time is not None:
        changes["min_time"] = _positive_number(min_time, where, "min_time")
    if seed is not None:
        changes["seed"] = _int(seed, where, "seed", 0)
    if threads is not None:
        changes["threads"] = _threads(threads, where)
    if warmup is not None:
        changes["warmup"] = _int(warmup, where, "warmup", 0)
    return dataclasses.replace(suite, **changes)
