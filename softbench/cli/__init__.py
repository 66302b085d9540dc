"""The command line: one module per command group (app: info, list, verify, run, cache; analysis:
compare, report; profile: profile, tune), each thin: parse options, call one function, pick a
reporter."""

from softbench.cli.app import app, main

__all__ = ["app", "main"]
