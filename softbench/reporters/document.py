"""The report as a list of blocks (headings, paragraphs, lists, tables, images), and its two
renderings: Markdown and HTML."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from softbench.reporters import markdown as md, tables as tb


@dataclass
class _Image:
    png: str  # relative to the output folder
    svg: str
    alt: str


@dataclass
class _Details:
    summary: str
    blocks: list[Any]


@dataclass
class _Para:
    text: str
    emphasis: bool = False


@dataclass
class _Heading:
    level: int
    text: str


@dataclass
class _List:
    items: list[str]


def _to_markdown(blocks: list[Any]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append("#" * b.level + " " + md.escape(b.text) + "\n")
        elif isinstance(b, _Para):
            text = md.escape(b.text)
            out.append((f"> **{text}**" if b.emphasis else text) + "\n")
        elif isinstance(b, _List):
            out.append(md.bullet_list(b.items))
        elif isinstance(b, tb.Table):
            out.append(md.table(b))
        elif isinstance(b, _Image):
            out.append(f"![{md.escape(b.alt)}]({b.png})\n\n[SVG]({b.svg})\n")
        elif isinstance(b, _Details):
            inner = _to_markdown(b.blocks)
            out.append(f"<details><summary>{html.escape(b.summary)}</summary>\n\n{inner}\n</details>\n")
        else:  # pragma: no cover
            raise TypeError(b)
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}th,td{border:1px solid #ccc;padding:.2em .5em}
th{background:#f2f2f2}td.r{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;height:auto}
.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.5em 1em}caption{text-align:left;font-weight:bold;padding:.3em 0}
.note{font-style:italic;color:#555}"""


def _html_table(t: tb.Table) -> str:
    e = html.escape
    rows = ["<table>"]
    if t.title:
        rows.append(f"<caption>{e(t.title)}</caption>")
    rows.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in t.headers) + "</tr>")
    for row in t.rows:
        rows.append("<tr>" + "".join(f'<td class="{a}">{e(c)}</td>' for c, a in zip(row, t.align)) + "</tr>")
    rows.append("</table>")
    rows += [f'<p class="note">{e(n)}</p>' for n in t.notes]
    return "\n".join(rows)


def _to_html(blocks: list[Any], title: str) -> str:
    e = html.escape
    body = []
    for b in blocks:
        if isinstance(b, _Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, _Para):
            body.append(f'<p class="warn"><strong>{e(b.text)}</strong></p>' if b.emphasis else f"<p>{e(b.text)}</p>")
        elif isinstance(b, _List):
            body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, tb.Table):
            body.append(_html_table(b))
        elif isinstance(b, _Image):
            body.append(f'<p><img src="{e(b.svg)}" alt="{e(b.alt)}"> <a href="{e(b.png)}">PNG</a></p>')
        elif isinstance(b, _Details):
            body.append(f"<details><summary>{e(b.summary)}</summary>\n{_to_html_body(b.blocks)}\n</details>")
        else:  # pragma: no cover
            raise TypeError(b)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _to_html_body(blocks: list[Any]) -> str:
    page = _to_html(blocks, "")
    return page[page.index("<body>\n") + 7 : page.index("\n</body>")]


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower()
    return s or "file"
