"""Users' own softmax kernels, measured like the built-in ones.

A kernel is named by a spec ``FILE:SYMBOL[@ISA]``: a C source (compiled here with the ISA's flags
plus the user's, cached by build.cached_build like softbench's own modules) or a prebuilt shared
library, exporting ``void SYMBOL(size_t n, const float *x, float *y)``. Its author declares its
memory traffic, as passes over the row (``passes = "r, rw"``) or bytes per element; softbench then
builds the matching traffic twin (native/user_twin.c) so that the kernel gets a roofline
efficiency and an "actual" GB/s like every built-in. Without a declaration the twin is the ISA's
STREAM copy, and every record says so.

This module parses specs and declarations and builds and loads kernels; user_verify.py runs the
correctness matrix on them in a child process; runner.py and measure.py time them.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from softbench.bridge import build
from softbench.catalog import COMMON_FLAGS, ISAS, algorithms, native_dir
from softbench.errors import InputError
from softbench.host import isa as isa_mod

# A pass is one sweep over the row: r = reads x, y = reads y, w = writes y. The combinations a
# twin can reproduce, with their bit codes in native/user_twin.c (SB_UT_*).
PASS_BITS = {"r": 1, "y": 2, "w": 4, "rw": 5, "yw": 6}
PASS_HELP = "r (read x), rw (read x, write y), w (write y), y (read y), yw (read and rewrite y)"
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SOURCE_SUFFIXES = (".c",)
LIBRARY_SUFFIXES = (".so", ".dylib")
# keys of a [[kernel]] table in a suite
TABLE_KEYS = ("kernel", "name", "passes", "read_bytes", "write_bytes", "stores", "cflags", "max_abs_x", "thread_safe")


@dataclass(frozen=True)
class Traffic:
    """What a kernel moves per element out of cache, by measurement.md's convention."""

    read_x: int
    read_y: int
    write_y: int
    rfo: int  # read-for-ownership of normal stores: y written in a pass that does not read it first
    passes: tuple[str, ...] | None = None  # the declared passes; None when given as bytes
    declared: bool = True
    stores: str = "temporal"  # the twin's output stores: "temporal" or "nt"

    @property
    def total(self) -> int:
        return self.read_x + self.read_y + self.write_y

    def bytes_per_element(self) -> dict[str, int]:
        return {"read_x": self.read_x, "read_y": self.read_y, "write_y": self.write_y, "total": self.total,
                "with_rfo": self.total + self.rfo}  # fmt: skip

    def twin_passes(self) -> tuple[str, ...]:
        """The passes the twin runs: the declared ones, or, for bytes, reads of x first and the
        writes of y in the last passes (8 read, 4 written: "r, rw")."""
        if self.passes is not None:
            return self.passes
        reads, writes = self.read_x // 4, self.write_y // 4
        count = max(reads, writes)
        return tuple(("r" if i < reads else "") + ("w" if i >= count - writes else "") for i in range(count))

    def describe(self) -> str:
        if not self.declared:
            return "undeclared: timed against STREAM copy"
        how = f"passes {', '.join(self.passes)}" if self.passes is not None else f"{self.read_x} B read, {self.write_y} B written"
        return how + (" (non-temporal stores)" if self.stores == "nt" else "")


# No declaration: counted as the least any softmax moves (one read, one write), as libraries are.
UNDECLARED = Traffic(4, 0, 4, 4, None, declared=False)


def parse_passes(text: Any, stores: str = "temporal", where: str = "command line") -> Traffic:
    """'r, rw' -> its Traffic; a clear InputError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: passes must be a string such as \"r, rw\" (one entry per pass: {PASS_HELP}), got {text!r}")
    passes = tuple(p.strip().lower() for p in text.split(","))
    for p in passes:
        if p not in PASS_BITS:
            raise InputError(f"{where}: passes {text!r}: {p!r} is not a pass; each pass is one of {PASS_HELP}")
    read_x = 4 * sum("r" in p for p in passes)
    read_y = 4 * sum("y" in p for p in passes)
    write_y = 4 * sum("w" in p for p in passes)
    rfo = 4 * sum("w" in p and "y" not in p for p in passes)  # as kernels.def counts it
    return Traffic(read_x, read_y, write_y, rfo, passes, stores=_stores(stores, where))


def parse_bytes(read: Any, write: Any, stores: str = "temporal", where: str = "command line") -> Traffic:
    """Bytes read and written per element (multiples of 4: whole float passes), as passes over x."""
    for key, v in (("read_bytes", read), ("write_bytes", write)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 4 or v % 4:
            raise InputError(f"{where}: {key} must be a whole number of float passes (4, 8, 12, ...), got {v!r}")
    return Traffic(read, 0, write, write, None, stores=_stores(stores, where))


def _stores(stores: Any, where: str) -> str:
    if stores not in ("temporal", "nt"):
        raise InputError(f"{where}: stores must be \"temporal\" or \"nt\" (the kernel's output stores), got {stores!r}")
    return stores


def parse_declaration(text: str | None, where: str = "command line") -> Traffic:
    """--kernel-passes: "r, rw", or bytes "read=8,write=4"; None or "" means undeclared."""
    if text is None or not str(text).strip():
        return UNDECLARED
    text = str(text).strip()
    if "=" in text:
        parts = dict(p.strip().split("=", 1) for p in text.split(",") if "=" in p)
        try:
            read, write = int(parts.get("read", "")), int(parts.get("write", ""))
        except ValueError:
            raise InputError(f"{where}: traffic {text!r} does not parse; give passes such as \"r, rw\" or bytes "
                             "per element such as \"read=8,write=4\"") from None  # fmt: skip
        return parse_bytes(read, write, where=where)
    return parse_passes(text, where=where)


@dataclass(frozen=True)
class KernelSpec:
    """A user kernel as asked for, before it is built."""

    text: str  # as given, e.g. "examples/softmax_avx2.c:softmax_avx2@avx2"
    path: Path
    symbol: str
    isa: str  # "auto" (the host's best) or an ISA name
    name: str  # how records, tables and plots name it (default: the symbol)
    traffic: Traffic = UNDECLARED
    cflags: tuple[str, ...] = ()
    max_abs_x: float = math.inf  # largest |x| it is checked at (the matrix's "rows at |x|max")
    thread_safe: bool = False  # may run on several rows at once, from several threads (--threads batches)

    @property
    def prebuilt(self) -> bool:
        return self.path.suffix != ".c"

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.text, "name": self.name, "traffic": self.traffic.describe(),
                "cflags": list(self.cflags), "thread_safe": self.thread_safe}  # fmt: skip


def parse_spec(text: str, traffic: Traffic = UNDECLARED, cflags: Sequence[str] = (), name: str | None = None,
               base: Path | None = None, where: str = "command line", max_abs_x: float = math.inf,
               thread_safe: bool = False) -> KernelSpec:
    """FILE:SYMBOL[@ISA] -> a KernelSpec (the file must exist; relative paths from `base`)."""
    if not isinstance(text, str) or ":" not in text:
        raise InputError(f"{where}: kernel {text!r} must be FILE:SYMBOL[@ISA], e.g. my_softmax.c:my_softmax@avx2")
    file, _, rest = text.rpartition(":")
    symbol, _, isa = rest.partition("@")
    symbol, isa = symbol.strip(), isa.strip() or "auto"
    if not _SYMBOL.match(symbol):
        raise InputError(f"{where}: kernel {text!r}: {symbol!r} is not a C function name")
    if isa != "auto" and isa not in ISAS:
        raise InputError(f"{where}: kernel {text!r}: unknown ISA {isa!r}; choose one of: {', '.join(ISAS)}")
    path = Path(file).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise InputError(f"{where}: kernel {text!r}: no such file {file!r}; check the path")
    if path.suffix not in SOURCE_SUFFIXES and not (path.suffix in LIBRARY_SUFFIXES or ".so." in path.name):
        raise InputError(f"{where}: kernel {text!r}: {path.name} is neither a C source (.c) nor a shared library (.so)")
    name = symbol if name is None else name
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.+-]+$", name):
        raise InputError(f"{where}: kernel name {name!r} must be letters, digits and _ . + - only")
    if name in algorithms():
        raise InputError(f"{where}: kernel name {name!r} is a built-in algorithm's; give the kernel another name")
    flags = tuple(cflags)
    return KernelSpec(text, path.resolve(), symbol, isa, name, traffic, flags, max_abs_x, thread_safe)


def command_line_specs(kernels: Sequence[str] | None, passes: Sequence[str] | None = None,
                       cflags: Sequence[str] | None = None, thread_safe: bool = False) -> list[KernelSpec]:
    """--kernel (repeatable) with --kernel-passes and --kernel-cflags: each given once applies to
    every kernel, or once per kernel, paired in order; --kernel-thread-safe applies to all."""
    kernels = list(kernels or [])
    if not kernels:
        if passes or cflags:
            raise InputError("command line: --kernel-passes and --kernel-cflags need a --kernel FILE:SYMBOL")
        return []

    def per_kernel(values, option: str) -> list:
        values = list(values or [])
        if len(values) in (0, 1):
            return (values or [None]) * len(kernels)
        if len(values) != len(kernels):
            raise InputError(f"command line: {option} was given {len(values)} times for {len(kernels)} --kernel; "
                             "give it once (for every kernel) or once per --kernel, in the same order")  # fmt: skip
        return values

    out = []
    for text, decl, flags in zip(kernels, per_kernel(passes, "--kernel-passes"), per_kernel(cflags, "--kernel-cflags")):
        where = f"command line: --kernel {text}"
        out.append(parse_spec(text, parse_declaration(decl, where), shlex.split(flags or ""), where=where,
                              thread_safe=thread_safe))
    return unique(out)


def suite_specs(value: Any, source: str, base: Path | None) -> tuple[KernelSpec, ...]:
    """A suite's [[kernel]] tables: kernel = "FILE:SYMBOL[@ISA]", and optionally name, passes (or
    read_bytes and write_bytes), stores, cflags (a list of strings), max_abs_x, thread_safe."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise InputError(f'{source}: key \'kernel\' must be [[kernel]] tables, each with kernel = "FILE:SYMBOL[@ISA]"')
    out = []
    for i, table in enumerate(value, 1):
        where = f"{source}: [[kernel]] #{i}"
        for k in table:
            if k not in TABLE_KEYS:
                raise InputError(f"{where}: {k!r} is not a kernel key; known keys: {', '.join(TABLE_KEYS)}")
        if "kernel" not in table:
            raise InputError(f'{where}: has no key \'kernel\'; give kernel = "FILE:SYMBOL[@ISA]"')
        stores = table.get("stores", "temporal")
        if "passes" in table and ("read_bytes" in table or "write_bytes" in table):
            raise InputError(f"{where}: give passes or read_bytes/write_bytes, not both")
        if "passes" in table:
            traffic = parse_passes(table["passes"], stores, where)
        elif "read_bytes" in table or "write_bytes" in table:
            traffic = parse_bytes(table.get("read_bytes"), table.get("write_bytes"), stores, where)
        else:
            traffic = UNDECLARED
        cflags = table.get("cflags", [])
        if isinstance(cflags, str):
            cflags = shlex.split(cflags)
        if not isinstance(cflags, list) or not all(isinstance(f, str) for f in cflags):
            raise InputError(f'{where}: cflags must be a list of strings such as ["-O2", "-DUNROLL=4"], got {cflags!r}')
        bound = table.get("max_abs_x", math.inf)
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise InputError(f"{where}: max_abs_x must be a number > 0, got {bound!r}")
        safe = table.get("thread_safe", False)
        if not isinstance(safe, bool):
            raise InputError(f"{where}: thread_safe must be true or false, got {safe!r}")
        out.append(parse_spec(table["kernel"], traffic, cflags, table.get("name"), base, where, float(bound), safe))
    return tuple(unique(out))


def unique(specs: list[KernelSpec]) -> list[KernelSpec]:
    seen: dict[tuple[str, str], KernelSpec] = {}
    for s in specs:
        key = (s.name, s.isa)
        if key in seen and seen[key] != s:
            raise InputError(f"two kernels are named {s.name!r} ({seen[key].text} and {s.text}); name them apart "
                             "(name = ... in a [[kernel]] table)")  # fmt: skip
        seen[key] = s
    return list(seen.values())


# --- building and loading ----------------------------------------------------------------------


@dataclass
class UserKernel:
    """A user kernel built (or loaded) for an ISA this host runs, with its traffic twin."""

    spec: KernelSpec
    isa: str
    module_path: Path
    source_sha256: str  # of the C source, or of the prebuilt library
    compile_command: str | None  # None for a prebuilt library
    fn: Any = field(repr=False)  # cffi sb_softmax_fn
    twin: Any = field(repr=False)  # its twin: from the declaration, or the ISA's STREAM copy
    twin_command: str | None = None
    compiled_now: bool = False
    _keep: list = field(default_factory=list, repr=False)  # the libraries behind fn and twin
    checks: dict = field(default_factory=dict)  # what verification found, for the records (runner)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def traffic(self) -> Traffic:
        return self.spec.traffic

    @property
    def label(self) -> str:
        return f"{self.name}/{self.isa}"

    def twin_description(self) -> str:
        t = self.traffic
        return f"traffic twin of {t.describe()}" if t.declared else f"STREAM copy ({self.isa}): no traffic declared"

    def record_fields(self) -> dict[str, Any]:
        """What every record of this kernel carries about it (results.Record.user_kernel)."""
        return {"user_kernel": {
            "name": self.name, "kernel": self.spec.text, "symbol": self.spec.symbol,
            "file": str(self.spec.path), "source_sha256": self.source_sha256,
            **({"compile_command": self.compile_command} if self.compile_command else {"prebuilt": True}),
            "traffic": self.traffic.describe(), "declared": self.traffic.declared,
            **({"passes": ", ".join(self.traffic.passes)} if self.traffic.passes else {}),
            "twin": self.twin_description(), "thread_safe": self.spec.thread_safe,
            **({"twin_compile_command": self.twin_command} if self.twin_command else {}),
            **self.checks,
        }}  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _function(lib_path: Path, symbol: str, what: str):
    """(cffi sb_softmax_fn, library handle) for `symbol` in the shared library at lib_path."""
    try:
        lib = ctypes.CDLL(str(lib_path))
    except OSError as exc:
        raise InputError(f"{what}: the library cannot be loaded ({' '.join(str(exc).split())})") from None
    try:
        cfn = getattr(lib, symbol)
    except AttributeError:
        raise InputError(f"{what}: no function {symbol!r} in it; export void {symbol}(size_t n, const float *x, float *y) "
                         "(not static)") from None  # fmt: skip
    address = ctypes.cast(cfn, ctypes.c_void_p).value
    return build.shared_ffi().cast("sb_softmax_fn", address), lib


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text)[:40]


def build_kernel(spec: KernelSpec, isa: str) -> tuple[Path, str, str | None, bool]:
    """Compile the spec's source for `isa` (through the kernel cache); returns (module, source
    sha256, compile command, compiled now). A prebuilt library is used as it is."""
    digest = _sha256(spec.path)
    if spec.prebuilt:
        return spec.path, digest, None, False
    compiler = build.find_compiler()
    flags = [*COMMON_FLAGS, *ISAS[isa].flags, *spec.cflags]
    # the path too: the recorded command names the file that was compiled
    key = [build.BUILD_FORMAT, "user", digest, str(spec.path), compiler.path, compiler.version, compiler.command, flags]
    what = f"{spec.path.name} (kernel {spec.text})"
    target, command, now = build.cached_build(
        f"softbench-user-{_safe(spec.path.stem)}-{isa}", key,
        lambda t: build.compile_shared(compiler, flags, [spec.path], ["-lm"], t, what),
        {"isa": isa, "user_source": str(spec.path)},
    )  # fmt: skip
    return target, digest, shlex.join(command), now


def build_twin(traffic: Traffic, isa: str) -> tuple[Path, str]:
    """The twin module of a declaration on an ISA (native/user_twin.c); (path, compile command)."""
    compiler = build.find_compiler()
    codes = ",".join(str(PASS_BITS[p]) for p in traffic.twin_passes())
    flags = [*build.flags_for(isa), f'-DSB_USER_ISA_HEADER="isa/{isa}.h"', f"-DSB_USER_PASSES={codes}",
             f"-DSB_USER_NT={int(traffic.stores == 'nt')}"]  # fmt: skip
    source = native_dir() / "user_twin.c"
    key = [build.BUILD_FORMAT, "user-twin", build.source_digest(), compiler.path, compiler.version, compiler.command, flags]
    target, command, _ = build.cached_build(
        f"softbench-usertwin-{isa}", key,
        lambda t: build.compile_shared(compiler, flags, [source], ["-lm"], t, f"the traffic twin of passes {codes}"),
        {"isa": isa, "twin_passes": codes},
    )  # fmt: skip
    return target, shlex.join(command)


def prepare(spec: KernelSpec) -> UserKernel:
    """Build and load a user kernel and its twin for its ISA ("auto": the host's best); an ISA
    this host does not run, a missing symbol or a compile error is an InputError/BuildError."""
    try:
        isa = isa_mod.resolve(spec.isa)
    except InputError as exc:
        raise InputError(f"kernel {spec.text}: {exc}") from None
    module, digest, command, now = build_kernel(spec, isa)
    fn, lib = _function(module, spec.symbol, f"kernel {spec.text}" + ("" if spec.prebuilt else f" (built as {module.name})"))
    keep: list = [lib]
    twin_command = None
    if spec.traffic.declared:
        twin_path, twin_command = build_twin(spec.traffic, isa)
        twin, twin_lib = _function(twin_path, "sb_user_twin", f"the traffic twin of {spec.text}")
        keep.append(twin_lib)
    else:
        twin = build.load(isa).streams["copy"][0]
    return UserKernel(spec, isa, module, digest, command, fn, twin, twin_command, now, keep)


def prepare_all(specs: Sequence[KernelSpec]) -> list[UserKernel]:
    return [prepare(s) for s in specs]


def by_key(kernels: Sequence[UserKernel]) -> Mapping[tuple[str, str], UserKernel]:
    """(name, isa) -> kernel: how measure.py finds a user kernel's traffic and record fields."""
    return {(k.name, k.isa): k for k in kernels}
