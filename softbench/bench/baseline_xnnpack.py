"""XNNPACK's softmax operator as a library baseline (softbench.bench.baselines lists it), called
through cffi in ABI mode from the OS package libxnnpack0."""

from __future__ import annotations

import gzip

import numpy as np

from softbench.bench.library import _import, _one_line, LibraryMissing, Run

# --- XNNPACK -----------------------------------------------------------------------------------

# XNNPACK's C API as the Debian package libxnnpack0 (0.0~git20220216.ae108ef) declares it in its
# xnnpack.h: the softmax operator and its life cycle. Called through cffi in ABI mode (dlopen), so
# no header or compiler is needed at run time. pthreadpool_t NULL: the operator runs on the
# calling thread only, like the kernels.
XNNPACK_CDEF = """
typedef struct xnn_operator* xnn_operator_t;
typedef struct pthreadpool* pthreadpool_t;
struct xnn_allocator;
enum xnn_status {
  xnn_status_success = 0, xnn_status_uninitialized = 1, xnn_status_invalid_parameter = 2,
  xnn_status_invalid_state = 3, xnn_status_unsupported_parameter = 4,
  xnn_status_unsupported_hardware = 5, xnn_status_out_of_memory = 6
};
enum xnn_status xnn_initialize(const struct xnn_allocator* allocator);
enum xnn_status xnn_create_softmax_nc_f32(size_t channels, size_t input_stride, size_t output_stride,
                                          uint32_t flags, xnn_operator_t* softmax_op_out);
enum xnn_status xnn_setup_softmax_nc_f32(xnn_operator_t softmax_op, size_t batch_size, const float* input,
                                         float* output, pthreadpool_t threadpool);
enum xnn_status xnn_run_operator(xnn_operator_t op, pthreadpool_t threadpool);
enum xnn_status xnn_delete_operator(xnn_operator_t op);
"""
# Where the library is looked for (the dynamic loader's search path, by soname); a test points
# this at a name that does not exist to take the missing-library path.
XNNPACK_LIBRARIES = ("libXNNPACK.so.0", "libXNNPACK.so")
XNNPACK_CHANGELOG = "/usr/share/doc/libxnnpack0/changelog.Debian.gz"
XNNPACK_INSTALL = "apt-get install libxnnpack0 (Debian/Ubuntu), or put libXNNPACK.so.0 on the loader's path"

_XNN: list = []  # [(ffi, lib, soname)] once loaded and initialised: xnn_initialize once per process


def _xnn_status(ffi, status: int) -> str:
    return ffi.string(ffi.cast("enum xnn_status", status))


def _xnn():
    if not _XNN:
        cffi = _import("cffi")
        ffi = cffi.FFI()
        ffi.cdef(XNNPACK_CDEF)
        lib = soname = None
        errors = []
        for name in XNNPACK_LIBRARIES:
            try:
                lib, soname = ffi.dlopen(name), name
                break
            except OSError as e:
                errors.append(_one_line(e))
        if lib is None:
            raise LibraryMissing("; ".join(errors))
        status = lib.xnn_initialize(ffi.NULL)
        if status != lib.xnn_status_success:
            # unsupported_hardware: XNNPACK's cpuinfo found no SSE2 (or could not read the CPU)
            raise RuntimeError(f"xnn_initialize returned {_xnn_status(ffi, status)}")
        _XNN.append((ffi, lib, soname))
    return _XNN[0]


def _xnn_package_version() -> str:
    """The Debian package's version, from its changelog's first line; 'version unknown' when the
    library came from elsewhere (XNNPACK itself exports no version)."""
    try:
        with gzip.open(XNNPACK_CHANGELOG, "rt", encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        return "version unknown"
    start, end = first.find("("), first.find(")")
    return first[start + 1 : end] if 0 <= start < end else "version unknown"


def xnnpack_probe() -> str:
    _, _, soname = _xnn()
    return (
        f"xnnpack {_xnn_package_version()} ({soname}); softmax operator xnn_create_softmax_nc_f32, "
        "one row (batch 1), no thread pool (calling thread only); microkernels chosen by XNNPACK for this CPU"
    )


def xnnpack_prepare(n: int) -> Run:
    ffi, lib, _ = _xnn()
    out = ffi.new("xnn_operator_t*")
    status = lib.xnn_create_softmax_nc_f32(n, n, n, 0, out)
    if status != lib.xnn_status_success:
        raise RuntimeError(f"xnn_create_softmax_nc_f32({n}) returned {_xnn_status(ffi, status)}")
    op = ffi.gc(out[0], lib.xnn_delete_operator)  # deleted when the last run() using it is gone
    setup, run_operator, cast, NULL = lib.xnn_setup_softmax_nc_f32, lib.xnn_run_operator, ffi.cast, ffi.NULL
    bound: list = [None, None]

    def run(x: np.ndarray, y: np.ndarray) -> None:
        if x is not bound[0] or y is not bound[1]:
            # the operator is set up on the buffers themselves (reads x, writes y, no copies)
            status = setup(op, 1, cast("const float*", x.ctypes.data), cast("float*", y.ctypes.data), NULL)
            if status != 0:
                raise RuntimeError(f"xnn_setup_softmax_nc_f32 returned {_xnn_status(ffi, status)}")
            bound[:] = [x, y]  # held, so the addresses set up stay valid
        status = run_operator(op, NULL)
        if status != 0:
            raise RuntimeError(f"xnn_run_operator returned {_xnn_status(ffi, status)}")

    return run
