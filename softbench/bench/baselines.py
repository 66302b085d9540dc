"""Library baselines: softmax as numpy, scipy, torch, onnxruntime and XNNPACK compute it, measured
like the kernels so that a result file can put softbench's figures next to what users would
otherwise call.

Each baseline is optional (torch and onnxruntime come with ``pip install 'softbench[baselines]'``,
XNNPACK's shared library with the OS package ``libxnnpack0``) and is skipped, with the reason, when
its library is absent or broken. A baseline is used in two
steps, so that the measurement loop times only the call itself::

    run = BASELINES["torch"].prepare(n)      # imports, thread settings, sessions: not timed
    run(x, y)                                # softmax of the 1-D float32 x into float32 y

``run`` computes with that library's idiomatic fastest single-row call, single-threaded like the
kernels, and writes into the caller's preallocated ``y``. It does not check its arguments: the
harness passes 1-D C-contiguous float32 arrays of length n. Per-call state that depends on the
buffers (torch tensors sharing their memory, onnxruntime's I/O binding) is made on the first
call with a pair of arrays and reused while the same pair comes back, as in a timing loop.

Records of baselines carry algorithm = the baseline's name and isa = ``ISA`` ("library"); the
version string from ``available_baselines`` (library version, thread settings, the exact call)
says what was measured. Their accuracy is reported as measured, never held to the kernels' 1e-5:
torch and onnxruntime sum in float32 and lose accuracy as N grows.

Timing here is a Python loop around ``run`` (``time_calls``, ``calibrate``), with the same
calibration rule as ``measure.Timer``: one sample lasts at least min_time, one call for huge n.
"""

from __future__ import annotations

import math
import time
from typing import Iterable

import numpy as np

from softbench.bench.baseline_xnnpack import XNNPACK_INSTALL, xnnpack_prepare, xnnpack_probe
from softbench.bench.library import _import, Baseline, Run
from softbench.errors import InputError

__all__ = [
    "ISA",
    "EXTRA_HINT",
    "Baseline",
    "BASELINES",
    "baseline",
    "probe_all",
    "available_baselines",
    "skipped_baselines",
    "time_calls",
    "calibrate",
]

ISA = "library"  # the `isa` of a baseline's records
EXTRA_HINT = "pip install 'softbench[baselines]'"
ORT_OPSET = 13
ORT_IR_VERSION = 8  # IR 8 (onnx 1.10): old enough for every onnxruntime that runs opset 13

# --- numpy -------------------------------------------------------------------------------------


def _numpy_probe() -> str:
    np_ = _import("numpy")
    return f"numpy {np_.__version__}; float32 throughout, pairwise float32 sum"


def _numpy_prepare(n: int) -> Run:
    np_ = _import("numpy")
    subtract, exp = np_.subtract, np_.exp

    def run(x: np.ndarray, y: np.ndarray) -> None:
        # np.exp(x - x.max(), out=y), minus the n-sized temporary that x - x.max() would allocate
        # (and page-fault in) on every call
        subtract(x, x.max(), out=y)
        exp(y, out=y)
        y /= y.sum()

    return run


# --- scipy -------------------------------------------------------------------------------------


def _scipy_probe() -> str:
    scipy = _import("scipy")
    _import("scipy.special")
    np_ = _import("numpy")
    return f"scipy {scipy.__version__} (numpy {np_.__version__}); result copied into y"


def _scipy_prepare(n: int) -> Run:
    softmax = _import("scipy.special").softmax
    copyto = np.copyto

    def run(x: np.ndarray, y: np.ndarray) -> None:
        # scipy.special.softmax has no out= argument: it returns a new array, which is copied into
        # y (allocation and copy are part of what a scipy user pays)
        copyto(y, softmax(x))

    return run


# --- torch -------------------------------------------------------------------------------------

TORCH_THREADS = 1


def _torch_probe() -> str:
    torch = _import("torch")
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:
        capability = "unknown"
    return (
        f"torch {torch.__version__}; torch.set_num_threads({TORCH_THREADS}) "
        f"(intra-op threads {TORCH_THREADS}, inter-op threads {torch.get_num_interop_threads()}); "
        f"CPU capability {capability}"
    )


def _torch_prepare(n: int) -> Run:
    torch = _import("torch")
    # single-threaded, like the kernels (process-wide: it stays set for whatever runs next)
    torch.set_num_threads(TORCH_THREADS)
    softmax, from_numpy = torch.softmax, torch.from_numpy
    bound: list = [None, None, None, None]  # x, y, their tensors (sharing the arrays' memory)

    def run(x: np.ndarray, y: np.ndarray) -> None:
        if x is not bound[0] or y is not bound[1]:
            bound[:] = [x, y, from_numpy(x), from_numpy(y)]
        softmax(bound[2], dim=0, out=bound[3])

    return run


# --- onnxruntime -------------------------------------------------------------------------------


def _varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64  # int64 fields: two's complement, 10 bytes
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: a varint for ints, length-delimited for bytes and strings."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def softmax_model_bytes_raw(axis: int = 0) -> bytes:
    """The ONNX model y = Softmax(x, axis) on a float32 x of shape [N] (N symbolic), encoded by
    hand (onnx.proto field numbers), for when the onnx package is not installed."""

    def value_info(name: str) -> bytes:
        dim = _field(1, _field(2, "N"))  # TensorShapeProto.dim { dim_param: "N" }
        tensor = _field(1, 1) + _field(2, dim)  # elem_type FLOAT (1), shape
        return _field(1, name) + _field(2, _field(1, tensor))  # name, type { tensor_type }

    attribute = _field(1, "axis") + _field(3, axis) + _field(20, 2)  # name, i, type INT (2)
    node = _field(1, "x") + _field(2, "y") + _field(3, "softmax") + _field(4, "Softmax") + _field(5, attribute)
    graph = _field(1, node) + _field(2, "softmax") + _field(11, value_info("x")) + _field(12, value_info("y"))
    opset = _field(1, "") + _field(2, ORT_OPSET)
    return _field(1, ORT_IR_VERSION) + _field(2, "softbench") + _field(7, graph) + _field(8, opset)


def softmax_model_bytes_onnx(axis: int = 0) -> bytes:
    """The same model, built with the onnx package's helper API and checked by its checker."""
    onnx = _import("onnx")
    helper, FLOAT = onnx.helper, onnx.TensorProto.FLOAT
    node = helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=axis)
    graph = helper.make_graph(
        [node],
        "softmax",
        [helper.make_tensor_value_info("x", FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", FLOAT, ["N"])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", ORT_OPSET)], ir_version=ORT_IR_VERSION, producer_name="softbench"
    )
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _ort_model() -> tuple[bytes, str]:
    """(model bytes, how they were built): onnx's helper when onnx is installed, else by hand."""
    try:
        onnx = _import("onnx")
        return softmax_model_bytes_onnx(), f"model built with onnx {onnx.__version__}"
    except Exception:  # onnx absent or broken (e.g. a protobuf mismatch): encode it ourselves
        return softmax_model_bytes_raw(), "hand-encoded model (onnx not installed)"


_ORT_SESSION: list = []  # one session serves every n (the model's N is symbolic)


def _ort_session():
    if not _ORT_SESSION:
        ort = _import("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        model, how = _ort_model()
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        _ORT_SESSION.append((session, how))
    return _ORT_SESSION[0]


def _ort_probe() -> str:
    ort = _import("onnxruntime")
    _, how = _ort_session()
    return (
        f"onnxruntime {ort.__version__}; CPUExecutionProvider, intra_op_num_threads=1, "
        f"inter_op_num_threads=1, ORT_SEQUENTIAL; Softmax opset {ORT_OPSET} axis 0 on a 1-D input, "
        f"{how}; I/O bound to the caller's buffers"
    )


def _ort_prepare(n: int) -> Run:
    session, _ = _ort_session()
    binding = session.io_binding()
    run_with_iobinding = session.run_with_iobinding
    bound: list = [None, None]

    def run(x: np.ndarray, y: np.ndarray) -> None:
        if x is not bound[0] or y is not bound[1]:
            # bind x and y themselves: onnxruntime reads x and writes y in place, with no copy
            binding.clear_binding_inputs()
            binding.clear_binding_outputs()
            binding.bind_input("x", "cpu", 0, np.float32, [x.size], x.ctypes.data)
            binding.bind_output("y", "cpu", 0, np.float32, [y.size], y.ctypes.data)
            bound[:] = [x, y]  # held, so the bound addresses stay valid
        run_with_iobinding(binding)

    return run


# --- the table ---------------------------------------------------------------------------------

BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "numpy",
            "np.subtract(x, x.max(), out=y); np.exp(y, out=y); y /= y.sum()",
            "pip install numpy",
            _numpy_probe,
            _numpy_prepare,
        ),
        Baseline(
            "scipy",
            "np.copyto(y, scipy.special.softmax(x))",
            "pip install scipy",
            _scipy_probe,
            _scipy_prepare,
        ),
        Baseline(
            "torch",
            "torch.softmax(torch.from_numpy(x), dim=0, out=torch.from_numpy(y))",
            EXTRA_HINT,
            _torch_probe,
            _torch_prepare,
        ),
        Baseline(
            "onnxruntime",
            "InferenceSession(Softmax).run_with_iobinding(x -> y)",
            EXTRA_HINT,
            _ort_probe,
            _ort_prepare,
        ),
        Baseline(
            "xnnpack",
            "xnn_setup_softmax_nc_f32(op, 1, x, y, NULL); xnn_run_operator(op, NULL)",
            XNNPACK_INSTALL,
            xnnpack_probe,
            xnnpack_prepare,
        ),
    )
}


def _select(names: Iterable[str] | str | None) -> list[str]:
    if names is None:
        return list(BASELINES)
    if isinstance(names, str):
        names = [s for s in (p.strip() for p in names.split(",")) if s]
    names = list(names)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise InputError(
            f"unknown baseline{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(BASELINES)}"
        )
    return list(dict.fromkeys(names))


def baseline(name: str) -> Baseline:
    """The baseline of that name; an unknown name raises InputError listing the valid ones."""
    return BASELINES[_select([name])[0]]


def probe_all(names: Iterable[str] | str | None = None) -> dict[str, tuple[bool, str]]:
    """name -> (available, version or reason), in table order (or the order given)."""
    return {n: BASELINES[n].probe() for n in _select(names)}


def available_baselines(names: Iterable[str] | str | None = None) -> list[tuple[str, str]]:
    """[(name, version string)] of the baselines that work here (all, or those named)."""
    return [(n, text) for n, (ok, text) in probe_all(names).items() if ok]


def skipped_baselines(names: Iterable[str] | str | None = None) -> dict[str, str]:
    """{name: reason} of the baselines that cannot run here (all, or those named)."""
    return {n: text for n, (ok, text) in probe_all(names).items() if not ok}


# --- timing ------------------------------------------------------------------------------------


def time_calls(run: Run, x: np.ndarray, y: np.ndarray, calls: int) -> float:
    """ns for `calls` back-to-back calls of run(x, y) (time.perf_counter_ns around a loop)."""
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(calls):
        run(x, y)
    return float(clock() - t0)


def calibrate(run: Run, x: np.ndarray, y: np.ndarray, min_time: float) -> int:
    """Calls per sample so that one sample lasts at least min_time seconds (one call for huge n):
    the rule of measure.Timer.calibrate."""
    target = min_time * 1e9
    calls = 1
    for _ in range(40):
        t = time_calls(run, x, y, calls)
        if t >= target:
            return calls
        # aim 20% past the target from the measured rate; at least double
        calls = max(2 * calls, math.ceil(calls * target * 1.2 / max(t, 1.0)))
    return calls
