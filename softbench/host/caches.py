"""The one reader of a cache list (machine.collect_caches(), or a result file's context["caches"]):
the data and unified caches by level, the last level's size, and the regime (L1, L2, L3,
transition, DRAM) a size falls in. "unknown" (the OS reports nothing) reads as no caches."""

from __future__ import annotations

from typing import Any


def _data_caches(caches: list[dict[str, Any]] | str | None) -> list[tuple[int | None, int]]:
    """(level or None, bytes) of each data or unified cache with a known size."""
    if not isinstance(caches, list):
        return []
    out = []
    for c in caches:
        if not isinstance(c, dict) or c.get("type") not in ("Data", "Unified"):
            continue
        size, level = c.get("size_bytes"), c.get("level")
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            out.append((level if isinstance(level, int) and not isinstance(level, bool) else None, size))
    return out


def cache_levels(caches: list[dict[str, Any]] | str | None) -> list[tuple[str, int]]:
    """[("L1", bytes), ("L2", bytes), ...] of the data/unified caches, smallest level first (the
    largest when a level is listed more than once)."""
    out: dict[int, int] = {}
    for level, size in _data_caches(caches):
        if level is not None:
            out[level] = max(out.get(level, 0), size)
    return [(f"L{lvl}", size) for lvl, size in sorted(out.items())]


def last_level_cache_bytes(caches: list[dict[str, Any]] | str | None) -> int | None:
    """Size of the largest data or unified cache, or None when no size is known."""
    sizes = [size for _, size in _data_caches(caches)]
    return max(sizes) if sizes else None


def l1d_bytes(caches: list[dict[str, Any]] | str | None) -> int | None:
    """The L1 data cache's size, or None when the OS does not report it."""
    return dict(cache_levels(caches)).get("L1")


def regime(n: int, levels: list[tuple[str, int]]) -> str:
    """The regime of a point by its working set (input + output bytes). DRAM only when the input
    alone is >= 4x the last-level cache (the STREAM rule); between the LLC and that: "transition"."""
    if not levels:
        return "unknown"
    working_set, input_bytes = 8 * n, 4 * n
    llc = levels[-1][1]
    if input_bytes >= 4 * llc:
        return "DRAM"
    for name, size in levels:
        if working_set <= size:
            return name
    return "transition"
