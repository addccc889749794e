"""Issue 20, point 4: one lock for every command that writes an output folder, ``publish``
included, and the "folder holds a ledger" check made inside it.

At 4c1ad00 ``publish`` took no lock and checked for a ledger before computing: a publish
started while a rebuild created the ledger of the same folder passed the check and, finishing
after the rebuild, left levels on the site that were not the ledger's. Now a second writer is
refused at once (one line, exit code 2, nothing written); it does not wait.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from indexcalc.errors import StateError
from indexcalc.ledger import LOCK_FILE, Ledger, output_lock
from tests.reliability import faults
from tests.reliability.conftest import assert_unlocked, fresh_copy, snapshot, start_with_fault
from tests.test_operations_cli import INDEX_IDS, NEXT_DAY, assert_user_error, run_cli

PAUSE_WAIT_SECONDS = 120
BUSY = "another indexcalc run, rebuild or publish is writing this output folder"


def test_the_output_lock_admits_one_writer_and_the_ledger_lock_is_the_same_lock(tmp_path: Path):
    out = tmp_path / "outputs"
    with output_lock(out):
        assert (out / LOCK_FILE).is_file()
        with pytest.raises(StateError, match=BUSY):
            with output_lock(out):
                pass
        with pytest.raises(StateError, match=BUSY):  # the ledger's lock is the folder's
            with Ledger(out / "ledger").lock():
                pass
    assert_unlocked(out)


@pytest.mark.parametrize("command", ["publish", "rebuild", "run"])
def test_every_writing_command_is_refused_while_the_folder_is_locked(reliability_setup, tmp_path, command):
    out = fresh_copy(reliability_setup, tmp_path)
    if command == "publish":
        (tmp_path / "site").mkdir()
        out = tmp_path / "site"
    before = snapshot(out)
    arguments = {
        "publish": ["publish", "--data", reliability_setup["data"]],
        "rebuild": ["rebuild", "--data", reliability_setup["data"]],
        "run": ["run", "--date", NEXT_DAY, "--data", reliability_setup["data"]],
    }[command]
    with output_lock(out):
        result = run_cli(*arguments, "--catalogue", reliability_setup["catalogue"], "--out", out, "--no-progress")
    assert_user_error(result, str(out / LOCK_FILE), BUSY)
    assert snapshot(out) == before


def wait_for(path: Path, process) -> None:
    deadline = time.monotonic() + PAUSE_WAIT_SECONDS
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the paused command never reached its pause"
        time.sleep(0.05)


def finish(process) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=PAUSE_WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr


@pytest.mark.slow
def test_a_publish_during_a_rebuild_is_refused_and_the_site_shows_the_ledger(reliability_setup, tmp_path):
    """The race of the issue: a rebuild creating a new folder's ledger, a publish into it."""
    out = tmp_path / "outputs"
    paused, release = tmp_path / "paused", tmp_path / "release"
    rebuild = start_with_fault(
        "pause-rebuild",
        ["rebuild", "--data", reliability_setup["data_published"], "--catalogue", reliability_setup["catalogue"],
         "--out", out, "--no-progress"],
        {faults.PAUSED_VARIABLE: str(paused), faults.RELEASE_VARIABLE: str(release)},
    )
    try:
        wait_for(paused, rebuild)
        assert not Ledger(out / "ledger").exists()  # the rebuild has not created the ledger yet
        # the full data: at 4c1ad00 this publish went through and put later levels on the site
        refused = run_cli("publish", "--data", reliability_setup["data"], "--catalogue",
                          reliability_setup["catalogue"], "--out", out, "--no-progress")
        assert_user_error(refused, BUSY)
    finally:
        release.write_text("go")
        code, stderr = finish(rebuild)
    assert code == 0, stderr
    ledger = Ledger(out / "ledger").current()
    for index_id in INDEX_IDS:
        site = pl.read_csv(out / "levels" / f"{index_id}.csv", try_parse_dates=True)
        published = ledger.filter(pl.col("index_id") == index_id).select(  # the site shows official levels
            "date", pl.col("official_level").alias("level"), "daily_return"
        )
        assert site.equals(published), index_id
    # and after the rebuild, the ledger check (made inside the lock) refuses the publish
    assert_user_error(run_cli("publish", "--data", reliability_setup["data"], "--catalogue",
                              reliability_setup["catalogue"], "--out", out, "--no-progress"),
                      "holds a ledger of published levels")


@pytest.mark.slow
def test_a_rebuild_during_a_publish_is_refused(reliability_setup, tmp_path):
    out = tmp_path / "site"
    paused, release = tmp_path / "paused", tmp_path / "release"
    publish = start_with_fault(
        "pause-publish",
        ["publish", "--data", reliability_setup["data_published"], "--catalogue", reliability_setup["catalogue"],
         "--out", out, "--no-progress"],
        {faults.PAUSED_VARIABLE: str(paused), faults.RELEASE_VARIABLE: str(release)},
    )
    try:
        wait_for(paused, publish)
        refused = run_cli("rebuild", "--data", reliability_setup["data"], "--catalogue",
                          reliability_setup["catalogue"], "--out", out, "--no-progress")
        assert_user_error(refused, BUSY)
        assert not Ledger(out / "ledger").exists()
    finally:
        release.write_text("go")
        code, stderr = finish(publish)
    assert code == 0, stderr
    assert (out / "levels" / "LO-ER.csv").is_file() and not Ledger(out / "ledger").exists()
    assert_unlocked(out)
