"""softbench: benchmark and profile softmax kernels on CPUs."""

__version__ = "0.1.0"

__all__ = ["__version__", "softmax"]


def softmax(x, algorithm="two-pass", isa="auto", out=None, variant=None):
    """Softmax of a 1-D C-contiguous float32 array with one of softbench's C kernels.

    See :func:`softbench.api.softmax`.
    """
    from softbench.api import softmax as _softmax

    return _softmax(x, algorithm=algorithm, isa=isa, out=out, variant=variant)
