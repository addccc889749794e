"""Atomic file writes and an all-or-nothing publication folder (DESIGN.md section 7).

A reader of ``outputs/`` never sees a half-written file: every file is written to a temporary
name in the same folder, flushed to disk, then renamed over the target (a rename within one
filesystem is atomic). :func:`publish_directory` extends this to a whole publication: everything
is written into a staging folder beside the target, and only when the writer finishes without an
error are the staged entries swapped in; a failed run leaves the previous publication intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()
"""Published files are readable like any file this process creates (mkstemp alone gives 0600)."""


def _temporary_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(handle, FILE_MODE)
    os.close(handle)
    return Path(name)


def _commit(temporary: Path, path: Path) -> None:
    """fsync ``temporary`` then rename it over ``path``."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_through(path: Path | str, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary sibling of ``path``, then fsync it and rename it over
    ``path``; the temporary file is removed if anything fails."""
    path = Path(path)
    temporary = _temporary_sibling(path)
    try:
        write(temporary)
        _commit(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (parents created)."""
    _write_through(path, lambda temporary: temporary.write_bytes(data))


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_parquet(path: Path | str, frame: pl.DataFrame, metadata: dict[str, str] | None = None) -> None:
    """Write ``frame`` as Parquet to ``path`` atomically, with ``metadata`` as the file's
    key-value metadata when given."""
    if metadata is None:
        _write_through(path, frame.write_parquet)
    else:
        _write_through(path, lambda target: frame.write_parquet(target, metadata=metadata))


def atomic_write_csv(path: Path | str, frame: pl.DataFrame) -> None:
    """Write ``frame`` as CSV (header, ISO dates, full float precision) to ``path`` atomically."""
    atomic_write_text(path, frame.write_csv())


@contextmanager
def publish_directory(target: Path | str) -> Iterator[Path]:
    """Stage a publication and swap it into ``target`` only if the writer succeeds.

    Yields an empty staging folder (a hidden sibling of ``target``, so on the same filesystem).
    On a normal exit each top-level entry written there replaces the entry of the same name in
    ``target`` (old entry renamed aside, new one renamed in, old one deleted at the end); entries
    of ``target`` the writer did not produce (say ``outputs/ledger/``) are left alone. If the
    writer raises, the staging folder is deleted and ``target`` is untouched; if a rename fails
    half-way, the entries already swapped are put back before the error propagates.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    try:
        yield staging
        _swap_entries(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_entries(staging: Path, target: Path) -> None:
    previous = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.previous-"))
    swapped: list[str] = []
    try:
        for entry in sorted(staging.iterdir()):
            destination = target / entry.name
            if destination.exists() or destination.is_symlink():
                os.replace(destination, previous / entry.name)
            os.replace(entry, destination)
            swapped.append(entry.name)
    except BaseException:
        for name in reversed(swapped):
            os.replace(target / name, staging / name)
        for old in previous.iterdir():
            os.replace(old, target / old.name)
        raise
    finally:
        shutil.rmtree(previous, ignore_errors=True)
