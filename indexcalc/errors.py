"""User-facing error types (one exception type per kind of user error).

Each carries where the problem is (file, row or key) and what it is; the CLI prints
``str(error)`` as one line and exits with code 2. Anything else is a bug.
"""

from __future__ import annotations


class IndexCalcError(Exception):
    """Base of every error caused by user input (data, specs, arguments, state) or by the
    place the output is written to (:class:`OutputError`)."""

    def __init__(self, problem: str, *, file: str | None = None, key: str | None = None) -> None:
        self.problem = problem
        self.file = file
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.problem}" if where else self.problem


class DataError(IndexCalcError):
    """Bad market or reference data: schema, values, duplicates, gaps, disruptions."""


class SpecError(IndexCalcError):
    """An instrument or index spec that is invalid or cannot be satisfied."""


class StateError(IndexCalcError):
    """Published state (ledger, outputs) that forbids the requested operation."""


class OutputError(IndexCalcError):
    """The output side failed: a file or folder of the publication or the ledger could not be
    written (disk full, read-only folder, permissions) or a page-rendering process died. The
    message names the path and the cause and says what the run left (ledger committed or not)
    and how the next run recovers."""
