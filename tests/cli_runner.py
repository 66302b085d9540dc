"""Run softbench's real CLI app in-process, as `softbench.cli.main` does: returns (exit code,
stdout, stderr), a SoftbenchError becoming its one stderr line and exit code."""

from typer.testing import CliRunner

from softbench.errors import SoftbenchError


def invoke(*args):
    from softbench.cli import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    err, code = res.stderr, res.exit_code
    if isinstance(res.exception, SoftbenchError):
        err += f"softbench: error: {res.exception}\n"
        code = res.exception.exit_code
    elif res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return code, res.stdout, err
