"""softbench: benchmark and profile softmax kernels on CPUs."""

from softbench.api import load_kernel, softmax
from softbench.results.files import load
from softbench.version import __version__

__all__ = ["__version__", "softmax", "load", "load_kernel"]
