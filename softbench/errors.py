"""User-facing errors.

Every error a user can cause (bad input, missing compiler, damaged files) is raised as a
SoftbenchError subclass carrying one line that says what is wrong and what to do; the CLI prints
that line and exits non-zero, with no traceback.
"""


class SoftbenchError(Exception):
    """An error whose message is fit to show the user as it is (one line)."""

    exit_code = 2


class BuildError(SoftbenchError):
    """The kernels could not be compiled or loaded."""


class InputError(SoftbenchError, ValueError):
    """A bad argument: unknown algorithm or ISA, malformed suite, impossible size."""


class ResultFileError(SoftbenchError):
    """A result file that is not softbench's, is damaged, or comes from a newer schema."""
