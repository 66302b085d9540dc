"""Tables that stay readable in a narrow terminal: shorter headers first, then columns left out
by rank (Table.keep), never a cell cut to "…". The caller says what was left out."""

from __future__ import annotations

from softbench.reporters.tables import Table

PADDING = 2  # rich pads each cell by one space on either side


def natural_width(headers: list[str], rows: list[list[str]], borders: bool = False) -> int:
    """Columns wide enough for their longest header or cell, with padding and the box's edges
    and separators (one character each, drawn as | or as a space)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return sum(w + PADDING for w in widths) + len(headers) + 1


def fit_columns(t: Table, width: int, borders: bool = False) -> tuple[Table, list[str]]:
    """`t` narrowed to `width` columns where it can be: its short headers when the full ones do
    not fit, then its lowest-ranked columns left out until it fits (or one column is left).
    Returns the table and the (full) names of the columns left out."""
    if natural_width(t.headers, t.rows, borders) <= width:
        return t, []
    headers = list(t.short_headers or t.headers)
    keep = list(t.keep) if t.keep else None
    cols = list(range(len(headers)))
    dropped: list[int] = []

    def width_of(c: list[int]) -> int:
        return natural_width([headers[i] for i in c], [[r[i] for i in c] for r in t.rows], borders)

    while keep and width_of(cols) > width:
        top = max(keep[i] for i in cols)
        candidates = [i for i in cols if keep[i] < top]  # the top-ranked columns always stay
        if not candidates:
            break
        lowest = min(candidates, key=lambda i: (keep[i], -i))
        cols.remove(lowest)
        dropped.append(lowest)
    narrowed = Table(
        title=t.title, headers=[headers[i] for i in cols], rows=[[r[i] for i in cols] for r in t.rows],
        align=[t.align[i] for i in cols], notes=list(t.notes),
    )  # fmt: skip
    return narrowed, [t.headers[i] for i in sorted(dropped)]
