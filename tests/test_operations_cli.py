"""``indexcalc rebuild``, ``run`` and ``history`` end to end, including runs killed with SIGKILL.

Data: the embedded SYNTHETIC market cut to 2023-01 .. 2024-10, written as long-format folders
(one ending at the published date, one complete); catalogue: four indexes of three kinds with
short look-backs (TOML below), so that publishing stays quick.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from indexcalc.cli import main
from indexcalc.data.longformat import write_long
from tests.test_operations import cut, snapshot
from indexcalc.ledger import Ledger

PUBLISHED_THROUGH = dt.date(2024, 6, 28)
NEXT_DAY = dt.date(2024, 7, 1)
SPAN = (dt.date(2023, 1, 1), dt.date(2024, 10, 31))
KILL_WAIT_SECONDS = 180

CATALOGUE = """
[[index]]
id = "LO-ER"
kind = "momentum"
name = "Long-Only test index (Excess Return)"
family = "long_only"
magnitude = { window_months = 3 }
direction = { window_months = 3 }

[[index]]
id = "LS-TR"
kind = "momentum"
name = "Long/Short test index (Total Return)"
family = "long_short"
return_type = "tr"
magnitude = { window_months = 3 }
direction = { window_months = 3 }

[[index]]
id = "BM-EQ-ER"
kind = "base_metals"
name = "Base metals equal-weight test basket"
weighting = "equal"
covariance_window = 63

[[index]]
id = "CU-MACRO-ER"
kind = "copper_macro"
name = "Copper macro test strategy"
universe = ["HG"]
window = 63
regime_long_atr_window = 40
"""
INDEX_IDS = ("LO-ER", "LS-TR", "BM-EQ-ER", "CU-MACRO-ER")


def run_cli(*arguments) -> Result:
    return CliRunner().invoke(main, [str(argument) for argument in arguments])


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit 2 with one ``error:`` line naming every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output




def ledger_temporaries(out: Path) -> list[str]:
    return sorted(path.name for path in (out / "ledger").glob(".tmp-*"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, embedded_market) -> dict[str, Path]:
    """Data folders, the catalogue, and a publication (rebuild) of the data up to PUBLISHED_THROUGH."""
    root = tmp_path_factory.mktemp("operations_cli")
    market = cut(embedded_market, *SPAN)
    write_long(market, root / "data_full")
    write_long(market.up_to(PUBLISHED_THROUGH), root / "data_published")
    gappy = replace(market, prices=market.prices.filter(~((pl.col("root") == "CL") & (pl.col("date") == NEXT_DAY))))
    write_long(gappy, root / "data_gappy")
    (root / "catalogue").mkdir()
    (root / "catalogue" / "test.toml").write_text(CATALOGUE)
    published = root / "published" / "outputs"
    result = run_cli("rebuild", "--data", root / "data_published", "--catalogue", root / "catalogue",
                     "--out", published)
    assert result.exit_code == 0, result.output
    assert "initial publication" in result.stdout
    return {"root": root, "published": published, "catalogue": root / "catalogue",
            "data": root / "data_full", "gappy": root / "data_gappy"}


def fresh(setup, tmp_path: Path) -> Path:
    out = tmp_path / "outputs"
    shutil.copytree(setup["published"], out, symlinks=True)
    return out


def run_args(setup, out: Path, date: dt.date, data: Path | None = None) -> list:
    return ["run", "--date", date.isoformat(), "--data", data or setup["data"], "--catalogue", setup["catalogue"],
            "--out", out]


def test_rebuild_publishes_levels_weights_factsheets_and_the_initial_ledger(setup):
    out = setup["published"]
    for index_id in INDEX_IDS:
        levels = pl.read_csv(out / "levels" / f"{index_id}.csv", try_parse_dates=True)
        assert levels.columns == ["date", "level", "daily_return"]
        assert levels.get_column("date").max() == PUBLISHED_THROUGH
        assert (out / "weights" / f"{index_id}.csv").is_file()
        assert (out / "factsheets" / f"{index_id}.html").is_file()
    ledger = Ledger(out / "ledger").current()
    assert set(ledger.get_column("index_id")) == set(INDEX_IDS)
    assert set(ledger.get_column("version")) == {1}


@pytest.mark.slow
def test_daily_run_appends_once_and_history_shows_levels_as_published(setup, tmp_path):
    out = fresh(setup, tmp_path)
    result = run_cli(*run_args(setup, out, NEXT_DAY))
    assert result.exit_code == 0, result.output
    assert f"{NEXT_DAY}: {len(INDEX_IDS)} levels appended" in result.stdout
    after_first = snapshot(out)
    again = run_cli(*run_args(setup, out, NEXT_DAY))
    assert again.exit_code == 0, again.output
    assert "already published: nothing appended" in again.stdout
    assert snapshot(out) == after_first
    assert len(Ledger(out / "ledger").parts()) == 2

    history = run_cli("history", "LO-ER", "--out", out)
    assert history.exit_code == 0, history.output
    table = pl.read_csv(history.stdout.encode(), try_parse_dates=True)
    assert table.columns == ["date", "level", "version", "run_time", "calculated_level"]
    assert table.get_column("date").max() == NEXT_DAY
    levels = pl.read_csv(out / "levels" / "LO-ER.csv", try_parse_dates=True)
    assert table.select("date", "level").equals(levels.select("date", "level"))
    # As of a moment between the two publications, the history ends at the published date.
    first_run = Ledger(out / "ledger").read_all().get_column("run_time").min()
    as_of = (first_run + dt.timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    earlier = run_cli("history", "LO-ER", "--as-of", as_of, "--out", out)
    assert earlier.exit_code == 0, earlier.output
    assert pl.read_csv(earlier.stdout.encode(), try_parse_dates=True).get_column("date").max() == PUBLISHED_THROUGH


@pytest.mark.slow
def test_a_ledger_only_run_continues_from_the_stored_state_and_a_rerun_publishes(setup, tmp_path):
    out = fresh(setup, tmp_path)
    levels_before = (out / "levels" / "LO-ER.csv").read_bytes()
    first = run_cli(*run_args(setup, out, NEXT_DAY), "--no-publish")
    assert first.exit_code == 0, first.output
    assert "(calculated in full); files not republished (--no-publish)" in first.stdout  # a new month
    second_day = NEXT_DAY + dt.timedelta(days=1)
    second = run_cli(*run_args(setup, out, second_day), "--no-publish")
    assert second.exit_code == 0, second.output
    assert f"{second_day}: {len(INDEX_IDS)} levels appended" in second.stdout
    assert "(continued from the stored state)" in second.stdout
    assert (out / "levels" / "LO-ER.csv").read_bytes() == levels_before
    again = run_cli(*run_args(setup, out, second_day), "--no-publish")
    assert "already published; nothing to do" in again.stdout
    published = run_cli(*run_args(setup, out, second_day))
    assert published.exit_code == 0, published.output
    assert f"{out} republished" in published.stdout
    levels = pl.read_csv(out / "levels" / "LO-ER.csv", try_parse_dates=True)
    ledger = Ledger(out / "ledger").current().filter(pl.col("index_id") == "LO-ER")
    assert levels.get_column("date").max() == second_day
    assert levels.equals(ledger.select("date", pl.col("official_level").alias("level"), "daily_return"))


def test_user_errors_are_one_line_with_exit_code_2(setup, tmp_path):
    out = fresh(setup, tmp_path)
    assert_user_error(run_cli(*run_args(setup, out, dt.date(2024, 7, 6))), "date 2024-07-06",
                      "not a business day")
    assert_user_error(run_cli(*run_args(setup, out, NEXT_DAY, setup["gappy"])), "missing required data",
                      "root CL, contract", f"date {NEXT_DAY}")
    assert_user_error(run_cli(*run_args(setup, out, dt.date(2024, 7, 3))), "not published", "--catch-up")
    assert_user_error(run_cli("rebuild", "--restate", "--out", out), "--restate needs --reason")
    assert_user_error(run_cli("history", "NO-SUCH", "--out", out), "index NO-SUCH", "nothing published")
    assert_user_error(run_cli(*run_args(setup, tmp_path / "nothing", NEXT_DAY)), "indexcalc rebuild")
    bad_as_of = run_cli("history", "LO-ER", "--as-of", "yesterday", "--out", out)
    assert bad_as_of.exit_code == 2 and "--as-of" in bad_as_of.output
    assert snapshot(out) == snapshot(setup["published"])


@pytest.mark.slow
def test_catch_up_runs_the_missing_days(setup, tmp_path):
    out = fresh(setup, tmp_path)
    result = run_cli(*run_args(setup, out, dt.date(2024, 7, 3)), "--catch-up")
    assert result.exit_code == 0, result.output
    assert "caught up 2024-07-01" in result.stdout and "caught up 2024-07-02" in result.stdout
    assert Ledger(out / "ledger").last_date() == dt.date(2024, 7, 3)
    assert pl.read_csv(out / "levels" / "LS-TR.csv", try_parse_dates=True).get_column("date").max() == dt.date(
        2024, 7, 3)


@pytest.mark.slow
def test_rebuild_with_a_corrected_settlement_reports_then_restates_with_a_reason(setup, tmp_path, embedded_market):
    out = fresh(setup, tmp_path)
    day = dt.date(2024, 6, 18)
    market = cut(embedded_market, SPAN[0], PUBLISHED_THROUGH)
    # Every GC contract's settle on that day is corrected by +0.5%.
    corrected = replace(market, prices=market.prices.with_columns(
        pl.when((pl.col("root") == "GC") & (pl.col("date") == day)).then(pl.col("settle") * 1.005)
        .otherwise(pl.col("settle")).alias("settle")))
    write_long(corrected, tmp_path / "corrected")
    before = snapshot(out)
    refused = run_cli("rebuild", "--data", tmp_path / "corrected", "--catalogue", setup["catalogue"], "--out", out)
    assert_user_error(refused, "would move", "nothing was changed", "restatements")
    reports = list((out / "restatements").glob("*.csv"))
    assert len(reports) == 1
    report = pl.read_csv(reports[0], try_parse_dates=True)
    assert report.height > 0 and report.get_column("date").min() == day
    assert set(report.get_column("index")) <= {"LO-ER", "LS-TR"}  # the indexes holding gold
    assert {name: data for name, data in snapshot(out).items() if not name.startswith("restatements")} == before

    restated = run_cli("rebuild", "--data", tmp_path / "corrected", "--catalogue", setup["catalogue"], "--out", out,
                       "--restate", "--reason", "gold settlement corrected")
    assert restated.exit_code == 0, restated.output
    assert f"restated {report.height} levels" in restated.stdout
    history = pl.read_csv(run_cli("history", "LO-ER", "--out", out).stdout.encode(), try_parse_dates=True)
    assert history.filter(pl.col("date") == day).get_column("version").item() == 2
    first_time = Ledger(out / "ledger").read_all().get_column("run_time").min()
    old = run_cli("history", "LO-ER", "--as-of", first_time.isoformat(), "--out", out)
    old_table = pl.read_csv(old.stdout.encode(), try_parse_dates=True)
    assert set(old_table.get_column("version")) == {1}
    moved = report.filter(pl.col("index") == "LO-ER")
    assert old_table.join(moved, on="date").select((pl.col("level") == pl.col("published")).all()).item()


# --- killed runs ---------------------------------------------------------------------------------

PAUSING_RUN = """
import sys, time
from pathlib import Path

marker, where, *arguments = sys.argv[1:]

def pause():
    Path(marker).write_text("paused")
    time.sleep(600)

if where == "writer":
    # Pause inside the publication writer, after a few files were written to the staging folder.
    import indexcalc.publish.levels as levels
    original = levels.atomic_write_csv
    calls = [0]
    def write(path, frame):
        calls[0] += 1
        if calls[0] == 4:
            pause()
        return original(path, frame)
    levels.atomic_write_csv = write
else:
    # Pause at the commit point: the ledger part is written but not yet renamed into place.
    import os
    import indexcalc.ledger as ledger
    original_replace = os.replace
    def replace(source, target):
        if Path(target).name.startswith("part-"):
            pause()
        return original_replace(source, target)
    ledger.os.replace = replace

from indexcalc.cli import main
main(arguments, prog_name="indexcalc")
"""


@pytest.mark.parametrize("where", ["writer", "commit"])
@pytest.mark.slow
def test_a_run_killed_with_sigkill_leaves_every_published_file_unchanged(setup, tmp_path, where):
    out = fresh(setup, tmp_path)
    before = snapshot(out)
    marker = tmp_path / "paused"
    arguments = [str(argument) for argument in run_args(setup, out, NEXT_DAY)]
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_RUN, str(marker), where, *arguments],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the run never reached the pause"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    # Ledger parts, levels, weights, factsheets: every published file unchanged. Killed at the
    # commit point, the unrenamed ledger part is left as a hidden temporary file, which readers
    # ignore and the next run deletes.
    after = snapshot(out)
    leftovers = ledger_temporaries(out)
    assert len(leftovers) == (1 if where == "commit" else 0)
    assert {name: data for name, data in after.items() if Path(name).name not in leftovers} == before
    # Running the date again completes the publication and clears the killed run's staging folder.
    result = run_cli(*run_args(setup, out, NEXT_DAY))
    assert result.exit_code == 0, result.output
    assert Ledger(out / "ledger").last_date() == NEXT_DAY
    assert not list(out.parent.glob(".outputs.staging-*"))
    assert ledger_temporaries(out) == []


@pytest.mark.slow
def test_run_without_a_date_appends_every_unpublished_session_up_to_the_data_end(setup, tmp_path, embedded_market):
    out = fresh(setup, tmp_path)
    # the data ends two sessions after the published date (Monday 1 and Tuesday 2 July 2024)
    second_day = dt.date(2024, 7, 2)
    data = tmp_path / "data_two_days"
    write_long(cut(embedded_market, *SPAN).up_to(second_day), data)
    arguments = ["--data", data, "--catalogue", setup["catalogue"], "--out", out, "--no-publish"]
    result = run_cli("run", *arguments)
    assert result.exit_code == 0, result.output
    assert f"caught up {NEXT_DAY}: {len(INDEX_IDS)} levels appended" in result.stdout
    assert f"{second_day}: {len(INDEX_IDS)} levels appended" in result.stdout
    ledger = Ledger(out / "ledger").current()
    assert ledger.filter(pl.col("date") > PUBLISHED_THROUGH).group_by("date").len().sort("date").rows() == [
        (NEXT_DAY, len(INDEX_IDS)), (second_day, len(INDEX_IDS))]
    again = run_cli("run", *arguments)
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    assert len(Ledger(out / "ledger").parts()) == len(Ledger(setup["published"] / "ledger").parts()) + 2

    # past the data's end: one line naming the data's last date (exit 2)
    past = run_cli("run", "--date", "2024-07-10", *arguments)
    assert_user_error(past, "2024-07-10 is after the end of the data", "the data ends on 2024-07-02")


def test_an_already_published_date_returns_before_loading_the_data(setup, tmp_path):
    out = fresh(setup, tmp_path)
    started = time.perf_counter()
    result = run_cli("run", "--date", PUBLISHED_THROUGH.isoformat(), "--data", tmp_path / "no-such-data",
                     "--out", out, "--no-publish")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "already published; nothing to do" in result.stdout and elapsed < 1.0
    earlier = run_cli("run", "--date", "2024-06-03", "--data", tmp_path / "no-such-data", "--out", out)
    assert earlier.exit_code == 0 and "already published" in earlier.stdout


@pytest.mark.slow
def test_the_release_report_of_a_run_matches_the_ledger(setup, tmp_path):
    out = fresh(setup, tmp_path)
    result = run_cli(*run_args(setup, out, NEXT_DAY), "--no-publish")
    assert result.exit_code == 0, result.output
    assert f"Release report {NEXT_DAY}: {len(INDEX_IDS)} indexes" in result.stdout
    report = json.loads((out / "reports" / f"{NEXT_DAY}.json").read_text())
    assert (out / "reports" / f"{NEXT_DAY}.txt").read_text().startswith("index")
    ledger = Ledger(out / "ledger").current()
    today = {row["index_id"]: row for row in ledger.filter(pl.col("date") == NEXT_DAY).iter_rows(named=True)}
    before = {row["index_id"]: row for row in ledger.filter(pl.col("date") == PUBLISHED_THROUGH).iter_rows(named=True)}
    assert sorted(entry["index"] for entry in report["indexes"]) == sorted(INDEX_IDS) and report["held"] is False
    for entry in report["indexes"]:
        index_id = entry["index"]
        assert entry["level"] == today[index_id]["official_level"]
        assert entry["daily_change"] == today[index_id]["daily_return"]
        assert (entry["previous_date"], entry["previous_level"]) == (
            str(PUBLISHED_THROUGH), before[index_id]["official_level"])
        assert entry["flagged"] == (abs(entry["daily_change"]) > entry["threshold"])
    # 2024-07-01 is the first session of July: the composites' July weights take effect at its close
    assert {entry["index"]: entry["rebalanced"] for entry in report["indexes"]}["LO-ER"] is True


@pytest.mark.slow
def test_a_held_day_is_published_only_by_its_release(setup, tmp_path):
    out = fresh(setup, tmp_path)
    levels_before = (out / "levels" / "LO-ER.csv").read_bytes()
    held = run_cli(*run_args(setup, out, NEXT_DAY), "--hold-on-flags", "--review-threshold", "0")
    assert held.exit_code == 0, held.output
    assert "held for review: nothing published" in held.stdout
    assert (out / "levels" / "LO-ER.csv").read_bytes() == levels_before
    assert json.loads((out / "reports" / f"{NEXT_DAY}.json").read_text())["held"] is True
    rows = Ledger(out / "ledger").current().filter(pl.col("date") == NEXT_DAY)
    assert rows.height == len(INDEX_IDS) and not rows.get_column("released").any()
    # no run (nor rebuild) while a day is held
    refused = run_cli(*run_args(setup, out, dt.date(2024, 7, 2)))
    assert_user_error(refused, f"{NEXT_DAY} is held for review", "indexcalc release --date")

    released = run_cli("release", "--date", NEXT_DAY.isoformat(), "--by", "A. Checker", "--data", setup["data"],
                       "--catalogue", setup["catalogue"], "--out", out)
    assert released.exit_code == 0, released.output
    assert f"{NEXT_DAY}: {len(INDEX_IDS)} levels released by A. Checker" in released.stdout
    ledger = Ledger(out / "ledger")
    current = ledger.current()
    assert current.get_column("released").all() and current.filter(pl.col("date") > NEXT_DAY).is_empty()
    record = current.filter(pl.col("date") == NEXT_DAY)
    assert set(record.get_column("reason")) == {"released by A. Checker"}
    assert ledger.read_all().filter(pl.col("date") == NEXT_DAY).height == 2 * len(INDEX_IDS)
    # exactly the held day is published, with its held (official) levels
    levels = pl.read_csv(out / "levels" / "LO-ER.csv", try_parse_dates=True)
    assert levels.get_column("date").max() == NEXT_DAY
    held_level = rows.filter(pl.col("index_id") == "LO-ER").get_column("official_level").item()
    assert levels.filter(pl.col("date") == NEXT_DAY).get_column("level").item() == held_level
    again = run_cli("release", "--date", NEXT_DAY.isoformat(), "--by", "B", "--data", setup["data"],
                    "--catalogue", setup["catalogue"], "--out", out)
    assert_user_error(again, f"nothing is held for review on {NEXT_DAY}")
