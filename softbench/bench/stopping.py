"""How a run stops early: Ctrl-C, SIGTERM and SIGHUP (a CI job's timeout, a closed terminal) alike,
and a result file that can no longer be written (a full disk). Each leaves the file valid, with a
note saying why it stopped, and one line saying how many points were kept and how to finish."""

from __future__ import annotations

import signal
import threading

# SIGTERM: `timeout`, CI runners and `kill`; SIGHUP: the terminal went away.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop signal, raised in the main thread like Ctrl-C's KeyboardInterrupt so that the same
    clean-up runs; it says which signal it was."""

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum  # the shell's convention for "killed by signal N"
        super().__init__(self.signal_name)


class StopSignals:
    """While active, SIGTERM and SIGHUP raise Stopped in the main thread (once: a second signal
    while the file is being closed is ignored, so the closing note is not cut short)."""

    def __init__(self) -> None:
        self._old: dict[int, object] = {}
        self._fired = False

    def _handler(self, signum, frame) -> None:
        if not self._fired:
            self._fired = True
            raise Stopped(signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def stop_message(exc: BaseException, writer) -> str:
    """One line: why the run stopped, how many points the file keeps, and what to do next."""
    path = writer.path
    kept = writer.saved_records
    finish = f"finish it with: softbench run --resume {path}"
    if isinstance(exc, KeyboardInterrupt):
        why = f"stopped by {exc.signal_name}" if isinstance(exc, Stopped) else "interrupted"
        return f"{why}: {kept} points saved in {path} (marked incomplete); {finish}"
    reason = getattr(exc, "strerror", None) or str(exc)
    marked = "marked stopped" if writer.stop_noted else "not marked stopped: no room even for that note"
    return (f"cannot write {path} any more ({reason}): the file keeps the {kept} points measured before ({marked}); "
            f"free space, then {finish}")  # fmt: skip
