"""Issue 20, point 2: future dates never become published levels.

At the starting commit a price dated 2099-01-05 passed `data check`, `rebuild` appended it to the
ledger with exit 0 and the site showed it. Rows dated after the run's clock (today, set by
``INDEXCALC_TODAY`` in tests) are now refused at validation with file, row and date.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.data.instruments import load_instruments
from indexcalc.data.validate import validate_prices
from indexcalc.errors import DataError, SpecError

HEADER = "date,root,contract,settle\n"
ROWS = "2020-01-02,CL,202003,61.18\n2020-01-03,CL,202003,62.00\n"
FUTURE = "2099-01-05,CL,202003,63.00\n"
TODAY = "2026-12-07"


def invoke(*arguments, today: str | None = TODAY):
    env = {"INDEXCALC_TODAY": today} if today is not None else {}
    return CliRunner().invoke(main, [str(argument) for argument in arguments], env=env)


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.output


def test_data_check_refuses_a_future_dated_price_with_file_row_and_date(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + ROWS + FUTURE)
    one_line_error(
        invoke("data", "check", path),
        f"{path}: row 4: date 2099-01-05 is after {TODAY} (the run's date): a future-dated row",
    )


def test_the_clock_is_injectable_a_row_of_tomorrow_is_refused_and_of_today_accepted(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + ROWS)
    one_line_error(
        invoke("data", "check", path, today="2020-01-02"),
        f"{path}: row 3: date 2020-01-03 is after 2020-01-02 (the run's date): a future-dated row",
    )
    assert invoke("data", "check", path, today="2020-01-03").exit_code == 0


def test_rebuild_with_a_future_dated_price_writes_nothing(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + ROWS + FUTURE)
    out = tmp_path / "out"
    result = invoke("rebuild", "--data", path, "--out", out, "--no-progress")
    one_line_error(result, f"{path}: row 4: date 2099-01-05 is after {TODAY} (the run's date): a future-dated row")
    assert not out.exists()


def test_series_and_publish_refuse_it_too(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + FUTURE + ROWS)
    message = f"{path}: row 2: date 2099-01-05 is after {TODAY} (the run's date): a future-dated row"
    one_line_error(invoke("series", "--data", path, "--out", tmp_path / "series"), message)
    one_line_error(invoke("publish", "--data", path, "--out", tmp_path / "site"), message)
    assert not (tmp_path / "series").exists() and not (tmp_path / "site").exists()


def test_run_refuses_a_date_after_today(tmp_path):
    result = invoke("run", "--date", "2099-01-05", "--out", tmp_path / "out", "--no-progress")
    one_line_error(result, f"--date 2099-01-05 is after today {TODAY}: a future date cannot be published")


def test_reference_files_of_a_directory_are_checked_too(tmp_path):
    (tmp_path / "prices.csv").write_text(HEADER + ROWS)
    (tmp_path / "rates.csv").write_text("date,tbill\n2020-01-02,0.015\n2099-01-05,0.016\n")
    one_line_error(
        invoke("data", "check", tmp_path),
        f"{tmp_path / 'rates.csv'}: row 3: date 2099-01-05 is after {TODAY} (the run's date): a future-dated row",
    )


def test_a_pysystemtrade_folder_names_the_key(tmp_path):
    from tests.data.conftest import INSTRUMENT_CONFIG, MULTIPLE_PRICES_HEADER, ROLL_CONFIG

    folder = tmp_path / "pysystemtrade"
    (folder / "multiple_prices_csv").mkdir(parents=True)
    (folder / "csvconfig").mkdir()
    (folder / "csvconfig" / "instrumentconfig.csv").write_text(INSTRUMENT_CONFIG)
    (folder / "csvconfig" / "rollconfig.csv").write_text(ROLL_CONFIG)
    (folder / "multiple_prices_csv" / "COPPER.csv").write_text(
        MULTIPLE_PRICES_HEADER
        + "\n2015-06-09 23:00:00,2.7,20150900,2.69,20150700,,20150900\n"
        + "2099-01-05 23:00:00,2.7,20150900,2.70,20150700,,20150900\n"
    )
    one_line_error(
        invoke("data", "check", folder),
        f"{folder}: root COPPER contract 201507 date 2099-01-05: date 2099-01-05 is after "
        f"{TODAY} (the run's date): a future-dated row",
    )


def test_validation_takes_the_date_as_a_parameter():
    frame = pl.DataFrame({"date": ["2020-01-02", "2020-01-06"], "root": ["CL", "CL"], "contract": ["202003"] * 2, "settle": ["1", "1"]})
    instruments = load_instruments()
    assert validate_prices(frame, instruments, "p.csv", not_after=dt.date(2020, 1, 6)).height == 2
    with pytest.raises(DataError, match=r"^p.csv: row 3: date 2020-01-06 is after 2020-01-03"):
        validate_prices(frame, instruments, "p.csv", not_after=dt.date(2020, 1, 3))


def test_the_clock_reads_the_override_and_refuses_a_bad_one():
    from indexcalc.clock import run_today

    assert run_today({"INDEXCALC_TODAY": "2020-04-20"}) == dt.date(2020, 4, 20)
    assert run_today({}) == dt.datetime.now(dt.timezone.utc).date()
    with pytest.raises(SpecError, match=r"INDEXCALC_TODAY: '20/04/2020' is not a date YYYY-MM-DD"):
        run_today({"INDEXCALC_TODAY": "20/04/2020"})


@pytest.mark.slow
def test_the_embedded_synthetic_market_is_not_held_to_the_machine_clock():
    # its dates are fixed (to 2026-10-30) and committed: a machine whose clock is earlier still runs it
    result = invoke("data", "check", today="2026-01-02")
    assert result.exit_code == 0, result.output
