"""Issue 20, point 3: a published index that stops being computable keeps its published files
and ledger rows; the run exits 2 unless ``rebuild --retire ID --reason TEXT`` retires it, which
is recorded in the ledger and shown on its factsheet.

At 4c1ad00 a rebuild on data missing the copper root printed "skipped CU-MACRO-ER", exited 0
and deleted the index's factsheet, levels, weights and methodology page while the ledger kept
its levels.

Catalogue: a long-only index on twelve roots (no copper) and the copper strategy
(universe HG only), published on the data up to PUBLISHED_THROUGH; the new data is the whole
span without the HG root, on which the copper strategy cannot be computed and the long-only
index is unchanged.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from indexcalc.data.longformat import write_long
from indexcalc.ledger import Ledger
from tests.reliability.conftest import snapshot
from tests.test_operations import cut
from tests.test_operations_cli import NEXT_DAY, PUBLISHED_THROUGH, SPAN, assert_user_error, run_cli

LOST = "CU-MACRO-ER"
KEPT = "LO-EP-ER"
REASON = "copper settlements discontinued by the vendor"
CATALOGUE = """
[[index]]
id = "LO-EP-ER"
kind = "momentum"
name = "Long-Only test index without copper"
family = "long_only"
universe = ["CL", "CO", "NG", "RB", "HO", "GC", "SI", "PA", "PL", "C", "W", "S"]
magnitude = { window_months = 3 }
direction = { window_months = 3 }

[[index]]
id = "CU-MACRO-ER"
kind = "copper_macro"
name = "Copper macro test strategy"
universe = ["HG"]
window = 63
regime_long_atr_window = 40
"""
INDEX_FILES = ("levels/{}.csv", "weights/{}.csv", "factsheets/{}.html", "methodology/{}.html")


@pytest.fixture(scope="module")
def retire_setup(tmp_path_factory, embedded_market) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("retire")
    market = cut(embedded_market, *SPAN)
    write_long(market.up_to(PUBLISHED_THROUGH), root / "data_published")
    without_copper = replace(
        market,
        prices=market.prices.filter(pl.col("root") != "HG"),
        instruments={root_: spec for root_, spec in market.instruments.items() if root_ != "HG"},
        held=None if market.held is None else market.held.filter(pl.col("root") != "HG"),
    )
    write_long(without_copper, root / "data_without_copper")
    (root / "catalogue").mkdir()
    (root / "catalogue" / "test.toml").write_text(CATALOGUE)
    published = root / "published" / "outputs"
    result = run_cli("rebuild", "--data", root / "data_published", "--catalogue", root / "catalogue",
                     "--out", published, "--no-progress")
    assert result.exit_code == 0, result.output
    for pattern in INDEX_FILES:
        assert (published / pattern.format(LOST)).is_file()
    return {"published": published, "catalogue": root / "catalogue", "data": root / "data_without_copper"}


def fresh(retire_setup, tmp_path: Path) -> Path:
    out = tmp_path / "outputs"
    shutil.copytree(retire_setup["published"], out, symlinks=True)
    return out


def rebuild(retire_setup, out: Path, *extra):
    return run_cli("rebuild", "--data", retire_setup["data"], "--catalogue", retire_setup["catalogue"],
                   "--out", out, "--no-progress", *extra)


def lost_rows(out: Path) -> pl.DataFrame:
    return Ledger(out / "ledger").read_all().filter(pl.col("index_id") == LOST)


def test_a_rebuild_that_cannot_compute_a_published_index_refuses_and_keeps_everything(retire_setup, tmp_path):
    out = fresh(retire_setup, tmp_path)
    before = snapshot(out)
    result = rebuild(retire_setup, out)
    assert_user_error(result, f"index {LOST}", "can no longer be computed", "roots not in the market data: HG",
                      f"--retire {LOST} --reason")
    assert snapshot(out) == before  # files, ledger rows and state as they were


def test_a_daily_run_that_cannot_compute_a_published_index_refuses_and_keeps_everything(retire_setup, tmp_path):
    out = fresh(retire_setup, tmp_path)
    before = snapshot(out)
    result = run_cli("run", "--date", NEXT_DAY, "--data", retire_setup["data"], "--catalogue",
                     retire_setup["catalogue"], "--out", out, "--no-progress")
    assert_user_error(result, f"index {LOST}", "can no longer be computed", f"--retire {LOST}")
    assert snapshot(out) == before


@pytest.mark.slow
def test_retiring_records_it_in_the_ledger_and_keeps_its_files_with_a_note(retire_setup, tmp_path):
    out = fresh(retire_setup, tmp_path)
    before = snapshot(out)
    rows_before = lost_rows(out)
    result = rebuild(retire_setup, out, "--retire", LOST, "--reason", REASON)
    assert result.exit_code == 0, result.output
    today = dt.datetime.now(dt.timezone.utc).date()  # the run's UTC date (the CLI reads the clock)
    assert f"retired {LOST} on {today}: {REASON} (its levels up to {PUBLISHED_THROUGH}" in result.stdout

    ledger = Ledger(out / "ledger")
    record = ledger.retirements().row(0, named=True)
    assert ledger.retirements().height == 1
    assert (record["index_id"], record["date"], record["last_date"], record["reason"]) == (
        LOST, today, PUBLISHED_THROUGH, REASON)
    appended = ledger.read_all().filter(pl.col("run_time") == record["run_time"])
    assert appended.height > 0 and set(appended.get_column("run_id")) == {record["run_id"]}  # the same run
    assert set(appended.get_column("index_id")) == {KEPT}
    assert lost_rows(out).equals(rows_before)  # its ledger rows stay, none added

    after = snapshot(out)
    # weights and methodology: the previous publication's bytes; levels: the ledger's
    for pattern in ("weights/{}.csv", "methodology/{}.html"):
        assert after[pattern.format(LOST)] == before[pattern.format(LOST)]
    assert after[f"levels/{LOST}.csv"] == before[f"levels/{LOST}.csv"]
    levels = pl.read_csv(out / "levels" / f"{LOST}.csv", try_parse_dates=True)
    shown = pl.col("official_level").alias("level")  # a publication shows official levels
    assert levels.equals(ledger.current().filter(pl.col("index_id") == LOST).select("date", shown, "daily_return"))
    factsheet = after[f"factsheets/{LOST}.html"].decode()
    note = f"Retired on {today:%d %B %Y}: {REASON}. Its last level is of {PUBLISHED_THROUGH:%d %B %Y}"
    assert factsheet.count(note) == 1
    paragraph = f'<p class="note retired" data-retired="{today}">{note}; no further level is calculated.</p>\n'
    assert factsheet.replace(paragraph, "") == before[f"factsheets/{LOST}.html"].decode()  # the page, plus the note
    all_levels = pl.read_parquet(out / "levels" / "all_levels.parquet")
    assert all_levels.filter(pl.col("index_id") == LOST).height == rows_before.height
    assert all_levels.filter(pl.col("index_id") == KEPT).get_column("date").max() > PUBLISHED_THROUGH
    site = (out / "index.html").read_text()
    assert f'data-index="{LOST}"' in site and f"(retired on {today:%d %B %Y})" in site

    # A later rebuild needs no --retire and keeps the retired index's files; the note stays single.
    rerun = rebuild(retire_setup, out)
    assert rerun.exit_code == 0, rerun.output  # no --retire needed any more
    assert (out / "factsheets" / f"{LOST}.html").read_text().count(note) == 1
    assert snapshot(out)[f"weights/{LOST}.csv"] == before[f"weights/{LOST}.csv"]


@pytest.mark.slow
def test_a_daily_run_after_the_retirement_keeps_the_retired_files(retire_setup, tmp_path):
    out = fresh(retire_setup, tmp_path)
    published = run_cli("rebuild", "--data", retire_setup["data"], "--catalogue", retire_setup["catalogue"],
                        "--out", out, "--no-progress", "--retire", LOST, "--reason", REASON)
    assert published.exit_code == 0, published.output
    # running the last published date again republishes every file
    last = Ledger(out / "ledger").last_date()
    again = run_cli("run", "--date", last, "--data", retire_setup["data"], "--catalogue", retire_setup["catalogue"],
                    "--out", out, "--no-progress")
    assert again.exit_code == 0, again.output
    for pattern in INDEX_FILES:
        assert (out / pattern.format(LOST)).is_file(), pattern
    assert (out / "factsheets" / f"{LOST}.html").read_text().count("Retired on ") == 1


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (("--retire", LOST), ("--retire needs --reason",)),
        (("--retire", KEPT, "--reason", REASON), (f"index {KEPT}", "can still compute")),
        (("--retire", "NO-SUCH", "--reason", REASON), ("index NO-SUCH", "no published levels")),
        (("--reason", REASON), ("--reason is only used with --restate or --retire",)),
    ],
)
def test_retirement_mistakes_are_one_line_errors_that_change_nothing(retire_setup, tmp_path, arguments, fragments):
    out = fresh(retire_setup, tmp_path)
    before = snapshot(out)
    assert_user_error(rebuild(retire_setup, out, *arguments), *fragments)
    assert snapshot(out) == before


@pytest.mark.slow
def test_a_full_disk_after_the_retirement_record_keeps_it_and_a_plain_rebuild_completes(
        retire_setup, tmp_path, monkeypatch):
    import errno
    import os

    out = fresh(retire_setup, tmp_path)
    before = snapshot(out)
    original = Ledger._write_part

    def full_for_levels(self, frame, prefix, run_time, run_id):
        if prefix == "part-":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.directory / f".tmp-{run_id}.parquet"))
        return original(self, frame, prefix, run_time, run_id)

    monkeypatch.setattr(Ledger, "_write_part", full_for_levels)
    result = rebuild(retire_setup, out, "--retire", LOST, "--reason", REASON)
    monkeypatch.undo()
    assert_user_error(result, "No space left on device", "the retirement is recorded in the ledger",
                      "no level was committed", "run again (without --retire)")
    assert Ledger(out / "ledger").retirements().get_column("index_id").to_list() == [LOST]
    assert {name: data for name, data in snapshot(out).items() if "/retired-" not in name} == before
    completed = rebuild(retire_setup, out)
    assert completed.exit_code == 0, completed.output
    assert "Retired on " in (out / "factsheets" / f"{LOST}.html").read_text()
