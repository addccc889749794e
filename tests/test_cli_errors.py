"""One error prefix everywhere: click's own errors and user errors are one ``error:`` line."""

from __future__ import annotations

from click.testing import CliRunner

from indexcalc.cli import main


def test_click_usage_errors_are_one_error_line_with_exit_code_2():
    for arguments, fragment in ((["run", "--dat", "x"], "No such option '--dat'"),
                                (["history"], "Missing argument 'INDEX'"),
                                (["run", "--date", "tuesday"], "'tuesday' does not match the format"),
                                (["no-such-command"], "No such command 'no-such-command'")):
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
        assert "Error:" not in result.output and "Usage:" not in result.output


def test_help_and_version_still_exit_0():
    assert CliRunner().invoke(main, ["--version"]).exit_code == 0
    result = CliRunner().invoke(main, ["history", "--help"])
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ")
    assert "``" not in result.stdout  # no reStructuredText markup in help texts
