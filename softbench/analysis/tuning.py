"""Which algorithm to pick on this CPU: crossovers from a run, the tuning file `softbench tune`
writes, and the choice behind ``softbench.softmax(x, algorithm="auto")``.

Crossovers (`pair_crossovers`): for each ISA of a run and each pair of algorithms, the N from
which one is faster than the other at every larger N measured (crossovers.Crossover, oriented so
that `algorithm` is the one faster at the largest N; status "always" when it is faster at every
N, "crosses" otherwise; "never" only for an exact tie at the largest N).

The tuning file (JSON, `tuning_path()`): per ISA, the fastest kernel, an (algorithm, tile) pair,
at each measured N and the size bands derived from them (a band boundary lies at the geometric
mean of the two measured sizes around it), the crossovers (of the default tiles), and the machine
it was measured on (CPU model, hostname) with the softbench version. Each band names its tile
(native/tiles.def), one that was measured: `tune --tiles` chooses among the tiles it measured, and
without it only the default tile is measured and named. Format 1 files (before tiles) read as
default tiles. ``algorithm="auto"`` uses it only when all three match this machine and
softbench, and the ISA is in it; otherwise it uses the default rule (`DEFAULT_RULE`).
"""

from __future__ import annotations

import bisect
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from softbench.analysis import machines
from softbench.analysis.crossovers import _get, crossover_dicts, pair_crossovers
from softbench.catalog import algorithms, default_tile, TILES
from softbench.errors import InputError
from softbench.host import machine
from softbench.host.caches import last_level_cache_bytes
from softbench.version import __version__

TUNING_KIND = "softbench-tuning"
TUNING_FORMAT = 2  # 2: bands and sizes name their tile; 1 (read as the default tiles) did not
READ_FORMATS = (1, 2)
ENV_TUNING_FILE = "SOFTBENCH_TUNING_FILE"

IN_CACHE_ALGORITHM = "three-pass-reload"
OUT_OF_CACHE_ALGORITHM = "two-pass"
DEFAULT_LLC_BYTES = 8 * 2**20  # when the OS does not report the last-level cache
DEFAULT_RULE = (
    f"{IN_CACHE_ALGORITHM} while input and output fit in the last-level cache (8·N bytes <= LLC; "
    f"8 MiB assumed when the OS does not say), {OUT_OF_CACHE_ALGORITHM} beyond"
)


# --- the tuning file ---------------------------------------------------------------------------


_default_path: Path | None = None


def tuning_path() -> Path:
    """$SOFTBENCH_TUNING_FILE, else tuning.json in the per-user data folder (platformdirs)."""
    global _default_path
    env = os.environ.get(ENV_TUNING_FILE)
    if env:
        return Path(env).expanduser()
    if _default_path is None:
        import platformdirs

        _default_path = Path(platformdirs.user_data_dir("softbench", appauthor=False)) / "tuning.json"
    return _default_path


def bands(sizes: Sequence[int], fastest: Sequence[str], tiles: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Consecutive sizes with the same fastest algorithm (and tile, when `tiles` gives each size's)
    as one band [from_n, to_n); boundaries at the geometric mean of the two measured sizes around
    them; the first band starts at 1, the last has no end (to_n None)."""
    out: list[dict[str, Any]] = []
    for i, (n, alg) in enumerate(zip(sizes, fastest)):
        tile = tiles[i] if tiles is not None else None
        if out and out[-1]["algorithm"] == alg and out[-1].get("tile") == tile:
            out[-1]["measured"].append(n)
            continue
        start = 1 if i == 0 else max(sizes[i - 1] + 1, math.ceil(math.sqrt(sizes[i - 1] * n)))
        if out:
            out[-1]["to_n"] = start
        out.append({"from_n": start, "to_n": None, "algorithm": alg, **({"tile": tile} if tiles is not None else {}),
                    "measured": [n]})  # fmt: skip
    return out


def _kernel_medians(records: Iterable[Any]) -> dict[str, dict[int, dict[tuple[str, str], float]]]:
    """isa -> n -> (algorithm, tile name) -> ns/element, over the single-row, single-threaded,
    default-store-variant records: every (algorithm, tile) pair measured, the default tile named."""
    out: dict[str, dict[int, dict[tuple[str, str], float]]] = {}
    for r in records:
        if _get(r, "threads", 1) != 1 or _get(r, "variant") or (_get(r, "shape") or [1])[0] != 1:
            continue
        isa_name, ns = _get(r, "isa"), _get(r, "ns_per_element")
        if isa_name not in TILES or not isinstance(ns, (int, float)) or not math.isfinite(ns) or ns <= 0:
            continue  # a library baseline (not something "auto" runs), or a figure that is no time
        tile = _get(r, "tile") or default_tile(isa_name).name
        out.setdefault(isa_name, {}).setdefault(int(_get(r, "n")), {})[(_get(r, "algorithm"), tile)] = float(ns)
    return out


def _pair_label(isa_name: str, alg: str, tile: str) -> str:
    """"two-pass" for the default tile, "two-pass[x32-acc2]" for another (the runs' series names)."""
    return alg if tile == default_tile(isa_name).name else f"{alg}[{tile}]"


def derive(records: Iterable[Any], context: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """The tuning document from a run's records and context."""
    # a user's kernel (`run --kernel`) is not a choice of algorithm="auto", which runs softbench's own
    records = [r for r in records if _get(r, "user_kernel") is None]
    table = _kernel_medians(records)
    if not table:
        raise InputError("no measured points to derive a tuning from (the run holds no single-threaded results)")
    cross = pair_crossovers(records)  # of the default tiles
    isas: dict[str, Any] = {}
    for isa_name, by_n in table.items():
        sizes = sorted(by_n)
        # only measured pairs compete, so every tile the file names was measured at its sizes
        best = [min(by_n[n], key=by_n[n].get) for n in sizes]
        fastest, tiles = [a for a, _ in best], [t for _, t in best]
        isas[isa_name] = {
            "sizes": sizes,
            "fastest": fastest,
            "tiles": tiles,
            "ns_per_element": {str(n): {_pair_label(isa_name, a, t): v for (a, t), v in by_n[n].items()} for n in sizes},
            "bands": bands(sizes, fastest, tiles),
            "crossovers": crossover_dicts(c for c in cross if c.isa == isa_name),
        }
    py = context.get("python")
    run_version = py.get("softbench") if isinstance(py, Mapping) else None
    return {
        "tool": "softbench",
        "kind": TUNING_KIND,
        "format": TUNING_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # the version whose kernels were measured: a tuning is only as current as its run
        "softbench_version": run_version if isinstance(run_version, str) else __version__,
        "machine": {"cpu_model": machines.cpu_model(dict(context)), "hostname": machines.hostname(dict(context))},
        "source": {
            "result_file": source,
            "run_created": context.get("created"),
            "suite": (context.get("suite") or {}).get("name") if isinstance(context.get("suite"), Mapping) else None,
        },
        "isas": isas,
    }


def write(doc: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write the tuning file atomically; returns its path."""
    p = Path(path) if path is not None else tuning_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=1, allow_nan=False) + "\n")
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(f"{p}: cannot write the tuning file ({exc.strerror or exc}); set {ENV_TUNING_FILE} to a writable path") from None
    clear_cache()
    return p


def no_tuning_file(path: Path) -> str:
    """What `softbench tune --show` says before any tuning exists."""
    return (f"no tuning file at {path} (run `softbench tune` to write one); until one exists, "
            f"softmax(algorithm='auto') uses the default rule: {DEFAULT_RULE}")  # fmt: skip


def read(path: Path) -> dict[str, Any]:
    """The tuning document at `path`; InputError (one line) when it is not one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no tuning file; run `softbench tune`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the tuning file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: the tuning file is not valid JSON (line {exc.lineno}); run `softbench tune` again") from None
    if not isinstance(doc, dict) or doc.get("kind") != TUNING_KIND:
        raise InputError(f"{path}: not a softbench tuning file; run `softbench tune` to write one")
    if doc.get("format") not in READ_FORMATS:
        raise InputError(f"{path}: tuning file format {doc.get('format')!r}, this softbench reads "
                         f"{', '.join(map(str, READ_FORMATS))}; run `softbench tune` again")  # fmt: skip
    isas = doc.get("isas")
    if not isinstance(isas, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("bands"), list) and v["bands"]
        and all(isinstance(b, dict) and isinstance(b.get("from_n"), int) and isinstance(b.get("algorithm"), str) for b in v["bands"])
        for v in isas.values()
    ):  # fmt: skip
        raise InputError(f"{path}: the tuning file has no valid 'isas' bands; run `softbench tune` again")
    return doc


# --- this machine and the choice ---------------------------------------------------------------

_machine: dict[str, str] | None = None
_llc: int | None = None
_selectors: dict[str, Selector] = {}


def this_machine() -> dict[str, str]:
    """CPU model and hostname of this machine, as `run` records them (computed once)."""
    global _machine
    if _machine is None:
        _machine = {"cpu_model": str(machine.collect_cpu().get("model_name", "unknown")),
                    "hostname": str(machine.collect_os().get("hostname", "unknown"))}  # fmt: skip
    return _machine


def _llc_bytes() -> int:
    global _llc
    if _llc is None:
        _llc = last_level_cache_bytes(machine.collect_caches()) or DEFAULT_LLC_BYTES
    return _llc


def default_choice(n: int) -> str:
    """The documented default rule (no usable tuning file)."""
    return IN_CACHE_ALGORITHM if 8 * n <= _llc_bytes() else OUT_OF_CACHE_ALGORITHM


def _known(v: Any) -> bool:
    return isinstance(v, str) and v not in ("", "unknown")


def usable(doc: Mapping[str, Any], here: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """(whether `doc` may drive "auto" on this machine, why not)."""
    here = here or this_machine()
    m = doc.get("machine") or {}
    if not (_known(m.get("cpu_model")) and _known(m.get("hostname"))):
        return False, "the tuning file does not name its machine"
    if (m.get("cpu_model"), m.get("hostname")) != (here["cpu_model"], here["hostname"]):
        return False, (f"the tuning file is from another machine ({m.get('hostname')}, {m.get('cpu_model')}; "
                       f"this is {here['hostname']}, {here['cpu_model']})")  # fmt: skip
    if doc.get("softbench_version") != __version__:
        return False, f"the tuning file was made by softbench {doc.get('softbench_version')}, this is {__version__}"
    return True, ""


@dataclass
class Selector:
    """The choice table of one tuning file (or of none): cheap to consult per call."""

    path: str
    # isa -> (band starts, algorithms, tiles: None for the ISA's default tile)
    tables: dict[str, tuple[list[int], list[str], list[str | None]]]
    reason: str  # why the default rule is used ("" when the file is)

    def choose(self, n: int, isa_name: str) -> str:
        return self.choose_kernel(n, isa_name)[0]

    def choose_kernel(self, n: int, isa_name: str) -> tuple[str, str | None]:
        """(algorithm, tile) for n on the ISA: tile None is its default tile (the default rule's)."""
        t = self.tables.get(isa_name)
        if t is None:
            return default_choice(n), None
        starts, algs, tiles = t
        k = max(0, bisect.bisect_right(starts, n) - 1)
        return algs[k], tiles[k]

    def source(self, isa_name: str) -> str:
        if isa_name in self.tables:
            return f"tuning file {self.path}"
        why = self.reason or f"the tuning file has no {isa_name} measurements"
        return f"default rule ({why})"


def selector(path: Path | None = None) -> Selector:
    """The Selector for the tuning file at `path` (default: tuning_path()), read once and cached."""
    if path is None:
        env = os.environ.get(ENV_TUNING_FILE)
        p = os.path.expanduser(env) if env else str(tuning_path())
    else:
        p = str(path)
    sel = _selectors.get(p)
    if sel is None:
        sel = _load_selector(p)
        _selectors[p] = sel
    return sel


def _load_selector(p: str) -> Selector:
    if not os.path.exists(p):
        return Selector(p, {}, f"no tuning file at {p}; run `softbench tune`")
    try:
        doc = read(Path(p))
    except InputError as exc:
        return Selector(p, {}, str(exc))
    ok, why = usable(doc)
    if not ok:
        return Selector(p, {}, why)
    known = algorithms()
    tables = {}
    for isa_name, entry in doc["isas"].items():
        bs = sorted(entry["bands"], key=lambda b: b["from_n"])
        tiles = TILES.get(isa_name, {})
        # a band without a tile (format 1) is the default tile; one this softbench lacks drops the ISA
        names = [b.get("tile") or (default_tile(isa_name).name if tiles else None) for b in bs]
        if all(b["algorithm"] in known for b in bs) and all(t in tiles for t in names):
            tables[isa_name] = ([b["from_n"] for b in bs], [b["algorithm"] for b in bs],
                                [None if tiles[t].default else t for t in names])  # fmt: skip
    return Selector(p, tables, "" if tables else "the tuning file names no algorithm and tile this softbench has")


_current: Selector | None = None


def choose(n: int, isa_name: str) -> str:
    """The algorithm "auto" runs for a row of n elements on `isa_name`. The tuning file (and
    $SOFTBENCH_TUNING_FILE) is looked up once per process; clear_cache() makes it look again."""
    return choose_kernel(n, isa_name)[0]


def choose_kernel(n: int, isa_name: str) -> tuple[str, str | None]:
    """(algorithm, tile) "auto" runs for a row of n elements on `isa_name`; tile None is the
    ISA's default tile. Looked up as choose() is."""
    global _current
    sel = _current
    if sel is None:
        sel = _current = selector()
    return sel.choose_kernel(n, isa_name)


def clear_cache() -> None:
    """Forget cached tuning files (after writing one, or in tests)."""
    global _current
    _selectors.clear()
    _current = None
