"""Which ISAs this test run executed, and which it only compiled.

A release once claimed AVX-512 kernels that no test had ever run: the tests parametrise over the
ISAs the host runs, so on a host without AVX-512 they were silently absent, and the only trace was
a compile check. Tests that execute a kernel write down its ISA here, and the run ends with one line
saying what was executed and what was only compiled (conftest.pytest_terminal_summary).
"""

from __future__ import annotations

executed: dict[str, set[str]] = {}  # ISA -> how ("kernel matrix", "C driver under ASan/UBSan", ...)
compiled: set[str] = set()


def ran(isa: str, how: str) -> None:
    executed.setdefault(isa, set()).add(how)


def built(isa: str) -> None:
    compiled.add(isa)


def summary(all_isas: list[str]) -> str:
    ran_text = ", ".join(f"{i} ({'; '.join(sorted(executed[i]))})" for i in all_isas if i in executed) or "none"
    only = [i for i in all_isas if i in compiled and i not in executed]
    neither = [i for i in all_isas if i not in executed and i not in compiled]
    line = f"ISAs executed: {ran_text}; compiled only: {', '.join(only) or 'none'}"
    return line + (f"; neither: {', '.join(neither)}" if neither else "")
