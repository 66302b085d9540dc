"""`softbench compare --fail-above`: the CI gate, as data first (printing is the CLI's).

A gate passes only when it could check what it was asked to check. It fails on a regression (a
point slower than the baseline beyond its regime's threshold, significantly after correcting for
the number of points), and also on every way a candidate can hold less than it should: a kernel
that failed, a run that did not finish, no points, no point in common with the baseline, points of
the baseline missing, points with too few samples to test. Each of those can be let through by
naming it in `allow`, except comparing nothing at all, which never passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from softbench.analysis.same_machine import is_regression
from softbench.errors import InputError

# What --allow may let through; each is a problem the gate reports otherwise.
ALLOWABLE = ("failed", "incomplete", "missing", "untested")
_REGIME_RE = re.compile(r"^(L[1-9]|transition|DRAM|unknown)$", re.IGNORECASE)
_CANONICAL = {"transition": "transition", "dram": "DRAM", "unknown": "unknown"}


@dataclass(frozen=True)
class Thresholds:
    """Percent slowdown allowed per regime; `default` for regimes not named (None: not gated)."""

    default: float | None
    per_regime: dict[str, float] = field(default_factory=dict)

    def for_regime(self, regime: str) -> float | None:
        return self.per_regime.get(regime, self.default)

    def text(self) -> str:
        parts = ([f"{self.default:g}%"] if self.default is not None else []) + [f"{r}={v:g}%" for r, v in self.per_regime.items()]
        return ", ".join(parts)


def parse_thresholds(text: str) -> Thresholds:
    """"5" (every regime), "L1=8,DRAM=3" (those regimes only) or "5,DRAM=3" (DRAM 3, others 5)."""
    default, per = None, {}
    hint = "give a percentage such as 5, per regime such as L1=8,DRAM=3, or both: 5,DRAM=3"
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, eq, value = part.partition("=")
        if not eq:
            name, value = "", part
        try:
            pct = float(value)
        except ValueError:
            raise InputError(f"--fail-above: {part!r} is not a percentage; {hint}") from None
        if not pct >= 0 or pct == float("inf"):
            raise InputError(f"--fail-above: {part!r}: a percentage must be >= 0; {hint}")
        name = name.strip()
        if not name:
            if default is not None:
                raise InputError(f"--fail-above: two percentages for every regime ({default:g} and {pct:g}); {hint}")
            default = pct
            continue
        if not _REGIME_RE.match(name):
            raise InputError(f"--fail-above: unknown regime {name!r}; regimes are L1, L2, L3, transition, DRAM, unknown")
        per[_CANONICAL.get(name.lower(), name.upper())] = pct
    if default is None and not per:
        raise InputError(f"--fail-above: no threshold given; {hint}")
    return Thresholds(default, per)


def parse_allow(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    names = {t.strip() for t in text.split(",") if t.strip()}
    bad = sorted(names - set(ALLOWABLE))
    if bad:
        raise InputError(f"--allow: unknown {', '.join(map(repr, bad))}; choose from {', '.join(ALLOWABLE)}")
    return frozenset(names)


@dataclass
class GateVerdict:
    thresholds: Thresholds
    regressions: list  # (candidate label, compare.PointComparison)
    problems: list[str]  # what makes the gate fail besides regressions, one line each
    allowed: list[str]  # problems let through by --allow, one line each
    ungated_regimes: list[str]  # regimes with points but no threshold

    @property
    def passed(self) -> bool:
        return not self.regressions and not self.problems


def evaluate(result, files, thresholds: Thresholds, allow: frozenset[str] = frozenset()) -> GateVerdict:
    """The gate over a same-machine comparison of `files` (ResultFile, baseline first)."""
    regs, problems, allowed = [], [], []

    def problem(kind: str | None, text: str) -> None:
        (allowed if kind in allow else problems).append(text + ("" if kind is None else f" [--allow {kind}]"))

    labels = result.files
    for f, label in zip(files, labels):
        if f.failures:
            kernels = ", ".join(dict.fromkeys(str(x.get("kernel", "?")) for x in f.failures))
            problem("failed", f"{label}: {len(f.failures)} kernel failure(s) ({kernels}): those kernels have no figures")
        if not f.complete:
            problem("incomplete", f"{label}: the run did not finish ({len(f.results)} points in the file)")
    ungated: set[str] = set()
    for pair, cand in zip(result.pairs, files[1:]):
        if not cand.results:
            problem(None, f"{pair.candidate}: holds no points; nothing to compare")
            continue
        if not pair.points:
            problem(None, f"{pair.candidate}: no point in common with {pair.baseline}; nothing compared")
            continue
        # the points of a kernel the candidate says failed are counted as that failure, not again
        failed = {str(x.get("kernel")) for x in cand.failures}
        missing = [k for k in pair.only_in_baseline if k.split(" ")[0] not in failed]
        if missing:
            total = len(pair.points) + len(pair.only_in_baseline)
            problem("missing", f"{pair.candidate}: lacks {len(missing)} of the {total} points of "
                               f"{pair.baseline} (e.g. {missing[0]})")  # fmt: skip
        untested = [p for p in pair.points if not p.enough_samples]
        if untested:
            problem("untested", f"{pair.candidate}: {len(untested)} of {len(pair.points)} points have too few samples "
                                f"to test (as few as {min(min(p.baseline_samples, p.candidate_samples) for p in untested)})")  # fmt: skip
        for p in pair.points:
            limit = thresholds.for_regime(p.regime)
            if limit is None:
                ungated.add(p.regime)
                continue
            if is_regression(p, limit):
                regs.append((pair.candidate, p))
    return GateVerdict(thresholds, regs, problems, allowed, sorted(ungated))
