"""What every softbench command shares on the command line: the exit codes, the one list syntax,
help text that rich cannot swallow, and a quiet exit on a closed pipe.

"""

from __future__ import annotations

import inspect
import signal
from typing import Iterable

import typer
import typer.models

__all__ = ["EXIT_CODES", "exit_codes_text", "split_list", "escape_help", "quiet_broken_pipe", "choices"]

# The one table of exit codes: --help's epilog and the README's section come from these words.
EXIT_CODES = {
    0: "success",
    1: "a regression (compare --fail-above) or a kernel that failed verify",
    2: "bad usage or input: an unknown option or name, an unreadable or damaged file",
    3: "run measured, but some kernels failed (they are recorded in the result file)",
    130: "interrupted (Ctrl-C); a run's result file keeps every finished point",
    141: "the output pipe was closed (e.g. | head): stopped quietly, as other Unix tools do",
}


def exit_codes_text() -> str:
    return "Exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items()) + "."


def split_list(values: Iterable[str] | str | None) -> list[str]:
    """The one list syntax: an option given several times, each value comma-separated or not
    (-a two-pass,online -a three-pass-reload); blanks dropped, order kept."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [v.strip() for item in values for v in str(item).split(",") if v.strip()]


def choices(names: Iterable[str]) -> str:
    return ", ".join(names)


def _escape(text: str | None) -> str | None:
    from rich.markup import escape

    return escape(text) if text else text


def escape_help(app: typer.Typer) -> None:
    """Escape rich markup in every help text of `app`'s commands and root options, so that
    `pip install 'softbench[baselines]'` shows its brackets: typer renders help through rich,
    which reads [word] as a style tag and drops it."""
    infos = list(app.registered_commands)
    callbacks = [c.callback for c in infos]
    if app.registered_callback is not None:
        callbacks.append(app.registered_callback.callback)
    for info in infos:
        if info.help is not None:
            info.help = _escape(info.help)
        elif info.callback is not None and info.callback.__doc__:
            doc = info.callback.__doc__
            if info.short_help is None:  # the command list: the first paragraph as one line, rewrapped
                info.short_help = _escape(" ".join(inspect.getdoc(info.callback).split("\n\n")[0].split()))
            info.callback.__doc__ = _escape(doc)
    for cb in callbacks:
        if cb is None:
            continue
        for param in inspect.signature(cb).parameters.values():
            default = param.default
            if isinstance(default, typer.models.ParameterInfo) and not getattr(default, "_softbench_escaped", False):
                default.help = _escape(default.help)
                default._softbench_escaped = True  # the same OptionInfo object may be shared


def quiet_broken_pipe() -> None:
    """Let a closed stdout (`softbench compare a b | head`) end softbench the way it ends cat or
    grep: by SIGPIPE, silently (the shell reports 141). Python's default turns it into an
    exception, which typer reports as exit 1: the code of a regression."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
