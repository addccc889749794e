"""A publication's files are made durable once, before the switch, not one fsync per file
(:func:`indexcalc.atomic.publish_directory`), and writes elsewhere keep their own fsync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexcalc import atomic


@pytest.fixture()
def synced(monkeypatch):
    """Every fsync'ed path (files and folders), and the syncfs calls (made to fail, so that
    the per-file fallback runs and shows which files are synced)."""
    calls: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def syncfs(path: Path) -> bool:
        calls.append(("syncfs", str(path)))
        return False

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic, "_syncfs", syncfs)
    return calls


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the synced files")
def test_staged_files_are_synced_once_after_the_writer_and_before_the_switch(tmp_path, synced):
    out = tmp_path / "out"
    with atomic.publish_directory(out) as staging:
        atomic.atomic_write_text(staging / "index.html", "home")
        atomic.atomic_write_text(staging / "levels" / "A.csv", "date,level\n")
        atomic.atomic_write_bytes(staging / "levels" / "B.csv", b"date,level\n")
        assert synced == []  # nothing synced while the writer runs
        folder = Path(os.path.realpath(staging))
    version = Path(os.path.realpath(out / "current"))
    # fsync'ed under the staging name, before the rename to versions/N and the switch
    synced_files = [name for kind, name in synced if kind == "fsync"]
    assert synced[0] == ("syncfs", str(staging))
    assert set(synced_files[:3]) == {str(folder / "index.html"), str(folder / "levels" / "A.csv"),
                                     str(folder / "levels" / "B.csv")}
    # then its folders, deepest first, then versions/ and the target after the switch
    assert synced_files[3:5] == [str(folder / "levels"), str(folder)]
    assert (version / "levels" / "B.csv").read_text() == "date,level\n"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the synced files")
def test_a_write_outside_a_staging_folder_is_synced_at_once(tmp_path, synced):
    out = tmp_path / "out"
    with atomic.publish_directory(out) as staging:
        atomic.atomic_write_text(staging / "index.html", "home")
        atomic.atomic_write_text(out / "ledger" / "part.txt", "committed")  # beside the staging folder
        assert [kind for kind, _ in synced] == ["fsync"]
        assert synced[0][1].startswith(str(Path(os.path.realpath(out / "ledger")) / ".part.txt."))


def test_a_failing_writer_leaves_no_deferred_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic.publish_directory(tmp_path / "out") as staging:
            atomic.atomic_write_text(staging / "index.html", "home")
            raise RuntimeError("writer failed")
    assert atomic._DEFERRED_ROOTS == {}
    assert not (tmp_path / "out" / "current").exists()


def test_with_syncfs_no_staged_file_is_fsynced_on_its_own(tmp_path, monkeypatch):
    fsynced: list[int] = []
    monkeypatch.setattr(atomic.os, "fsync", lambda descriptor: fsynced.append(descriptor))
    syncs: list[str] = []
    monkeypatch.setattr(atomic, "_syncfs", lambda path: syncs.append(str(path)) or True)
    with atomic.publish_directory(tmp_path / "out") as staging:
        for number in range(5):
            atomic.atomic_write_text(staging / "levels" / f"{number}.csv", "date,level\n")
    assert syncs == [str(staging)]
    # only versions/ (after the rename) and the target (after the switch), as before
    assert len(fsynced) == 2


def test_a_failing_write_in_a_staging_folder_leaves_no_partial_file(tmp_path):
    def half_written(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    with atomic.publish_directory(tmp_path / "out") as staging:
        atomic.atomic_write_text(staging / "levels" / "A.csv", "date,level\n")
        with pytest.raises(OSError, match="disk full"):
            atomic._write_through(staging / "levels" / "B.csv", half_written)
        assert sorted(path.name for path in (staging / "levels").iterdir()) == ["A.csv"]
    assert sorted(path.name for path in (tmp_path / "out" / "levels").iterdir()) == ["A.csv"]
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    assert (tmp_path / "out" / "levels" / "A.csv").stat().st_mode & 0o777 == ordinary.stat().st_mode & 0o777
