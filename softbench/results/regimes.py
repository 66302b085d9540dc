"""The machine's caches as a result file's context records them, and the regimes (L1, L2, L3,
transition, DRAM) they bound."""

from __future__ import annotations

from typing import Any

from softbench.host.caches import cache_levels


def cache_sizes(ctx: dict[str, Any]) -> dict[str, int]:
    """{"L1": bytes, "L2": ..., "L3": ...} for the data/unified caches the context knows."""
    return dict(cache_levels(ctx.get("caches")))


def regime_bounds(ctx: dict[str, Any]) -> list[tuple[str, float]]:
    """N (float32 elements) at each regime boundary, for plots: a cache level ends where the
    working set (input + output, 8 bytes per element) fills it; DRAM starts where the input alone
    (4 bytes per element) reaches 4x the last-level cache."""
    sizes = cache_sizes(ctx)
    out = [(f"{lvl}{'d' if lvl == 'L1' else ''} {bytes_text(size)}", size / 8.0) for lvl, size in sizes.items()]
    if sizes:
        llc = sizes[max(sizes)]
        out.append(("DRAM (input >= 4x LLC)", float(llc)))
    return out


def bytes_text(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} B"
