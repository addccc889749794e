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
