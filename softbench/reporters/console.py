"""Where human text and data go: a rich console (plain when not a TTY), and JSON on stdout."""

from __future__ import annotations

import json
import sys


def make_console(stderr: bool = False):
    from rich.console import Console

    console = Console(highlight=False, stderr=stderr)
    if not console.is_terminal:
        # piped or redirected: no colour (rich's default) and wide enough not to cut names
        console = Console(highlight=False, width=160, stderr=stderr)
    return console


def print_json(data) -> None:
    """Strict JSON (no NaN/Infinity) on stdout, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")
