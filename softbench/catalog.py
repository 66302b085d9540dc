"""What softbench can run: the algorithms (read from native/kernels.def, the one table the C
modules are generated from) and the ISAs with their compiler flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from softbench.errors import InputError


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


# Best first: isa="auto" picks the first one the host runs.
ISAS: dict[str, Isa] = {
    isa.name: isa
    for isa in (
        Isa("avx512f", "x86_64", 16, ("-mavx512f", "-mfma"), "AVX-512F, 16 lanes, vscalefps"),
        Isa("avx2", "x86_64", 8, ("-mavx2", "-mfma"), "AVX2 + FMA, 8 lanes"),
        Isa("neon", "aarch64", 4, (), "AArch64 Advanced SIMD, 4 lanes, FMA"),
        Isa("sse2", "x86_64", 4, ("-msse2",), "SSE2, 4 lanes, no FMA (x86-64 baseline)"),
        # -fno-tree-vectorize: the scalar figures must be scalar, not gcc's auto-vectorised loop
        Isa("scalar", "any", 1, ("-fno-tree-vectorize",), "portable C, one float at a time"),
    )
}

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
