"""Reading the project's TOML files (instruments, merge specs, tenor tables, the catalogue) with
one error convention: a missing or invalid file is a :class:`SpecError` naming it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from indexcalc.errors import SpecError


def read_toml(path: Path | str) -> dict:
    """The TOML document at ``path``; "file not found" or "not valid TOML (...)" naming the file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError("file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"not valid TOML ({error})", file=str(path)) from None
