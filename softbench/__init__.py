"""softbench: benchmark and profile softmax kernels on CPUs."""

from softbench.api import load_kernel, softmax
from softbench.version import __version__

__all__ = ["__version__", "softmax", "load_kernel"]
