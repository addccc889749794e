"""Atomic file writes and a publication switched by one symlink (docs/design.md section 7).

A reader of ``outputs/`` never sees a half-written file: every file is written to a temporary
name in the same folder, flushed to disk, then renamed over the target (a rename within one
filesystem is atomic). :func:`publish_directory` extends this to a whole publication, laid out
as::

    outputs/versions/N/...              one complete publication per version N (1, 2, ...)
    outputs/current -> versions/N       the one pointer readers follow
    outputs/index.html -> current/index.html, outputs/levels -> current/levels, ...

Everything is written into ``versions/.staging-*``, renamed to ``versions/N`` when the writer
succeeds, and published by replacing the ``current`` symlink (``os.replace`` of a symlink is
atomic on POSIX). The top-level links never change their target (``current/NAME``), so a user
opening ``outputs/index.html`` or a script reading ``outputs/levels/ID.csv`` sees, through every
path, either the whole previous publication or the whole new one, whenever the run is killed.
The :data:`KEEP_VERSIONS` newest versions are kept (a reader part-way through the previous one
finishes it); the rest, and what killed runs leave, is removed by :func:`remove_unfinished`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from indexcalc.errors import StateError


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


_DEFERRED_ROOTS: dict[str, list[str]] = {}
"""Staging folders being filled (:func:`publish_directory`), absolute, with the files written
into them: their fsyncs are deferred to one sync of the whole folder before it is published."""
_DEFERRED_LOCK = threading.Lock()


def _deferred_root(path: Path) -> str | None:
    """The staging folder ``path`` lies in, when its fsync is deferred."""
    if not _DEFERRED_ROOTS:
        return None
    absolute = os.path.abspath(path)
    with _DEFERRED_LOCK:  # another thread may be starting or ending a publication
        roots = list(_DEFERRED_ROOTS)
    for root in roots:
        if absolute.startswith(root + os.sep):
            return root
    return None


def _commit(temporary: Path, path: Path) -> None:
    """fsync ``temporary`` then rename it over ``path``."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _sync_tree(root: Path, files: list[str]) -> None:
    """Make ``root``'s content durable before it is published: one ``syncfs`` of its
    filesystem where Linux has it (the data and metadata of every file and folder of the tree,
    which lies on one filesystem), else an fsync of each written file in ``files`` and of
    every folder of the tree, deepest first, so that their entries are on disk before the
    switch."""
    if _syncfs(root):
        return
    for name in files:
        descriptor = os.open(name, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    folders = [Path(folder) for folder, _, _ in os.walk(root)]
    for folder in reversed(folders):
        _fsync_directory(folder)


def _syncfs(path: Path) -> bool:
    """``syncfs(2)`` of the filesystem holding ``path`` (every dirty file of it written to
    disk); False where the C library has no ``syncfs`` or the call fails."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if function is None:
        return False
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return function(descriptor) == 0
    finally:
        os.close(descriptor)


def _write_through(path: Path | str, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary sibling of ``path``, then fsync it and rename it over
    ``path``; the temporary file is removed if anything fails.

    In a staging folder of :func:`publish_directory` (read by nobody, deleted whole if its
    writer fails), ``write`` writes ``path`` itself, which is removed if anything fails, and
    the fsync is left to the sync of the whole folder before it is published
    (:func:`_sync_tree`)."""
    path = Path(path)
    root = _deferred_root(path)
    if root is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        with _DEFERRED_LOCK:
            written = _DEFERRED_ROOTS.get(root)  # None once the publication has ended
            if written is not None:
                written.append(os.path.abspath(path))
        return
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


VERSIONS_FOLDER = "versions"
"""Folder of ``outputs/`` holding one complete publication per version number."""
CURRENT_LINK = "current"
"""The symlink ``outputs/current -> versions/N`` that names the published version."""
STAGING_PREFIX = ".staging-"
"""Prefix of the folders under ``versions/`` that a writer is (or was, if killed) filling."""
SET_ASIDE_PREFIX = ".adopting-"
"""Prefix of the folders under ``versions/`` holding an in-place publication being adopted."""
LINK_PREFIX = ".publish-link-"
"""Prefix of a symlink being created in ``outputs/`` before it is renamed into place."""
KEEP_VERSIONS = 2
"""Versions kept after a switch: the new one and the one it replaced."""
RESERVED_NAMES = frozenset({VERSIONS_FOLDER, CURRENT_LINK})


@contextmanager
def publish_directory(target: Path | str, keep: int = KEEP_VERSIONS) -> Iterator[Path]:
    """Stage a publication and switch ``target`` to it only if the writer succeeds.

    Yields an empty staging folder (``target/versions/.staging-*``). On a normal exit it becomes
    ``versions/N`` (N = one more than any version there), a link ``target/NAME ->
    current/NAME`` exists for each of its top-level entries, ``target/current`` is switched to
    it in one atomic rename (the commit point of the publication), links to entries the new
    version no longer has are removed, and versions older than the ``keep`` newest are deleted.
    Entries of ``target`` that are not links into ``current`` (say ``outputs/ledger/``) are left
    alone, except a real file or folder of the same name as a published entry (a publication
    written in place, before versions existed), which first becomes a version of its own
    (:func:`adopt_in_place_entries`). If the writer raises, the staging folder is deleted and
    ``target`` is untouched.

    The atomic writes into the staging folder write their files in place, without a temporary
    file or an fsync each (a staging folder is never read, and a failed or killed run's is
    deleted): the folder is made durable once, when the writer is done and before it is published (:func:`_sync_tree`: one ``syncfs``, or an
    fsync of each file and folder where there is none).
    """
    target = Path(target)
    pointer = target / CURRENT_LINK
    if pointer.exists() and not pointer.is_symlink():
        raise StateError(f"{CURRENT_LINK!r} is not a symlink (was the folder copied following links? "
                         f"copy it with `cp -a`)", file=str(pointer))
    versions = target / VERSIONS_FOLDER
    versions.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=versions, prefix=STAGING_PREFIX))
    root = os.path.abspath(staging)
    with _DEFERRED_LOCK:
        _DEFERRED_ROOTS[root] = []
    try:
        yield staging
        with _DEFERRED_LOCK:
            written = _DEFERRED_ROOTS.pop(root)
        _sync_tree(staging, written)
        switch_publication(staging, target, keep)
    finally:
        with _DEFERRED_LOCK:
            _DEFERRED_ROOTS.pop(root, None)
        shutil.rmtree(staging, ignore_errors=True)


def switch_publication(staging: Path, target: Path, keep: int = KEEP_VERSIONS) -> Path:
    """Make the complete publication in ``staging`` the one ``target`` shows (see
    :func:`publish_directory`); returns the version folder. A kill at any point leaves every
    path of ``target`` showing the previous publication (before the ``current`` switch) or the
    new one (after it)."""
    names = sorted(entry.name for entry in staging.iterdir())
    reserved = sorted(RESERVED_NAMES & set(names))
    if reserved:
        raise ValueError(f"a publication may not hold an entry named {reserved[0]!r} (reserved)")
    versions = target / VERSIONS_FOLDER
    adopt_in_place_entries(target, names)
    previous = current_version(target)
    version = _rename_to_new_version(staging, versions)
    for name in names:
        path = target / name
        if not path.is_symlink() or os.readlink(path) != _link_text(name):
            _replace_with_link(path, _link_text(name))
    _replace_with_link(target / CURRENT_LINK, f"{VERSIONS_FOLDER}/{version.name}")
    _fsync_directory(target)
    # Published: what follows only tidies up, and the next run's remove_unfinished redoes it.
    try:
        for path in published_links(target):
            if path.name not in names:
                path.unlink()
        if previous is not None and previous.name.isdigit():
            older = [number for number in version_numbers(target) if number <= int(previous.name)]
            for number in older[: -(keep - 1) or None]:
                shutil.rmtree(versions / str(number), ignore_errors=True)
    except OSError:
        pass
    return version


def _rename_to_new_version(staging: Path, versions: Path) -> Path:
    """Rename ``staging`` to ``versions/N``, N one more than the highest version there."""
    number = max(version_numbers(versions.parent), default=0) + 1
    while True:
        version = versions / str(number)
        try:
            os.rename(staging, version)
        except OSError:
            if not version.exists():
                raise
            number += 1  # taken meanwhile (a rename onto a non-empty folder fails)
            continue
        _fsync_directory(versions)
        return version


def current_version(target: Path | str) -> Path | None:
    """The version folder ``target/current`` points to (None without one)."""
    link = Path(target) / CURRENT_LINK
    if not link.is_symlink():
        return None
    pointed = Path(os.readlink(link))
    return Path(target) / pointed if not pointed.is_absolute() else pointed


def version_numbers(target: Path | str) -> list[int]:
    """The numbers N of the folders ``target/versions/N`` (sorted)."""
    versions = Path(target) / VERSIONS_FOLDER
    if not versions.is_dir():
        return []
    return sorted(int(path.name) for path in versions.iterdir() if path.name.isdigit() and path.is_dir())


def published_links(target: Path | str) -> list[Path]:
    """The top-level links ``target/NAME -> current/NAME`` of a versioned publication."""
    target = Path(target)
    if not target.is_dir():
        return []
    return sorted(
        path for path in target.iterdir()
        if not path.name.startswith(".") and path.is_symlink() and os.readlink(path) == _link_text(path.name)
    )


def remove_unfinished(target: Path | str, keep: int = KEEP_VERSIONS) -> list[Path]:
    """Delete what killed publications left in ``target``: staging and set-aside folders under
    ``versions/``, versions newer than the one ``current`` points to (renamed but never
    switched to), versions older than the ``keep`` newest, temporary links (or the folder
    written in place that one was exchanged with), and links to entries the current version
    lacks. Returns the paths removed. Call only while holding the
    writer lock (:meth:`indexcalc.ledger.Ledger.lock`): a live writer's staging folder looks
    the same as a dead one's."""
    target = Path(target)
    versions = target / VERSIONS_FOLDER
    if not versions.is_dir():
        return []
    current = current_version(target)
    current_number = int(current.name) if current is not None and current.name.isdigit() else 0
    numbers = version_numbers(target)
    older = [n for n in numbers if n < current_number]
    stale = [versions / str(n) for n in numbers if n > current_number or n in older[: -(keep - 1) or None]]
    stale += sorted(path for path in versions.iterdir() if path.name.startswith((STAGING_PREFIX, SET_ASIDE_PREFIX)))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    links = sorted(target.glob(f"{LINK_PREFIX}*"))
    if current is not None:
        links += [path for path in published_links(target) if not (current / path.name).exists()]
    for path in links:
        if path.is_dir() and not path.is_symlink():  # a folder exchanged with its link, not yet deleted
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale + links


def _link_text(name: str) -> str:
    return f"{CURRENT_LINK}/{name}"


def _replace_with_link(path: Path, pointed: str) -> None:
    """Make ``path`` a symlink to ``pointed`` in one rename (``path`` absent, a link or a file)."""
    temporary = path.parent / f"{LINK_PREFIX}{uuid.uuid4().hex}"
    os.symlink(pointed, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def adopt_in_place_entries(target: Path, names: list[str]) -> None:
    """Turn the real entries of ``target`` named in ``names`` (a publication written in place,
    before versions) into links ``NAME -> current/NAME`` without a reader seeing a change.

    Without ``current``, the entries are first copied as hard links (no data copied; files are
    only ever replaced by rename, never rewritten, so sharing them is safe) into a new version
    that ``current`` then points to. Each entry is then exchanged with its link in one
    ``renameat2(RENAME_EXCHANGE)`` (Linux); where that is unavailable a folder is renamed aside
    then replaced by its link, an instant during which it is missing.
    """
    in_place = [name for name in names if (target / name).exists() and not (target / name).is_symlink()]
    if not in_place:
        return
    if current_version(target) is None:
        versions = target / VERSIONS_FOLDER
        snapshot = Path(tempfile.mkdtemp(dir=versions, prefix=SET_ASIDE_PREFIX))
        for name in in_place:
            if (target / name).is_dir():
                shutil.copytree(target / name, snapshot / name, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(target / name, snapshot / name)
        version = _rename_to_new_version(snapshot, versions)
        _replace_with_link(target / CURRENT_LINK, f"{VERSIONS_FOLDER}/{version.name}")
    for name in in_place:
        _replace_entry_with_link(target / name, _link_text(name))
    _fsync_directory(target)


def _link_or_copy(source: Path | str, destination: Path | str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _replace_entry_with_link(path: Path, pointed: str) -> None:
    """Replace the real file or folder ``path`` by a symlink to ``pointed`` (see
    :func:`adopt_in_place_entries`)."""
    if not path.is_dir():
        _replace_with_link(path, pointed)
        return
    temporary = path.parent / f"{LINK_PREFIX}{uuid.uuid4().hex}"
    os.symlink(pointed, temporary)
    if _exchange(temporary, path):
        shutil.rmtree(temporary)  # now the old folder
        return
    aside = Path(tempfile.mkdtemp(dir=path.parent / VERSIONS_FOLDER, prefix=SET_ASIDE_PREFIX))
    os.rename(path, aside / path.name)
    os.replace(temporary, path)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one ``renameat2(..., RENAME_EXCHANGE)``; False where unsupported."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
