"""Command-line interface: parses arguments and calls one function per command.

User errors (:class:`indexcalc.errors.IndexCalcError`) become one line on stderr and exit 2, and
so does any ``OSError`` (a file-system error) that no step turned into one.
"""

from __future__ import annotations

import sys

import click

from indexcalc.errors import IndexCalcError


class _Group(click.Group):
    """Turns user errors raised by any command into one line and exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's own errors (unknown option, bad value...) as one ``error:`` line too, with
        click's exit code, instead of its usage block and ``Error:`` prefix."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IndexCalcError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except OSError as error:  # a file-system error no step turned into an IndexCalcError
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"error: {where}{error.strerror or error} (file-system error outside the steps that "
                       "report what they leave: check the folder before running again)", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="indexcalc")
def main() -> None:
    """indexcalc: compute and publish rules-based commodity-futures indexes."""


@main.group()
def data() -> None:
    """Inspect, check and import market data."""


def _register_commands() -> None:
    """Attach the commands that live in their own modules under :mod:`indexcalc.commands`."""
    from indexcalc.commands import load_all

    load_all()


_register_commands()
