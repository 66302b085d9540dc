"""Writing a result file (the layout is in softbench.results.files): created atomically under a
name no other run holds, rewritten in place as records arrive, so that a stopped run leaves a
valid file."""

from __future__ import annotations

import fcntl
import glob
import json
import math
import os
import re
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from softbench.errors import InputError, ResultFileError
from softbench.results.reader import load
from softbench.results.schema import Record, record_from_dict, SCHEMA_VERSION, TOOL


def json_ready(v: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, tuples to lists, non-finite floats to None.

    Strict JSON has no NaN/Infinity, and other tools (jq, browsers) reject them.
    """
    if isinstance(v, dict):
        return {str(k): json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    if isinstance(v, np.ndarray):
        return [json_ready(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


class ResultWriter:
    """Writes a result file incrementally so that a stopped run leaves a valid file.

    The file exists (valid, empty, complete=false) as soon as the writer is created; every
    `add`, `warn` and `fail` rewrites it atomically (temp file in the same folder, fsync,
    os.replace), so Ctrl-C or a crash at any moment leaves either the previous or the new
    version, never a torn one. Rewriting the whole file each time is fine: a run has at most a few
    hundred records, a few hundred KB. `close()` marks it complete=true. As a context manager,
    an exception leaves complete=false (with a warning saying why) and keeps every record.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        context: Mapping[str, Any],
        *,
        overwrite: bool = False,
        free_name: bool = False,
    ) -> None:
        """Create the file. Without `overwrite`, a file already there is never replaced, even by a
        run started at the same moment: the first version is linked into place, which fails when
        the name is taken (an "exists" check before writing would race). With `free_name`, a taken
        name becomes name-2.json, name-3.json, ... (default names); without, it is an InputError."""
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; give a file name for the result (e.g. {self.path / 'run.json'})")
        self.context = json_ready(dict(context))
        self.results: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.failures: list[dict[str, Any]] = []
        self.bandwidth: list[dict[str, Any]] = []
        self.in_progress: str | None = None
        self._encoded: dict[int, str] = {}
        self.profiles: list[dict[str, Any]] = []
        self.complete = False
        self._closed = False
        self.saved_records = 0  # records in the version on disk
        self.stop_noted = False  # note_stop_in_place() wrote its note
        self._lock: tuple[Path, int] | None = None  # reopen's lock on resuming the file
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{self.path}: cannot create the folder for it ({e.strerror}); choose another output path") from e
        _remove_stale_temps(self.path)
        try:
            if overwrite:
                self._write()
            else:
                self._create(free_name)
        except OSError as e:
            raise InputError(
                f"{self.path}: cannot write the result file in {self.path.parent} ({e.strerror}); "
                "choose a writable folder with --output"
            ) from None

    @classmethod
    def reopen(cls, path: str | os.PathLike) -> ResultWriter:
        """A writer that carries on an existing (stopped) file: its records, bandwidth points,
        warnings and failures are kept as they are, and it is marked incomplete until closed."""
        p = Path(path)
        load(p)  # every problem with the file is a one-line error before anything is changed
        lock = _lock_for_resume(p)
        doc = json.loads(p.read_text(encoding="utf-8"))
        self = cls.__new__(cls)
        self._lock = lock
        self.path = p
        self.context = doc["context"]
        self.results = list(doc.get("results", []))
        self.warnings = [str(w) for w in doc.get("warnings", [])]
        self.failures = [f for f in doc.get("failures", []) if isinstance(f, dict)]
        self.bandwidth = [b for b in doc.get("bandwidth", []) if isinstance(b, dict)]
        self.profiles = [x for x in doc.get("profiles", []) if isinstance(x, dict)]
        self.in_progress = None
        self._encoded = {}
        self.complete = False
        self._closed = False
        self.saved_records = len(self.results)
        self.stop_noted = False
        _remove_stale_temps(p)
        try:
            self._write()
        except OSError as e:
            self._unlock()
            raise InputError(f"{p}: cannot rewrite it ({e.strerror}); check the folder's permissions") from None
        return self

    def _unlock(self) -> None:
        """Let another process resume the file (reopen's lock), once this writer is done with it."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock_path, fd = lock
            try:
                lock_path.unlink()  # while still held: a process that opened it first re-checks
            except OSError:
                pass
            os.close(fd)

    def add(self, record: Record | Mapping[str, Any]) -> None:
        """Append one finished point and rewrite the file."""
        self.extend([record])

    def extend(self, records=(), bandwidth=()) -> None:
        """Append the records (and STREAM points) of one size with a single rewrite of the file:
        the file is rewritten whole, so one write per size rather than one per record."""
        for record in records:
            d = json_ready(record.to_dict() if isinstance(record, Record) else dict(record))
            try:
                # Validate exactly what readers will validate, so we never write a file we cannot read.
                record_from_dict(d, self.path, len(self.results))
            except ResultFileError as e:
                raise ValueError(f"refusing to write an invalid record: {e}") from None
            self.results.append(d)
        self.bandwidth.extend(json_ready(dict(b)) for b in bandwidth)
        self._write()

    def warn(self, text: str) -> None:
        """Record something that made the run less reliable (one line)."""
        self.warnings.append(" ".join(str(text).split()))
        self._write()

    def fail(self, kernel: str, message: str, **details: Any) -> None:
        """Record a kernel that failed (wrong output, crash); it gets no throughput figure."""
        self.failures.append(json_ready({"kernel": kernel, "message": message, **details}))
        self._write()

    def add_bandwidth(self, point: Mapping[str, Any]) -> None:
        """Append one STREAM-style measurement and rewrite the file."""
        self.bandwidth.append(json_ready(dict(point)))
        self._write()

    def add_profile(self, profile: Mapping[str, Any]) -> None:
        """Append one `softbench profile` result (written under "profiles") and rewrite the file."""
        self.profiles.append(json_ready(dict(profile)))
        self._write()

    def set_in_progress(self, what: str | None) -> None:
        """Say (on disk) what is being measured now, so a crash inside a kernel names it.

        Not fsynced: a crashing process still leaves the renamed file for the OS to write, and a
        marker rewritten before every kernel is not worth a disk flush each time (~10 ms here)."""
        self.in_progress = what
        self._write(durable=False)

    def close(self) -> None:
        """Mark the run complete."""
        if not self._closed:
            self.in_progress = None
            self.complete = True
            self._closed = True
            try:
                self._write()
            except OSError as e:
                self.complete = False
                self.note_stop_in_place(f"run {_why_stopped(type(e), e)}; results are incomplete")
                raise
            finally:
                self._unlock()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        if self._closed:
            return
        self._closed = True
        why = _why_stopped(exc_type, exc)
        try:
            self._exit_stopped(why)
        finally:
            self._unlock()

    def _exit_stopped(self, why: str) -> None:
        try:
            self.warn(f"run {why}; results are incomplete")
            self.stop_noted = True
        except OSError:
            self.note_stop_in_place(f"run {why}; results are incomplete")

    def document(self) -> dict[str, Any]:
        """The JSON document as it is on disk now."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": TOOL,
            "context": self.context,
            "results": self.results,
            "warnings": self.warnings,
            "complete": self.complete,
            "failures": self.failures,
            **({"bandwidth": self.bandwidth} if self.bandwidth else {}),
            **({"in_progress": self.in_progress} if self.in_progress else {}),
            **({"profiles": self.profiles} if self.profiles else {}),
        }

    def _text(self) -> str:
        """The document as JSON, one record (or point) per line. Items are encoded once with the C
        encoder and reused: json's indent= falls back to the pure-Python encoder, which took ~10 ms
        per rewrite of a paper-suite file, and the file is rewritten before every kernel."""
        parts = []
        for key, value in self.document().items():
            if isinstance(value, list) and value:
                items = ",\n  ".join(self._encode(v) for v in value)
                parts.append(f" {json.dumps(key)}: [\n  {items}\n ]")
            else:
                parts.append(f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
        return "{\n" + ",\n".join(parts) + "\n}\n"

    def _encode(self, item: Any) -> str:
        # list items are never changed once appended, so their text is kept (keyed by identity;
        # the lists keep the items alive)
        key = id(item)
        text = self._encoded.get(key)
        if text is None:
            text = self._encoded[key] = json.dumps(item, allow_nan=False)
        return text

    def note_stop_in_place(self, text: str) -> bool:
        """Last resort on a full disk: add `text` to the warnings of the version on disk by
        rewriting the file where it is, only when that needs no new disk block (the file's
        allocated size covers it). Records not yet on disk stay out: the note describes the file
        as it is. Returns whether the note was written."""
        line = " ".join(str(text).split())
        try:
            on_disk = json.loads(self.path.read_text(encoding="utf-8"))
            st = os.stat(self.path)
        except (OSError, ValueError):
            return False
        on_disk["warnings"] = [*on_disk.get("warnings", []), line]
        on_disk["complete"] = False
        on_disk.pop("in_progress", None)
        data = (json.dumps(on_disk, allow_nan=False) + "\n").encode("utf-8")
        allocated = getattr(st, "st_blocks", 0) * 512
        if len(data) > allocated:
            return False
        try:
            fd = os.open(self.path, os.O_WRONLY)
            try:
                done = 0
                while done < len(data):  # into blocks the file already has
                    done += os.write(fd, data[done:])
                os.ftruncate(fd, len(data))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            return False
        self.warnings.append(line)
        self.saved_records = len(on_disk.get("results", []))
        self.stop_noted = True
        return True

    def _create(self, free_name: bool) -> None:
        """The first version, put in place only where no file of that name exists."""
        tmp = self._temp_file(self._text())
        try:
            while True:
                try:
                    os.link(tmp, self.path)
                    break
                except FileExistsError:
                    if not free_name:
                        raise InputError(f"{self.path}: a file of that name already exists; choose another output "
                                         "path, replace it with --force, or carry on a stopped run with --resume") from None  # fmt: skip
                    self.path = _next_free_name(self.path)
                except OSError:  # no hard links here (some network or FAT file systems)
                    try:
                        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                    except FileExistsError:
                        if not free_name:
                            raise InputError(f"{self.path}: a file of that name already exists; choose another "
                                             "output path, or replace it with --force") from None  # fmt: skip
                        self.path = _next_free_name(self.path)
                        continue
                    os.replace(tmp, self.path)
                    break
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._sync_folder()

    def _temp_file(self, text: str, durable: bool = True) -> str:
        """A fully written temporary file beside the result (named after this process, so that
        one left by a killed run can be told apart and removed)."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.{os.getpid()}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a result file is for sharing
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
        except BaseException:  # including KeyboardInterrupt: never leave temp files behind
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return tmp

    def _write(self, durable: bool = True) -> None:
        count = len(self.results)
        tmp = self._temp_file(self._text(), durable)
        try:
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self.saved_records = count
        if durable:
            self._sync_folder()

    def _sync_folder(self) -> None:
        try:  # make the rename itself durable; not possible everywhere (e.g. Windows)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass


_STALE_TEMP_S = 60  # a writer's temporary file lives for one write, milliseconds


def _lock_for_resume(path: Path) -> tuple[Path, int]:
    """An exclusive lock on resuming `path`, held by this process until the writer is done: two
    `--resume` runs of one file would each rewrite it from their own copy, and one would lose the
    other's points. The lock is a file beside it (the result file itself is replaced on every
    write, so a lock on it would not outlive the first one); flock goes when the process does."""
    lock_path = path.parent / f".{path.name}.lock"
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError as e:
            raise InputError(f"{path}: cannot lock it for --resume ({e.strerror}); check the folder's permissions") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError(f"{path}: another softbench process is resuming it now; wait for that run to "
                             "finish, then resume again if points are still missing") from None  # fmt: skip
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if same:  # else the holder removed it between our open and flock: take the new one
            return lock_path, fd
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files a killed writer left beside `path`: those of a process that no
    longer runs here, or any older than a write can take. A few seconds' grace keeps a writer on
    another host sharing the folder (whose process number means nothing here) from losing its
    temporary file mid-write."""
    now = time.time()
    try:
        found = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return
    for tmp in found:
        pid = tmp.name[len(path.name) + 2 :].split(".")[0]
        try:
            age = now - tmp.stat().st_mtime
            if age > _STALE_TEMP_S or (age > 5 and pid.isdigit() and not _alive(int(pid))):
                tmp.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _next_free_name(path: Path) -> Path:
    """name.json -> name-2.json -> name-3.json ..."""
    m = re.fullmatch(r"(.*)-([0-9]+)", path.stem)
    stem, k = (m.group(1), int(m.group(2)) + 1) if m else (path.stem, 2)
    return path.with_name(f"{stem}-{k}{path.suffix}")


def _why_stopped(exc_type: type, exc: BaseException) -> str:
    if issubclass(exc_type, KeyboardInterrupt):
        signame = getattr(exc, "signal_name", None)
        return f"stopped by {signame}" if signame else "interrupted (Ctrl-C)"
    if issubclass(exc_type, OSError) and getattr(exc, "strerror", None):
        return f"stopped: cannot write the result file ({exc.strerror})"
    return f"stopped by an error: {exc_type.__name__}: {exc}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_result_path(directory: str | os.PathLike, context: Mapping[str, Any]) -> Path:
    """`<directory>/softbench-<hostname>-<YYYYmmdd-HHMMSS>.json`, never an existing file.

    The time is context["created"] (UTC ISO 8601) when present, else now, in UTC, so that the
    name and the file's own timestamp agree.
    """
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(context.get("hostname") or "unknown-host"))
    host = host.strip("-.") or "unknown-host"
    when = None
    created = context.get("created")
    if isinstance(created, str):
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            when = None
    if when is None:
        when = datetime.now(timezone.utc)
    elif when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    stem = f"softbench-{host}-{when:%Y%m%d-%H%M%S}"
    d = Path(directory)
    candidate = d / f"{stem}.json"
    k = 2
    while candidate.exists():  # two runs within one second must not overwrite each other
        candidate = d / f"{stem}-{k}.json"
        k += 1
    return candidate
