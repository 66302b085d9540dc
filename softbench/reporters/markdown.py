"""Markdown output: tables as GitHub-flavoured Markdown, and `compare` results as a document."""

from __future__ import annotations

from typing import Sequence

from softbench.analysis import cross_machine, machines, same_machine
from softbench.reporters.tables import cross_machine_tables, points_table, same_machine_tables, Table
from softbench.results.schema import ResultFile


def escape(text: str) -> str:
    """Cell text safe inside a Markdown table (pipes, newlines) and not read as markup."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def table(t: Table, heading_level: int | None = None) -> str:
    """`t` as a Markdown table; its title as a heading (or bold line) and its notes below."""
    lines = []
    if t.title:
        lines.append(("#" * heading_level + " " + escape(t.title)) if heading_level else f"**{escape(t.title)}**")
        lines.append("")
    lines.append("| " + " | ".join(escape(h) for h in t.headers) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in t.align) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(escape(c) for c in row) + " |")
    if not t.rows:
        lines.append("| " + " | ".join(["(none)"] + [""] * (len(t.headers) - 1)) + " |")
    for note in t.notes:
        lines.append("")
        lines.append(f"_{escape(note)}_")
    return "\n".join(lines) + "\n"


def bullet_list(items: Sequence[str]) -> str:
    return "".join(f"- {escape(i)}\n" for i in items)


def compare_markdown(result: same_machine.SameMachineComparison | cross_machine.CrossMachineComparison, extra_notes: Sequence[str] = (),
                     changed_only: bool = False) -> str:
    """The whole comparison as one Markdown document (no timestamps: the same files give the same text)."""
    parts = []
    if result.kind == "same-machine":
        parts.append(f"## softbench compare: same machine ({escape(result.machine)})\n")
        parts.append(bullet_list([f"{label}: {path}" for label, path in zip(result.files, result.paths)]))
        tables = same_machine_tables(result, changed_only=changed_only)
    else:
        parts.append("## softbench compare: across machines\n")
        parts.append(bullet_list([f"{label}: {m} ({path})" for label, m, path in zip(result.files, result.machines, result.paths)]))
        tables = cross_machine_tables(result)
    for t in tables:
        parts.append(table(t, heading_level=3))
    notes = [*result.notes, *extra_notes]
    if notes:
        parts.append("### notes\n")
        parts.append(bullet_list(notes))
    return "\n".join(parts)


def files_markdown(files: Sequence[ResultFile], context: bool = False) -> str:
    """`softbench export --format markdown`: per file its notes and the table of every point."""
    labels = machines.file_labels(files)
    parts = []
    for f, label in zip(files, labels):
        parts.append(f"## {escape(label)}: {escape(machines.machine_name(f.context))}\n")
        notes = machines.file_notes(f, label)
        if notes:
            parts.append(bullet_list(notes))
        parts.append(table(points_table(f)))
    return "\n".join(parts)
