"""`softbench compare` on the terminal (rich tables; plain ASCII when not a TTY)."""

from __future__ import annotations

from typing import Sequence

from softbench.analysis import cross_machine, same_machine
from softbench.reporters.console import is_quiet
from softbench.reporters.fit import fit_columns
from softbench.reporters.tables import cross_machine_tables, same_machine_tables, Table

_VERDICT_STYLE = {"slower": "red", "faster": "green", "untested": "yellow"}


def _rich_table(console, t: Table):
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    rt = RichTable(title=t.title, box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, title_justify="left")
    for h, a in zip(t.headers, t.align):
        # fold, never "…": a long name wraps inside its cell rather than losing its end
        rt.add_column(h, justify="right" if a == "r" else "left", overflow="fold")
    for row in t.rows:
        rt.add_row(*(Text(c, style=_VERDICT_STYLE.get(c, "")) for c in row))
    return rt


def print_table(console, t: Table) -> None:
    fitted, dropped = fit_columns(t, console.width, borders=not console.is_terminal)
    console.print(_rich_table(console, fitted))
    if dropped:
        console.print(f"(left out at {console.width} columns: {', '.join(dropped)}; widen the terminal, or use --markdown or --json)", markup=False)
    for note in fitted.notes if not is_quiet() else ():
        console.print(note, markup=False)


def print_compare(console, result: same_machine.SameMachineComparison | cross_machine.CrossMachineComparison, extra_notes: Sequence[str] = (),
                  changed_only: bool = False) -> None:
    if result.kind == "same-machine":
        console.print(f"same machine: {result.machine}", markup=False)
        console.print(f"baseline: {result.files[0]} ({result.paths[0]})", markup=False)
        tables = same_machine_tables(result, changed_only=changed_only)
    else:
        console.print("across machines:", markup=False)
        for label, m in zip(result.files, result.machines):
            console.print(f"  {label}: {m}", markup=False)
        tables = cross_machine_tables(result)
    for t in tables:
        print_table(console, t)
    if is_quiet():
        return
    for note in [*result.notes, *extra_notes]:
        console.print(f"note: {note}", markup=False)
