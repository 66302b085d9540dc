"""Crossovers: the sizes at which one algorithm starts to beat another."""

from __future__ import annotations

from dataclasses import dataclass

from softbench.analysis.summaries import speedup_points, SpeedupPoint
from softbench.results.files import ResultFile


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


def crossovers(rf: ResultFile) -> list[Crossover]:
    groups: dict[tuple[str, str, str], list[SpeedupPoint]] = {}
    for s in speedup_points(rf):
        groups.setdefault((s.algorithm, s.baseline, s.isa), []).append(s)
    out = []
    for (alg, base, isa), pts in groups.items():
        pts.sort(key=lambda s: s.n)
        ns = [s.n for s in pts]
        wins = [s.speedup > 1.0 for s in pts]
        losing = [i for i, w in enumerate(wins) if not w]
        if not losing:
            c = Crossover(alg, base, isa, "always", ns[0], None, ns, ns)
        elif losing[-1] == len(pts) - 1:
            c = Crossover(alg, base, isa, "never", None, None, [n for n, w in zip(ns, wins) if w], ns)
        else:
            k = losing[-1]
            c = Crossover(alg, base, isa, "crosses", ns[k + 1], ns[k], [n for n, w in zip(ns, wins) if w], ns)
        out.append(c)
    return out
