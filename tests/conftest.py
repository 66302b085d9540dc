import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Build the kernels once per test session into a private cache (tests that poke at the
    cache use their own folders)."""
    if "SOFTBENCH_CACHE_DIR" not in os.environ:
        os.environ["SOFTBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel-cache"))
    yield


def pytest_terminal_summary(terminalreporter):
    """One line at the end of every run: which ISAs ran, which were only compiled."""
    from isa_ledger import summary

    from softbench.catalog import ISAS

    terminalreporter.write_line(summary(list(ISAS)))
