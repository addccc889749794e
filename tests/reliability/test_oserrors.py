"""Issue 20, point 6: every OSError of the output side is one line naming the path and the
cause, exit code 2, and says what the run left (ledger committed or not) and how the next run
recovers.

At 4c1ad00 each was a traceback with exit code 1 (disk full while staging: 48 lines;
read-only folder: 34 lines; disk full writing the day state after the ledger commit). The
faults are monkeypatched into the in-process CLI: the tests run as root, where a read-only
mode does not stop writes (the real read-only folder test skips there).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

import polars as pl
import pytest

import indexcalc.atomic as atomic
import indexcalc.ledger as ledger_module
import indexcalc.publish.levels as levels_module
from indexcalc.ledger import LOCK_FILE, Ledger
from indexcalc.operations import STATE_FILE
from tests.reliability.conftest import assert_unlocked, fresh_copy, snapshot
from tests.test_operations_cli import NEXT_DAY, assert_user_error, run_cli

DISK_FULL = "No space left on device (ENOSPC)"
READ_ONLY = "Read-only file system (EROFS)"


def run_args(setup, out: Path, date=NEXT_DAY) -> list:
    return ["run", "--date", date, "--data", setup["data"], "--catalogue", setup["catalogue"], "--out", out,
            "--no-progress"]


def failing(code: int, after_calls: int = 0, when=lambda path: True):
    """A replacement for a writer ``(path, ...)`` raising OSError(code) for ``path`` from its
    ``after_calls + 1``-th matching call on (the original is called before that)."""
    def install(monkeypatch, module, name):
        original = getattr(module, name)
        calls = [0]

        def write(path, *arguments, **keywords):
            if when(Path(path)):
                calls[0] += 1
                if calls[0] > after_calls:
                    raise OSError(code, os.strerror(code), str(path))
            return original(path, *arguments, **keywords)

        monkeypatch.setattr(module, name, write)
    return install


def assert_no_leftovers(out: Path) -> None:
    assert not list(out.parent.glob(f".{out.name}.*")), "a staging folder was left"
    assert not list((out / "ledger").glob(".tmp-*")), "a temporary ledger part was left"
    assert_unlocked(out)


@pytest.mark.slow
def test_disk_full_while_staging_the_publication(reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)
    failing(errno.ENOSPC, after_calls=2)(monkeypatch, levels_module, "atomic_write_csv")
    result = run_cli(*run_args(reliability_setup, out))
    assert_user_error(result, DISK_FULL, "cannot write", "nothing was changed", "run again")
    line = result.stderr.strip()
    assert ".staging-" in line  # the path of the staged file that could not be written
    assert snapshot(out) == before  # no ledger part, files as they were
    assert_no_leftovers(out)
    monkeypatch.undo()
    again = run_cli(*run_args(reliability_setup, out))  # the documented recovery: run again
    assert again.exit_code == 0, again.output
    assert Ledger(out / "ledger").last_date() == NEXT_DAY


def test_read_only_output_folder(reliability_setup, tmp_path, monkeypatch):
    """A read-only file system refuses the first write: the lock file (opened for writing)."""
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)
    original = os.open

    def read_only_open(path, flags, *arguments, **keywords):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(path).startswith(str(out)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return original(path, flags, *arguments, **keywords)

    monkeypatch.setattr(ledger_module.os, "open", read_only_open)
    for arguments in (run_args(reliability_setup, out),
                      ["rebuild", "--data", reliability_setup["data"], "--catalogue", reliability_setup["catalogue"],
                       "--out", out, "--no-progress"]):
        result = run_cli(*arguments)
        assert_user_error(result, str(out / LOCK_FILE), READ_ONLY, "nothing was changed")
    monkeypatch.undo()
    assert snapshot(out) == before


def test_read_only_staging_folder(reliability_setup, tmp_path, monkeypatch):
    """The lock file exists but the folder beside it refuses the staging folder."""
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)

    def read_only_mkdtemp(*arguments, dir=None, prefix=None, **keywords):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(Path(dir) / f"{prefix}XXXX"))

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", read_only_mkdtemp)
    result = run_cli(*run_args(reliability_setup, out))
    monkeypatch.undo()
    assert_user_error(result, READ_ONLY, "nothing was changed")
    assert snapshot(out) == before
    assert_no_leftovers(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (chmod 555) folder anyway")
def test_a_real_read_only_folder(reliability_setup, tmp_path):
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)
    folders = [out, *[path for path in out.rglob("*") if path.is_dir()], out.parent]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = run_cli(*run_args(reliability_setup, out))
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert_user_error(result, "Permission denied", "nothing was changed")
    assert snapshot(out) == before


@pytest.mark.slow
def test_disk_full_at_the_ledger_commit(reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)
    original = Ledger._write_part

    def full(self, frame, prefix, run_time, run_id):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.directory / f".tmp-{run_id}.parquet"))

    monkeypatch.setattr(Ledger, "_write_part", full)
    result = run_cli(*run_args(reliability_setup, out))
    monkeypatch.setattr(Ledger, "_write_part", original)
    assert_user_error(result, str(out / "ledger" / ".tmp-"), DISK_FULL, "nothing was published",
                      "no ledger part was committed")
    assert snapshot(out) == before
    assert_no_leftovers(out)


@pytest.mark.slow
def test_disk_full_writing_the_day_state_after_the_ledger_commit(reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    state = out / "ledger" / STATE_FILE
    state_before = state.read_bytes()
    failing(errno.ENOSPC, when=lambda path: path.name == STATE_FILE)(monkeypatch, atomic, "atomic_write_bytes")
    result = run_cli(*run_args(reliability_setup, out))
    monkeypatch.undo()
    assert_user_error(result, str(state), DISK_FULL, "committed to the ledger", "state was not written",
                      "next run calculates in full")
    # the state after it, as the message says: D committed and published, the old state kept
    assert Ledger(out / "ledger").last_date() == NEXT_DAY
    published = pl.read_csv(out / "levels" / "LO-ER.csv", try_parse_dates=True)
    assert published.get_column("date").max() == NEXT_DAY
    assert state.read_bytes() == state_before
    assert_no_leftovers(out)
    # the next run recovers: the old state is as of an earlier date, so it calculates in full
    next_day = NEXT_DAY + dt.timedelta(days=1)  # a Tuesday
    result = run_cli(*run_args(reliability_setup, out, next_day))
    assert result.exit_code == 0, result.output
    assert f"{next_day}: " in result.stdout and "(calculated in full)" in result.stdout
    assert state.read_bytes() != state_before


def test_disk_full_during_a_publish(reliability_setup, tmp_path, monkeypatch):
    site = tmp_path / "site"
    failing(errno.ENOSPC, after_calls=1)(monkeypatch, levels_module, "atomic_write_csv")
    result = run_cli("publish", "--data", reliability_setup["data_published"], "--catalogue",
                     reliability_setup["catalogue"], "--out", site, "--no-progress", "--workers", "1")
    monkeypatch.undo()
    assert_user_error(result, DISK_FULL, "nothing was published")
    assert snapshot(site) == {}
    assert_no_leftovers(site)


@pytest.mark.slow
def test_a_failed_swap_after_the_ledger_commit_is_repaired_by_running_the_date_again(
        reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    levels_before = (out / "levels" / "LO-ER.csv").read_bytes()
    original = os.replace

    def replace(source, target, *arguments, **keywords):
        if Path(target).name == atomic.CURRENT_LINK:  # switching the publication (after the commit)
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(target))
        return original(source, target, *arguments, **keywords)

    monkeypatch.setattr(atomic.os, "replace", replace)
    result = run_cli(*run_args(reliability_setup, out))
    monkeypatch.undo()
    assert_user_error(result, "Input/output error (EIO)", "committed to the ledger",
                      "published files were not replaced", "run the same command again")
    assert Ledger(out / "ledger").last_date() == NEXT_DAY
    assert (out / "levels" / "LO-ER.csv").read_bytes() == levels_before
    assert_no_leftovers(out)
    again = run_cli(*run_args(reliability_setup, out))
    assert again.exit_code == 0, again.output
    assert "already published: nothing appended" in again.stdout
    assert pl.read_csv(out / "levels" / "LO-ER.csv", try_parse_dates=True).get_column("date").max() == NEXT_DAY


@pytest.mark.slow
def test_a_catch_up_stopped_by_a_full_disk_keeps_the_days_before_and_continues(
        reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    stop, target = NEXT_DAY + dt.timedelta(days=1), NEXT_DAY + dt.timedelta(days=2)
    original = Ledger._write_part

    def full_on_stop(self, frame, prefix, run_time, run_id):
        if run_id.endswith(f"{stop:%Y%m%d}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.directory / f".tmp-{run_id}.parquet"))
        return original(self, frame, prefix, run_time, run_id)

    monkeypatch.setattr(Ledger, "_write_part", full_on_stop)
    result = run_cli(*run_args(reliability_setup, out, target), "--catch-up")
    monkeypatch.undo()
    assert_user_error(result, DISK_FULL, f"catching up stopped at {stop}", f"the days before {stop} are committed")
    assert Ledger(out / "ledger").last_date() == NEXT_DAY
    assert_no_leftovers(out)
    again = run_cli(*run_args(reliability_setup, out, target), "--catch-up")
    assert again.exit_code == 0, again.output
    assert f"caught up {stop}" in again.stdout
    assert Ledger(out / "ledger").last_date() == target


@pytest.mark.slow
def test_a_catch_up_whose_last_day_cannot_be_staged_says_the_days_before_are_committed(
        reliability_setup, tmp_path, monkeypatch):
    out = fresh_copy(reliability_setup, tmp_path)
    target = NEXT_DAY + dt.timedelta(days=2)
    failing(errno.ENOSPC, after_calls=2)(monkeypatch, levels_module, "atomic_write_csv")
    result = run_cli(*run_args(reliability_setup, out, target), "--catch-up")
    monkeypatch.undo()
    assert_user_error(result, DISK_FULL, "nothing was changed",
                      f"caught up before it, {NEXT_DAY} to {NEXT_DAY + dt.timedelta(days=1)}, are committed")
    assert Ledger(out / "ledger").last_date() == NEXT_DAY + dt.timedelta(days=1)
    assert_no_leftovers(out)
    again = run_cli(*run_args(reliability_setup, out, target))
    assert again.exit_code == 0, again.output
    assert Ledger(out / "ledger").last_date() == target
