"""softbench: benchmark and profile softmax kernels on CPUs."""

__version__ = "0.1.0"

__all__ = ["__version__", "softmax"]


def softmax(x, algorithm="two-pass", isa="auto", out=None, variant=None, threads=1):
    """Softmax of a C-contiguous float32 array (1-D: one row; 2-D: over each row) with one of
    softbench's C kernels, on one thread or split across `threads`.

    See :func:`softbench.api.softmax`.
    """
    from softbench.api import softmax as _softmax

    return _softmax(x, algorithm=algorithm, isa=isa, out=out, variant=variant, threads=threads)
