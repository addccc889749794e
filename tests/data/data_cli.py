"""Running the CLI in tests and checking one-line user errors."""

from __future__ import annotations

from click.testing import CliRunner, Result

from indexcalc.cli import main


def run_cli(*arguments: str) -> Result:
    """``indexcalc ARGUMENTS`` in-process; stderr kept apart from stdout."""
    return CliRunner().invoke(main, [str(argument) for argument in arguments])


def assert_user_error(result: Result, message: str) -> None:
    """The command failed as a user error: exit 2, exactly one line ``error: MESSAGE``, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
