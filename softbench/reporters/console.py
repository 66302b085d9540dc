"""Where human text and data go: a rich console (plain when not a TTY), and JSON on stdout."""

from __future__ import annotations

import json
import sys


_level = 0  # -1: --quiet, 0: normal, 1: --verbose (set once per command line by the CLI)


def set_verbosity(quiet: bool = False, verbose: bool = False) -> None:
    global _level
    _level = -1 if quiet else 1 if verbose else 0


def is_quiet() -> bool:
    """--quiet: data, warnings and errors only; no progress, plans, notes or confirmations."""
    return _level < 0


def is_verbose() -> bool:
    return _level > 0


def say(text: str) -> None:
    """With --verbose, one line on stderr about what softbench is doing (files read, decisions)."""
    if _level > 0:
        sys.stderr.write(f"softbench: {text}\n")


def make_console(stderr: bool = False):
    from rich.console import Console

    # stderr carries progress and plans: --quiet silences it (errors are written directly)
    quiet = stderr and is_quiet()
    console = Console(highlight=False, stderr=stderr, quiet=quiet)
    if not console.is_terminal:
        # piped or redirected: no colour (rich's default) and wide enough not to cut names
        console = Console(highlight=False, width=160, stderr=stderr, quiet=quiet)
    return console


def print_json(data) -> None:
    """Strict JSON (no NaN/Infinity) on stdout, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")
