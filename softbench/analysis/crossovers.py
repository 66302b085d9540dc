"""Crossovers: the sizes at which one algorithm starts to beat another."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

from softbench.analysis.summaries import speedup_points, SpeedupPoint
from softbench.results.naming import ALGORITHM_ORDER, order_key
from softbench.results.schema import ResultFile


@dataclass
class Crossover:
    """Where `algorithm` starts to beat `baseline` for good, on one file and ISA.

    status: "crosses" (slower below `n`, faster at `n` and every larger N measured; `n_below` is
    the last N where it lost), "always" (faster at every N measured), "never" (slower at the
    largest N measured; it may win somewhere in between, see `wins_at`).
    """

    algorithm: str
    baseline: str
    isa: str
    status: str
    n: int | None
    n_below: int | None
    wins_at: list[int]
    n_measured: list[int]


def crossover_of(algorithm: str, baseline: str, isa: str, ns: Sequence[int], wins: Sequence[bool]) -> Crossover:
    """The one rule: where `algorithm` wins (wins[i]: faster at ns[i], ns ascending) for good."""
    ns, wins = list(ns), list(wins)
    losing = [i for i, w in enumerate(wins) if not w]
    won_at = [n for n, w in zip(ns, wins) if w]
    if not losing:
        return Crossover(algorithm, baseline, isa, "always", ns[0], None, won_at, ns)
    if losing[-1] == len(ns) - 1:
        return Crossover(algorithm, baseline, isa, "never", None, None, won_at, ns)
    k = losing[-1]
    return Crossover(algorithm, baseline, isa, "crosses", ns[k + 1], ns[k], won_at, ns)


def crossovers(rf: ResultFile) -> list[Crossover]:
    """Each fast algorithm (two-pass, online) over each Three-Pass, per ISA of one file."""
    groups: dict[tuple[str, str, str], list[SpeedupPoint]] = {}
    for s in speedup_points(rf):
        groups.setdefault((s.algorithm, s.baseline, s.isa), []).append(s)
    out = []
    for (alg, base, isa), pts in groups.items():
        pts.sort(key=lambda s: s.n)
        out.append(crossover_of(alg, base, isa, [s.n for s in pts], [s.speedup > 1.0 for s in pts]))
    return out


def _get(r: Any, key: str, default: Any = None) -> Any:
    return r.get(key, default) if isinstance(r, Mapping) else getattr(r, key, default)


def medians_by_isa(records: Iterable[Any]) -> dict[str, dict[int, dict[str, float]]]:
    """isa -> n -> algorithm -> ns/element (single rows, single-threaded, default variant and tile only)."""
    out: dict[str, dict[int, dict[str, float]]] = {}
    for r in records:
        if _get(r, "threads", 1) != 1 or _get(r, "variant") or _get(r, "tile") or (_get(r, "shape") or [1])[0] != 1:
            continue
        ns = _get(r, "ns_per_element")
        if not isinstance(ns, (int, float)) or not math.isfinite(ns) or ns <= 0:
            continue
        out.setdefault(_get(r, "isa"), {}).setdefault(int(_get(r, "n")), {})[_get(r, "algorithm")] = float(ns)
    return out


def pair_crossovers(records: Iterable[Any]) -> list[Crossover]:
    """A Crossover for every ISA and every pair of algorithms measured at common sizes (records
    or their dicts), each pair oriented so that `algorithm` is the faster at the largest N."""
    out = []
    table = medians_by_isa(records)
    for isa_name in sorted(table):
        by_n = table[isa_name]
        algs = sorted({a for row in by_n.values() for a in row}, key=lambda a: order_key(a, ALGORITHM_ORDER))
        for a, b in combinations(algs, 2):
            ns = sorted(n for n, row in by_n.items() if a in row and b in row)
            if not ns:
                continue
            last = by_n[ns[-1]]
            fast, slow = (b, a) if last[b] < last[a] else (a, b)  # a tie keeps the display order
            out.append(crossover_of(fast, slow, isa_name, ns, [by_n[n][fast] < by_n[n][slow] for n in ns]))
    return out


def crossover_dicts(items: Iterable[Crossover]) -> list[dict[str, Any]]:
    return [asdict(c) for c in items]
