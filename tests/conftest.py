import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory):
    """Build the kernels once per test session into a private cache (tests that poke at the
    cache use their own folders)."""
    if "SOFTBENCH_CACHE_DIR" not in os.environ:
        os.environ["SOFTBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel-cache"))
    yield
