"""The one size grammar (run --sizes, suites, profile -n): element counts such as 4096, "4Ki",
"1e6", "3M", "2^26", multiples of the last-level cache ("4xLLC"), shapes "ROWSxCOLUMNS",
sweeps; and the memory a size needs."""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Union

from softbench.errors import InputError


ELEMENT_BYTES = 4  # float32
# Memory one point needs: input and output, plus the traffic twin's own two buffers.
ARRAYS_PER_POINT = 4
MEMORY_SLACK_BYTES = 64 * 2**20  # numpy, the built kernels, verification temporaries
MAX_SIZE = 2**48  # elements; far beyond any machine, and keeps "1e999999" from building a huge int
MAX_SWEEP_POINTS = 1000  # a guard against a sweep spec that would never end


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


_SWEEP_KEYS = ("from", "to", "points_per_decade", "sequence")


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


_SUFFIX = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}  # fmt: skip
_SIZE_RE = re.compile(r"^([+-]?[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|[+-]?\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
                      r"\s*(Ki|Mi|Gi|K|k|M|G)?$")  # fmt: skip
_LLC_RE = re.compile(r"^([0-9]+(?:\.[0-9]*)?)\s*[xX]\s*LLC$", re.IGNORECASE)
_SIZE_HELP = "sizes count float32 elements, e.g. 4096, \"4Ki\", \"1e6\", \"3M\", \"2^26\""
_POWER_RE = re.compile(r"^2\s*\^\s*([0-9]+)$")  # "2^26": how the paper and the tests name sizes


def parse_size(text: str | int | float) -> int:
    """A number of float32 elements from 4096, "4Ki" (4096), "3M" (3,000,000), "1e6", 1e6, "2^26".

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
    elif isinstance(text, str) and _POWER_RE.match(text.strip()):
        exponent = int(_POWER_RE.match(text.strip()).group(1))
        value = Decimal(2 ** min(exponent, 64))  # past 2^48 it is refused as too large below
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


def resolve_size(text: str, llc_bytes: int | None) -> int:
    """A size given on the command line, resolved on this host: anything parse_size takes, or a
    multiple of the last-level cache ("4xLLC") when its size (llc_bytes) is known."""
    t = str(text).strip()
    m = _LLC_RE.match(t)
    if m:
        if not llc_bytes:
            raise InputError(f"size {t!r} is relative to the last-level cache, whose size this OS does not report; give a number of elements")
        return LLCMultiple(float(m.group(1))).elements(llc_bytes)
    return parse_size(t)


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
