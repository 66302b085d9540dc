"""One kernel's passes, each callable alone with its traffic twin, for `softbench profile`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from softbench.bench.measure import Timer


@dataclass
class PassCall:
    """One pass and the state it starts from: what sb_time_pass_calls needs besides n, x, y."""

    fn: Any  # sb_pass_fn
    state: Any  # cffi sb_state * (copied by the harness before every call)


class PassTimer(Timer):
    """measure.Timer that also times a PassCall (one pass on a prepared state); kernels as before.
    calibrate() is Timer's, so passes are calibrated by the same rule as everything else."""

    def time(self, fn, n: int, x: np.ndarray, y: np.ndarray, calls: int) -> float:
        if isinstance(fn, PassCall):
            ffi = self.harness.ffi
            return float(self.harness.lib.sb_time_pass_calls(
                fn.fn, n, ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y.ctypes.data),
                fn.state, calls, int(self.ftz_daz),
            ))  # fmt: skip
        return super().time(fn, n, x, y, calls)


@dataclass
class PreparedPass:
    """A pass with the state and (for a pass that reads y) the y it starts from."""

    p: Any  # build.Pass
    call: PassCall
    y_before: np.ndarray | None


def _ptrs(ffi, x: np.ndarray, y: np.ndarray):
    return ffi.cast("const float *", x.ctypes.data), ffi.cast("float *", y.ctypes.data)


def run_passes(module, algorithm: str, x: np.ndarray, y: np.ndarray, nt: bool = False) -> list[PreparedPass]:
    """Run the algorithm's passes in order on x into y (exactly what the kernel does; with nt, what
    its non-temporal-store variant does) and return each pass with the state it started from.
    y ends as the kernel's output."""
    ffi = module.ffi
    xp, yp = _ptrs(ffi, x, y)
    st = ffi.new("sb_state *")
    out = []
    for p in module.passes[algorithm]:
        fn = p.fn_nt if nt else p.fn
        before = ffi.new("sb_state *")
        before[0] = st[0]  # a copy of the struct
        out.append(PreparedPass(p, PassCall(fn, before), y.copy() if p.read_y else None))
        fn(x.size, xp, yp, st)
    return out
