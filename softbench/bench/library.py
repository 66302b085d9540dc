"""What every library baseline is (softbench.bench.baselines holds the table of them): a probe
that says whether the library computes softmax here, and a call prepared for size n."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from softbench.errors import InputError

Run = Callable[[np.ndarray, np.ndarray], None]


class LibraryMissing(Exception):
    """A shared library (not a Python module) that a baseline needs is not installed."""


@dataclass(frozen=True)
class Baseline:
    """One library's softmax: how to probe for it, and how to prepare a call for size n."""

    name: str
    call: str  # the library call that is measured, as a user would write it
    install: str  # what to run when the library is missing
    _probe: Callable[[], str]  # imports lazily; returns the version string or raises
    _prepare: Callable[[int], Run]

    def probe(self) -> tuple[bool, str]:
        """(True, version string) when the library imports and computes a correct softmax of a
        few elements here; else (False, the reason, with what to install)."""
        try:
            version = self._probe()
        except LibraryMissing:
            return False, f"{self.name} is not installed: {self.install}"
        except ModuleNotFoundError as e:
            missing = e.name or self.name
            if missing.split(".")[0] == self.name.split(".")[0]:
                return False, f"{self.name} is not installed: {self.install}"
            return False, f"{self.name} cannot be imported: it needs {missing}, which is not installed"
        except Exception as e:  # a broken install: shared libraries, ABI, ...
            return False, f"{self.name} cannot be used here: {type(e).__name__}: {_one_line(e)}"
        try:  # a smoke test, so that "available" means "computes softmax here"
            x = np.array([0.0, 1.0, -2.0, 3.0, 0.5, -1.0, 2.0, 0.25], np.float32)
            y = np.zeros_like(x)
            self._prepare(x.size)(x, y)
            ref = np.exp(x.astype(np.float64) - 3.0)
            ref /= ref.sum()
            err = float(np.max(np.abs(y - ref) / ref))
            if not err <= 1e-4:
                return False, f"{self.name} computes a wrong softmax here (max relative error {err:.3g} on 8 elements)"
        except Exception as e:
            return False, f"{self.name} failed a softmax of 8 elements: {type(e).__name__}: {_one_line(e)}"
        return True, version

    def prepare(self, n: int) -> Run:
        """A callable run(x, y) computing softmax of n float32 elements into y; the setup
        (imports, thread settings, sessions) happens here, not in the timed call."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise InputError(f"baseline {self.name}: n must be an integer >= 1, got {n!r}")
        return self._prepare(n)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _import(module: str):
    """Imports by name at call time (so a test can make it fail via sys.modules)."""
    return importlib.import_module(module)
