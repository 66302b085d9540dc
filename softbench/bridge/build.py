"""Compile native/ into one shared library per ISA and tile, cache it per user, load it through cffi.

Each ISA's module is built with that ISA's flags (catalog.ISAS) and its tile's -D's (catalog.TILES)
by the C compiler directly, so the
exact command line can be recorded in result files, then loaded with cffi's ABI mode
(``ffi.dlopen``): no Python headers or setuptools are needed at run time. The cache key hashes the
sources, the compiler (path and version) and the flags, so a second run compiles nothing and a
change to any of them builds a new module. Builds take a per-module file lock and publish with an
atomic rename, so runs started at once neither corrupt nor half-read the cache. A manifest beside
each module holds its SHA-256: a damaged module is reported, never loaded.

An ISA's default tile is its module for every caller that names no tile (load(isa)); another tile's
module is compiled only when a caller asks for that tile (load(isa, tile)). Every tile of an ISA
exports the same symbols (sb_kernel_table__<isa>, ...): each module is opened on its own
(RTLD_LOCAL), so they do not clash, and one cffi declaration serves them all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from softbench.catalog import COMMON_FLAGS, ISAS, Tile, check_tile, native_dir
from softbench.errors import BuildError
from softbench.host import machine

# Bump when the way modules are built or declared changes without a source change.
BUILD_FORMAT = 1

CDEF_COMMON = """
typedef void (*sb_softmax_fn)(size_t n, const float *x, float *y);
typedef struct { const char *algorithm; const char *variant; sb_softmax_fn kernel; sb_softmax_fn twin; } sb_kernel_entry;
typedef struct { const char *name; sb_softmax_fn kernel; int read_bytes, write_bytes; } sb_stream_entry;
typedef struct { float max; double sum; double sum_exp; } sb_state;
typedef void (*sb_pass_fn)(size_t n, const float *x, float *y, sb_state *st);
typedef struct {
    const char *algorithm; const char *pass; sb_pass_fn fn; sb_pass_fn twin;
    int read_x, read_y, write_y;
    sb_pass_fn fn_nt; sb_pass_fn twin_nt; int merge;
} sb_pass_entry;
typedef struct { const char *type; const char *field; size_t value; } sb_abi_entry;
"""
CDEF_TABLE = """
const sb_kernel_entry *sb_kernel_table__{isa}(size_t *count);
extern unsigned sb_lanes__{isa};  /* const in C; cffi reads a const int only from API mode */
extern unsigned sb_block_floats__{isa};
const sb_abi_entry *sb_abi_table__{isa}(size_t *count);
extern size_t sb_nt_min_bytes__{isa};
const sb_stream_entry *sb_stream_table__{isa}(size_t *count);
const sb_pass_entry *sb_pass_table__{isa}(size_t *count);
void sb_exp_nonpos_array__{isa}(size_t n, const float *x, float *y);
void sb_exp_ext_array__{isa}(size_t n, const float *x, float *m, float *e);
extern float sb_exp_max_ulp__{isa};  /* the accuracy its exps promise (isa/<isa>.h, sb_common.h) */
extern float sb_exp_ext_max_ulp__{isa};
"""
CDEF_HARNESS = """
double sb_time_calls(sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls, int ftz_daz);
double sb_time_pass_calls(sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st, uint64_t calls, int ftz_daz);
int sb_ftz_daz_supported(void);
void sb_batch(sb_softmax_fn fn, size_t rows, size_t cols, const float *x, float *y);
typedef struct { sb_softmax_fn fn; int passes; sb_pass_fn pass[4]; int merge[4]; } sb_work;
typedef struct sb_pool sb_pool;
sb_pool *sb_pool_create(int threads, const int *cpus);
void sb_pool_destroy(sb_pool *pool);
int sb_pool_threads(const sb_pool *pool);
int sb_pool_pinned(const sb_pool *pool);
void sb_pool_run(sb_pool *pool, const sb_work *work, size_t rows, size_t cols, const float *x, float *y);
double sb_pool_time(sb_pool *pool, const sb_work *work, size_t rows, size_t cols, const float *x, float *y, uint64_t calls, int ftz_daz);
void sb_pool_touch(sb_pool *pool, size_t rows, size_t cols, float *buf);
typedef struct {
    int is_x86, is_aarch64;
    int sse2, avx, fma, avx2, avx512f;
    int os_avx, os_avx512;
    uint64_t xcr0;
    int neon;
} sb_cpu_features;
void sb_cpu_probe(sb_cpu_features *out);
const sb_abi_entry *sb_harness_abi_table(size_t *count);
typedef struct { int count; int fds[8]; uint64_t ids[8]; int leader; } sb_perf_group;
int sb_perf_open(sb_perf_group *g, int count, const uint32_t *types, const uint64_t *configs, const int *optional, int *failed);
int sb_perf_reset_enable(sb_perf_group *g);
int sb_perf_disable(sb_perf_group *g);
int sb_perf_read(sb_perf_group *g, uint64_t *values, uint64_t *time_enabled, uint64_t *time_running);
void sb_perf_close(sb_perf_group *g);
double sb_perf_time_calls(sb_perf_group *g, sb_softmax_fn fn, size_t n, const float *x, float *y, uint64_t calls, int ftz_daz);
double sb_perf_time_pass_calls(sb_perf_group *g, sb_pass_fn fn, size_t n, const float *x, float *y, const sb_state *st, uint64_t calls, int ftz_daz);
"""

# The harness (timing loop, FTZ/DAZ, CPU probe, thread pool) rides in the scalar module: baseline
# flags only, linked with the threads library.
HARNESS_ISA = "scalar"
HARNESS_LIBS = ("-pthread",)


@dataclass(frozen=True)
class Compiler:
    command: str  # as given (CC or the default)
    path: str
    version: str  # first line of `--version`
    name: str  # gcc, clang, or the executable's name when neither says so


@lru_cache(maxsize=1)
def find_compiler() -> Compiler:
    """The C compiler: $CC if set, else cc, gcc or clang on PATH."""
    requested = os.environ.get("CC")
    candidates = [requested] if requested else ["cc", "gcc", "clang"]
    for cand in candidates:
        argv = shlex.split(cand)
        path = shutil.which(argv[0]) if argv else None
        if not path:
            continue
        try:
            out = subprocess.run([path, *argv[1:], "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            text = out.stdout.lower()
            # `cc --version` says "cc (Debian 12.2.0...)": gcc is known by its copyright line
            name = "clang" if "clang" in text else "gcc" if ("gcc" in text or "free software foundation" in text) else Path(path).name
            return Compiler(cand, path, (out.stdout.splitlines() or ["unknown"])[0].strip(), name)
    if requested:
        raise BuildError(f"the C compiler CC={requested!r} was not found or does not run; set CC to a working compiler")
    raise BuildError("no C compiler found (looked for cc, gcc, clang); install one (e.g. `apt-get install gcc`) or set CC")


def cache_dir() -> Path:
    """Per-user folder for built modules: $SOFTBENCH_CACHE_DIR, else the platform's cache folder."""
    env = os.environ.get("SOFTBENCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("softbench", appauthor=False)) / "kernels"


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise BuildError(
            f"the kernel cache folder {folder} is not writable ({exc.strerror or exc}); "
            "set SOFTBENCH_CACHE_DIR to a writable folder"
        ) from None


def carries_harness(isa: str, tile: Tile | str | None = None) -> bool:
    """Whether this module holds the harness: the default tile of HARNESS_ISA only (one harness
    per process; the other tiles' modules hold kernels alone)."""
    return isa == HARNESS_ISA and _tile(isa, tile).default


def _tile(isa: str, tile: Tile | str | None) -> Tile:
    return tile if isinstance(tile, Tile) else check_tile(isa, tile)


def sources_for(isa: str, tile: Tile | str | None = None) -> list[Path]:
    """The translation units of an ISA's module (of its default tile unless `tile` names one)."""
    root = native_dir()
    units = [root / "kernels" / f"{isa}.c"]
    if carries_harness(isa, tile):
        units.append(root / "harness.c")
        units.append(root / "perf_counters.c")  # hardware counters (perf_event_open) for `profile`
        units.append(root / "threads.c")  # the thread pool of `run --threads` and softmax(threads=)
    return units


def flags_for(isa: str, tile: Tile | str | None = None) -> list[str]:
    """The module's compiler flags: the common ones, the ISA's, the tile's shape (default tile
    unless `tile` names one)."""
    return [*COMMON_FLAGS, *ISAS[isa].flags, *_tile(isa, tile).defines()]


def source_digest() -> str:
    """SHA-256 of every C source, header and table under native/, as the modules are built from:
    what a result file can record to name the kernels' code (the cache key hashes it too)."""
    # Every file under native/ counts: headers are shared, and hashing all of them is cheap.
    h = hashlib.sha256()
    root = native_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".c", ".h", ".def"}):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


_source_digest = source_digest  # the former private name


def _cdef(isa: str, harness: bool) -> str:
    text = CDEF_COMMON + CDEF_TABLE.format(isa=isa)
    return text + CDEF_HARNESS if harness else text


@dataclass(frozen=True)
class Pass:
    """One pass of an algorithm (sb_pass_entry): its function, its traffic twin, its bytes/element;
    both with non-temporal output stores, and how chunks' states merge after it (SB_MERGE_*)."""

    algorithm: str
    name: str
    fn: object = field(repr=False)
    twin: object = field(repr=False)
    read_x: int = 0
    read_y: int = 0
    write_y: int = 0
    fn_nt: object = field(repr=False, default=None)
    twin_nt: object = field(repr=False, default=None)
    merge: int = 0


@dataclass
class BuiltModule:
    isa: str
    path: Path
    compiler: Compiler
    flags: list[str]
    command: list[str]
    compiled_now: bool
    lib: object = field(repr=False, default=None)
    ffi: object = field(repr=False, default=None)
    kernels: dict = field(repr=False, default_factory=dict)  # algorithm name -> cffi function pointer
    twins: dict = field(repr=False, default_factory=dict)  # algorithm name -> its traffic twin
    # (algorithm, variant) -> (kernel, twin); variant "temporal" or "nt" forces the store kind
    variants: dict = field(repr=False, default_factory=dict)
    streams: dict = field(repr=False, default_factory=dict)  # "read"/"write"/"copy"/"scale" -> (fn, read B, write B)
    passes: dict = field(repr=False, default_factory=dict)  # algorithm -> [Pass, ...] in execution order
    source_digest: str = ""  # source_digest() of the sources this module was built from
    # the non-temporal threshold set by set_nt_threshold / use_store_policy; None: never set, so
    # the module keeps its compiled default (SIZE_MAX: normal stores at every size)
    nt_threshold: int | None = None
    tile: str = ""  # its tile's name (catalog.TILES); set by build()
    default_tile: bool = True  # the ISA's default tile: the module every caller that names none gets

    def build_info(self) -> dict:
        """What a result file records about how this ISA's kernels were built."""
        return {
            "compiler": self.compiler.name,
            "compiler_path": self.compiler.path,
            "compiler_version": self.compiler.version,
            "flags": self.flags,
            "command": shlex.join(self.command),
        }


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compile_shared(compiler: Compiler, flags: list[str], sources: list[Path], libs: list[str], target: Path,
                   what: str) -> list[str]:
    """Compile `sources` into the shared library `target` (published by an atomic rename); returns
    the command. A failure is a BuildError that quotes the compiler's first error lines."""
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.so")
    command = [*shlex.split(compiler.command), *flags, "-o", str(tmp), *map(str, sources), *libs]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except OSError as exc:
        raise BuildError(f"could not run the C compiler {compiler.path}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"compiling {what} took over 300 s; check the compiler ({compiler.path})") from None
    if out.returncode != 0:
        tmp.unlink(missing_ok=True)
        errors = [ln.strip() for ln in out.stderr.splitlines() if "error" in ln]
        first = " | ".join(errors[:2]) if errors else " ".join(out.stderr.split())[:300]
        more = f" (and {len(errors) - 2} more errors)" if len(errors) > 2 else ""
        raise BuildError(f"compiling {what} failed with {compiler.name} ({compiler.version}): {first}{more}")
    if not tmp.is_file() or tmp.stat().st_size == 0:  # e.g. CC=/bin/true: "success", no output
        tmp.unlink(missing_ok=True)
        raise BuildError(f"the C compiler {compiler.command!r} exited 0 but wrote no module for {what}; "
                         "set CC to a working C compiler")  # fmt: skip
    os.replace(tmp, target)  # atomic: readers see the old module or the whole new one
    return command


def _compile(isa: str, tile: Tile, compiler: Compiler, flags: list[str], target: Path) -> list[str]:
    libs = ["-lm", *(HARNESS_LIBS if carries_harness(isa, tile) else ())]
    what = f"the {isa} kernels" if tile.default else f"the {isa} kernels of tile {tile.name}"
    return compile_shared(compiler, flags, sources_for(isa, tile), libs, target, what)


def build(isa: str, tile: Tile | str | None = None) -> BuiltModule:
    """The module of an ISA's tile (its default tile unless `tile` names one), compiled now if the
    cache has no module for these sources/compiler/flags (the flags hold the tile's shape)."""
    compiler = find_compiler()
    tile = _tile(isa, tile)
    flags = flags_for(isa, tile)
    digest = source_digest()
    key_parts = [BUILD_FORMAT, digest, compiler.path, compiler.version, compiler.command, flags,
                 _cdef(isa, carries_harness(isa, tile))]  # fmt: skip
    # The default tile keeps the cache's former name; another tile's name says which it is.
    stem = f"softbench-{isa}" if tile.default else f"softbench-{isa}-{tile.name}"
    target, command, compiled_now = cached_build(
        stem, key_parts, lambda target: _compile(isa, tile, compiler, flags, target), {"isa": isa, "tile": tile.name}
    )
    return BuiltModule(isa, target, compiler, flags, command, compiled_now, source_digest=digest,
                       tile=tile.name, default_tile=tile.default)  # fmt: skip


def cached_build(stem: str, key_parts: list, compile_to, meta: dict) -> tuple[Path, list[str], bool]:
    """The cache's one mechanism, for softbench's modules and users' kernels alike: the module
    `<stem>-<key>.so` (key: a digest of key_parts), built by compile_to(target) -> command when
    the cache lacks it, under a per-module lock, with a manifest (command, SHA-256) beside it.
    Returns (path, compile command, compiled now)."""
    compiler = find_compiler()
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:20]
    folder = cache_dir()
    _ensure_writable(folder)
    target = folder / f"{stem}-{key}.so"
    manifest = target.with_suffix(".json")

    import fcntl

    with open(folder / f".{target.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second run waits here, then finds the module built
        compiled_now = False
        if target.exists() and manifest.exists():
            try:
                meta = json.loads(manifest.read_text())
                command = meta["command"]
                expected = meta["sha256"]
                if not (isinstance(command, list) and all(isinstance(c, str) for c in command) and isinstance(expected, str)):
                    raise TypeError("manifest fields of the wrong type")
            except (OSError, ValueError, KeyError, TypeError):
                raise BuildError(
                    f"the cached kernel manifest {manifest} is damaged; delete {folder} and run again"
                ) from None
            if _file_sha256(target) != expected:
                raise BuildError(
                    f"the cached kernel module {target} is damaged (checksum mismatch); delete {folder} and run again"
                )
        else:
            # No module, or one whose build was interrupted before its manifest was written.
            command = compile_to(target)
            meta = {**meta, "command": command, "sha256": _file_sha256(target), "compiler": compiler.version}
            tmp_manifest = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
            tmp_manifest.write_text(json.dumps(meta, indent=1))
            os.replace(tmp_manifest, manifest)
            compiled_now = True
    return target, command, compiled_now


_loaded: dict[str, BuiltModule] = {}  # the default tiles' modules, by ISA
_loaded_tiles: dict[tuple[str, str], BuiltModule] = {}  # the other tiles' modules, by (ISA, tile)
_ffi = None


def shared_ffi():
    """One cffi FFI for every module: a function pointer or state struct from one ISA's module
    can then be passed to the harness in another (separate FFIs make their types distinct)."""
    global _ffi
    if _ffi is None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(CDEF_COMMON + CDEF_HARNESS + "".join(CDEF_TABLE.format(isa=i) for i in ISAS))
        _ffi = ffi
    return _ffi


def load(isa: str, tile: Tile | str | None = None) -> BuiltModule:
    """Build (if needed) and load the module of an ISA's tile (its default tile unless `tile`
    names another); kernels keyed by algorithm name.

    Loading does not check that the CPU runs the ISA: callers go through softbench.isa first.
    """
    tile = _tile(isa, tile)
    if tile.default:
        if isa in _loaded:
            return _loaded[isa]
    elif (isa, tile.name) in _loaded_tiles:
        return _loaded_tiles[(isa, tile.name)]
    module = build(isa, tile)
    ffi = shared_ffi()
    try:
        lib = ffi.dlopen(str(module.path))
        count = ffi.new("size_t *")
        table = getattr(lib, f"sb_kernel_table__{isa}")(count)
    except (OSError, AttributeError) as exc:
        raise BuildError(
            f"the cached kernel module {module.path} cannot be loaded ({exc}); delete {module.path.parent} and run again"
        ) from None
    _check_abi(ffi, getattr(lib, f"sb_abi_table__{isa}"), isa)
    if carries_harness(isa, tile):
        _check_abi(ffi, lib.sb_harness_abi_table, "harness")
    module.lib, module.ffi = lib, ffi
    for i in range(count[0]):
        alg, variant = ffi.string(table[i].algorithm).decode(), ffi.string(table[i].variant).decode()
        if variant:
            module.variants[(alg, variant)] = (table[i].kernel, table[i].twin)
        else:  # the size-selected entry: what softbench.softmax and `run` use by default
            module.kernels[alg], module.twins[alg] = table[i].kernel, table[i].twin
    streams = getattr(lib, f"sb_stream_table__{isa}")(count)
    module.streams = {
        ffi.string(streams[i].name).decode(): (streams[i].kernel, streams[i].read_bytes, streams[i].write_bytes)
        for i in range(count[0])
    }
    table = getattr(lib, f"sb_pass_table__{isa}")(count)
    for i in range(count[0]):
        e = table[i]
        name = ffi.string(getattr(e, "pass")).decode()  # `pass` is a Python keyword
        p = Pass(ffi.string(e.algorithm).decode(), name, e.fn, e.twin, e.read_x, e.read_y, e.write_y,
                 e.fn_nt, e.twin_nt, e.merge)
        module.passes.setdefault(p.algorithm, []).append(p)
    if tile.default:
        _loaded[isa] = module
    else:
        _loaded_tiles[(isa, tile.name)] = module
    return module


def _check_abi(ffi, table_fn, where: str) -> None:
    """Every size and field offset the module reports for the structs Python reads (sb_abi_entry
    rows: field "" is the struct's size) must be what cffi's declarations give, or loading stops:
    a drifted declaration would otherwise read fields at the wrong offsets, silently."""
    import cffi

    count = ffi.new("size_t *")
    table = table_fn(count)
    wrong = []
    for i in range(count[0]):
        struct, member, actual = ffi.string(table[i].type).decode(), ffi.string(table[i].field).decode(), int(table[i].value)
        try:
            declared = ffi.offsetof(struct, member) if member else ffi.sizeof(struct)
        except (KeyError, TypeError, cffi.FFIError, cffi.CDefError):
            declared = None  # the declaration lacks the struct or the field
        if declared != actual:
            what = f"offsetof({struct}, {member})" if member else f"sizeof({struct})"
            wrong.append(f"{what} is {actual} in C, {declared if declared is not None else 'undeclared'} in cffi")
    if wrong:
        raise BuildError(
            f"softbench's cffi declarations do not match the {where} module's structs ({'; '.join(wrong)}); "
            "this is a softbench bug: please report it"
        )


# The kernels' store policy. Loading a module decides nothing: the callers that run kernels for
# users (softbench.softmax, `run`, `profile`) call use_store_policy once per module.
NT_NEVER = (1 << 64) - 1  # SIZE_MAX: normal stores at every size


def nt_threshold_for(llc_bytes: int | None) -> int:
    """Input size (bytes) from which the size-selected kernels use non-temporal output stores,
    given the last-level cache size: the LLC itself (then input and output together are at least
    twice the cache, and a normal store's read-for-ownership only costs bandwidth); never, when the
    cache is unknown."""
    return int(llc_bytes) if llc_bytes else NT_NEVER


def nt_min_bytes() -> int:
    """nt_threshold_for this machine's last-level cache."""
    return nt_threshold_for(machine.last_level_cache_bytes(machine.collect_caches()))


def set_nt_threshold(module: BuiltModule, threshold: int) -> BuiltModule:
    """Sets the input size (bytes) from which the module's size-selected kernels store with
    non-temporal stores; returns the module."""
    setattr(module.lib, f"sb_nt_min_bytes__{module.isa}", threshold)
    module.nt_threshold = int(threshold)
    return module


set_nt_min_bytes = set_nt_threshold  # the former name


def use_store_policy(module: BuiltModule) -> BuiltModule:
    """The module with softbench's store policy for this machine (nt_min_bytes), set the first time
    only: a threshold already set (a test's, a caller's) is kept. Returns the module."""
    if module.nt_threshold is None:
        set_nt_threshold(module, nt_min_bytes())
    return module


def clear_cache() -> int:
    """Delete every cached module; returns how many files were removed."""
    folder = cache_dir()
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(("softbench-", ".softbench-")):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
