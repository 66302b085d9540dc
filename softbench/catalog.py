"""What softbench can run: the algorithms (read from native/kernels.def, the one table the C
modules are generated from), the ISAs with their compiler flags and the CPU features they need
(read from native/isas.def, the table the C test driver reads too) and each ISA's kernel tiles
(read from native/tiles.def)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from softbench.errors import InputError


# "Effective" GB/s counts this many bytes per element: one read of x, one write of y (XNNPACK's
# convention, and the traffic assumed for a softmax whose passes are unknown).
EFFECTIVE_BYTES = 8


def native_dir() -> Path:
    """The C sources: softbench/native in an installed wheel, ../native in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "native", here.parent / "native"):
        if (candidate / "kernels.def").is_file():
            return candidate
    raise FileNotFoundError(f"softbench's C sources (native/kernels.def) are missing next to {here}")


@dataclass(frozen=True)
class Algorithm:
    name: str
    ident: str  # C identifier of the template in native/algorithms/<ident>.h
    passes: int
    read_x: int  # bytes per element, out of cache, by measurement.md's convention
    read_y: int
    write_y: int
    rfo: int  # read-for-ownership bytes normal stores add out of cache
    exps_per_element: int
    max_abs_x: float  # largest |x| with full accuracy; inf: any finite input

    @property
    def bytes_total(self) -> int:
        return self.read_x + self.read_y + self.write_y

    @property
    def bytes_with_rfo(self) -> int:
        return self.bytes_total + self.rfo

    def traffic(self) -> dict[str, int]:
        return {
            "read_x": self.read_x,
            "read_y": self.read_y,
            "write_y": self.write_y,
            "total": self.bytes_total,
            "with_rfo": self.bytes_with_rfo,
        }


_ROW = re.compile(
    r'^SB_ALGORITHM\(\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([\w.+-]+)\s*\)',
    re.MULTILINE,
)


def _c_float(text: str) -> float:
    # the C literals kernels.def uses: INFINITY, hex floats (0x1p20), decimals
    return float("inf") if text == "INFINITY" else float.fromhex(text) if text.lower().startswith("0x") else float(text)


@lru_cache(maxsize=1)
def algorithms() -> dict[str, Algorithm]:
    text = (native_dir() / "kernels.def").read_text()
    rows = {}
    for m in _ROW.finditer(text):
        name, ident, *numbers, max_abs = m.groups()
        rows[name] = Algorithm(name, ident, *map(int, numbers), _c_float(max_abs))
    if not rows:
        raise RuntimeError("native/kernels.def declares no algorithm")
    return rows


@dataclass(frozen=True)
class Isa:
    name: str
    arch: str  # "any", "x86_64" or "aarch64": which CPUs can run it at all
    lanes: int  # float32 lanes per vector
    flags: tuple[str, ...]  # added to the common flags when compiling this ISA's module
    description: str
    # sb_cpu_features fields (native/harness.h) the CPU must report; "os_*": the OS saves the state
    features: tuple[str, ...] = ()


_ISA_ROW = re.compile(
    r'^SB_ISA\(\s*(\w+)\s*,\s*"([^"]*)"\s*,\s*(\d+)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*\)',
    re.MULTILINE,
)


def read_isas(path: Path | None = None) -> dict[str, Isa]:
    """The rows of native/isas.def (or of another copy of it), in its order: best first."""
    text = (path or native_dir() / "isas.def").read_text()
    rows = {}
    for m in _ISA_ROW.finditer(text):
        name, arch, lanes, flags, features, description = m.groups()
        rows[name] = Isa(name, arch, int(lanes), tuple(flags.split()), description, tuple(features.split()))
    if not rows:
        raise RuntimeError(f"{path or 'native/isas.def'} declares no ISA")
    return rows


# Best first: isa="auto" picks the first one the host runs.
ISAS: dict[str, Isa] = read_isas()

# Flags every module is compiled with. -O3, not -O2: gcc 12 at -O2 keeps the unrolled
# accumulators of the templates in memory. No -ffast-math: the kernels rely on IEEE inf/NaN rules.
COMMON_FLAGS: tuple[str, ...] = ("-O3", "-std=c11", "-fPIC", "-shared", "-fno-math-errno", "-ffp-contract=off")


def check_algorithm(name: str) -> Algorithm:
    table = algorithms()
    if name not in table:
        raise InputError(f"unknown algorithm {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def check_isa_name(name: str) -> Isa:
    if name not in ISAS:
        raise InputError(f"unknown ISA {name!r}; choose one of: {', '.join(ISAS)}")
    return ISAS[name]


@dataclass(frozen=True)
class Tile:
    """One shape of an ISA's kernels (a row of native/tiles.def): `unroll` vectors per unrolled
    iteration, `acc` accumulators in the reducing loops."""

    isa: str
    unroll: int
    acc: int
    name: str  # tile_name(lanes * unroll, acc), e.g. "x64-acc4"
    default: bool  # the ISA's first row: what every caller that names no tile gets

    @property
    def block_floats(self) -> int:
        """Floats per unrolled iteration (the tail cases' block)."""
        return ISAS[self.isa].lanes * self.unroll

    def to_dict(self) -> dict:
        return {"name": self.name, "unroll": self.unroll, "acc": self.acc, "elements": self.block_floats,
                "default": self.default}  # fmt: skip

    def defines(self) -> tuple[str, ...]:
        """The compiler flags that make kernels/<isa>.c this tile (common_passes.h reads them)."""
        return (f"-DSB_UNROLL={self.unroll}", f"-DSB_ACC={self.acc}")


def tile_name(elements: int, acc: int) -> str:
    """A tile's name by its recipe, as XNNPACK names its microkernels: elements per unrolled
    iteration and accumulators, "x64-acc4"; "x16" for one accumulator."""
    return f"x{elements}" if acc == 1 else f"x{elements}-acc{acc}"


_TILE_ROW = re.compile(r"^SB_TILE\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", re.MULTILINE)


def read_tiles(path: Path | None = None, isas: dict[str, Isa] | None = None) -> dict[str, dict[str, Tile]]:
    """The rows of native/tiles.def (or of another copy of it): ISA -> {tile name: Tile}, in the
    file's order, the default (each ISA's first row) first. Every ISA must have one."""
    isas = ISAS if isas is None else isas
    where = path or "native/tiles.def"
    text = (path or native_dir() / "tiles.def").read_text()
    rows: dict[str, dict[str, Tile]] = {}
    for m in _TILE_ROW.finditer(text):
        isa, unroll, acc = m.group(1), int(m.group(2)), int(m.group(3))
        if isa not in isas:
            raise RuntimeError(f"{where}: SB_TILE({isa}, ...) names an ISA that isas.def does not declare")
        if unroll < 1 or acc < 1 or unroll % acc:
            raise RuntimeError(f"{where}: SB_TILE({isa}, {unroll}, {acc}): acc must divide unroll")
        name = tile_name(isas[isa].lanes * unroll, acc)
        tiles = rows.setdefault(isa, {})
        if name in tiles:
            raise RuntimeError(f"{where}: {isa} declares the tile {name} twice")
        tiles[name] = Tile(isa, unroll, acc, name, default=not tiles)
    missing = [isa for isa in isas if isa not in rows]
    if missing:
        raise RuntimeError(f"{where} declares no tile for {', '.join(missing)}")
    return {isa: rows[isa] for isa in isas}  # in isas.def's order


# ISA -> {tile name: Tile}, each ISA's default tile first.
TILES: dict[str, dict[str, Tile]] = read_tiles()


def default_tile(isa: str) -> Tile:
    return next(iter(TILES[isa].values()))


def tile_names() -> list[str]:
    """Every tile name of every ISA, once each, in the tables' order."""
    return list(dict.fromkeys(name for tiles in TILES.values() for name in tiles))


def check_tile(isa: str, name: str | None) -> Tile:
    """The ISA's tile of that name (None or "default": its default tile)."""
    if name in (None, "", "default"):
        return default_tile(isa)
    if name not in TILES[isa]:
        raise InputError(f"unknown tile {name!r} for {isa}; choose one of: {', '.join(TILES[isa])}")
    return TILES[isa][name]
