"""pysystemtrade importer: hand-built folders, bad cells, and all 10 shared roots against the
raw CSVs read independently with the csv module."""

from __future__ import annotations

import csv
import functools
import datetime as dt
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest
from data_cli import assert_user_error, run_cli

from indexcalc.data.longformat import read_long
from indexcalc.data.pysystemtrade import read_adjusted_prices, read_pysystemtrade

SHARED_ROOTS = ["BRENT_W", "COFFEE", "COPPER", "CORN", "CRUDE_W", "GAS_US", "GOLD", "PALLAD", "SOYBEAN", "WHEAT"]

COPPER_DAYS = (
    # Stamps in London time (the default); COPPER settles at 13:00 New York = 18:00 London in
    # June, so every intraday row below is at or before the settlement and eligible.
    # 9 June: one daily row; CARRY and FORWARD name the same contract (one row, 2.70).
    "2015-06-09 23:00:00,2.70,20150900,2.69,20150700,2.70,20150900\n"
    # 10 June: intraday rows; each contract closes at its last eligible price, here all on the
    # 16:00 row. There CARRY (2.76) and FORWARD (2.75) both name Sep 2015: FORWARD's value wins.
    # CARRY's 2.71 at 15:00 is earlier.
    "2015-06-10 15:00:00,2.71,20150900,2.72,20150700,2.71,20150900\n"
    "2015-06-10 16:00:00,2.76,20150900,2.74,20150700,2.75,20150900\n"
    # 11 June: a snapshot row (not on the hour: the 23:00 row stays the daily close) and the
    # daily row, which has no PRICE: Jul 2015 closes at its last price, 2.78 at 10:00:05;
    # Sep 2015 at 2.80 (FORWARD, 23:00), not 2.79 (10:00:05).
    "2015-06-11 10:00:05,2.79,20150900,2.78,20150700,2.79,20150900\n"
    "2015-06-11 23:00:00,,20150900,,20150700,2.80,20150900\n"
    # 12 June: rolled intraday. The daily row holds Sep 2015 without a PRICE; Sep's last price is
    # FORWARD's 2.83 at 15:00:07 (another column), Jul's is PRICE's 2.82, Dec's 2.90 at 23:00.
    "2015-06-12 15:00:07,,20150900,2.82,20150700,2.83,20150900\n"
    "2015-06-12 23:00:00,,20150700,,20150900,2.90,20151200\n"
    # 15 June: no price at all for the held Sep 2015: it is held without a settle.
    "2015-06-15 23:00:00,,20150700,,20150900,2.95,20151200\n"
)
LEANHOG_DAYS = "2015-06-09 23:00:00,80.1,20150800,79.5,20150600,81.0,20150800\n"


def test_a_contract_closes_at_its_last_price_of_the_day_in_any_column(pysystemtrade_folder):
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": COPPER_DAYS, "LEANHOG": LEANHOG_DAYS}))
    copper = market.prices.filter(pl.col("root") == "COPPER").select("date", "contract", "settle").rows()
    assert copper == [
        (dt.date(2015, 6, 9), 201507, 2.69),
        (dt.date(2015, 6, 9), 201509, 2.70),
        (dt.date(2015, 6, 10), 201507, 2.74),
        (dt.date(2015, 6, 10), 201509, 2.75),
        (dt.date(2015, 6, 11), 201507, 2.78),
        (dt.date(2015, 6, 11), 201509, 2.80),
        (dt.date(2015, 6, 12), 201507, 2.82),
        (dt.date(2015, 6, 12), 201509, 2.83),
        (dt.date(2015, 6, 12), 201512, 2.90),
        (dt.date(2015, 6, 15), 201512, 2.95),
    ]
    assert market.prices.get_column("volume").null_count() == market.prices.height
    assert market.prices.get_column("open_interest").null_count() == market.prices.height
    # The held contract is the PRICE_CONTRACT of the session's last eligible row.
    held = market.held.filter(pl.col("root") == "COPPER").select("date", "contract").rows()
    assert held == [
        (dt.date(2015, 6, 9), 201507),
        (dt.date(2015, 6, 10), 201507),
        (dt.date(2015, 6, 11), 201507),
        (dt.date(2015, 6, 12), 201509),
        (dt.date(2015, 6, 15), 201509),
    ]
    assert market.rates.height == 0


def test_rows_out_of_time_order_in_the_file_are_read_in_time_order(pysystemtrade_folder):
    # The 16:00 row comes first in the file; the 15:00 row is still the earlier one.
    body = (
        "2015-06-10 16:00:00,2.76,20150900,2.74,20150700,2.75,20150900\n"
        "2015-06-10 15:00:00,2.71,20150900,2.72,20150800,2.71,20150900\n"
    )
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": body}))
    assert market.prices.select("contract", "settle").rows() == [(201507, 2.74), (201508, 2.72), (201509, 2.75)]
    assert market.held.select("contract").rows() == [(201507,)]


def test_instruments_come_from_csvconfig(pysystemtrade_folder):
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": COPPER_DAYS, "LEANHOG": LEANHOG_DAYS}))
    copper, hogs = market.instruments["COPPER"], market.instruments["LEANHOG"]
    assert (copper.multiplier, copper.hold_months, copper.listed_months) == (25000.0, "HNUZ", "FHJMNUVZ")
    assert (copper.sector, copper.calendar, copper.name) == ("base_metals", "CMES", "Copper")
    # LEANHOG is not in the sector map and "Ags" is ambiguous: "other". Its data trades June
    # (M), which PricedRollCycle GJKMNQVZ already lists.
    assert (hogs.sector, hogs.multiplier, hogs.hold_months, hogs.listed_months) == ("other", 400.0, "GJMQVZ", "GJKMNQVZ")
    # ExpiryOffset 27 calendar days = round(27 * 5/7) = 19 business days after the first business
    # day: day 20 > 15, so counted from the end: 20 - 21 - 1 = -2.
    assert (copper.expiry_months_before, copper.expiry_business_day) == (0, -2)
    # Roll 30 days before an expiry 27 days into the month: 3 days before delivery -> 1 month.
    assert copper.roll_months_before == 1


def test_a_month_seen_in_the_data_becomes_a_listed_month(pysystemtrade_folder):
    # COPPER's PricedRollCycle FHJMNUVZ has no August (Q); the data names 201508.
    body = "2015-06-09 23:00:00,2.70,20150800,2.69,20150700,2.70,20150900\n"
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": body}))
    assert market.instruments["COPPER"].listed_months == "FHJMNQUVZ"


def test_import_writes_a_long_format_directory_that_reads_back_equal(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS, "LEANHOG": LEANHOG_DAYS})
    out = tmp_path / "long"
    result = run_cli("data", "import", "pysystemtrade", folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == ["held.parquet", "instruments.toml", "prices.parquet"]
    original, copy = read_pysystemtrade(folder), read_long(out)
    assert copy.prices.equals(original.prices)
    assert copy.held.equals(original.held)
    assert copy.instruments == original.instruments


def test_import_to_a_csv_prices_file(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS})
    out = tmp_path / "prices.csv"
    result = run_cli("data", "import", "pysystemtrade", folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[:2] == [
        "date,root,contract,settle,volume,open_interest",
        "2015-06-09,COPPER,201507,2.69,,",
    ]
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []


# --- bad inputs ------------------------------------------------------------------------------


def _import(folder: Path, tmp_path: Path):
    return run_cli("data", "import", "pysystemtrade", folder, "--out", tmp_path / "out")


def test_unparseable_datetime(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS + "2015-06-31 23:00:00,2.7,20150900,2.7,20150700,2.7,20150900\n"})
    assert_user_error(
        _import(folder, tmp_path),
        f"{folder}/multiple_prices_csv/COPPER.csv: row 10: unparseable DATETIME '2015-06-31 23:00:00' "
        "(expected YYYY-MM-DD HH:MM:SS)",
    )


def test_non_positive_price_is_data(pysystemtrade_folder, tmp_path):
    # zero and negative prices are prices (WTI, 20 April 2020; docs/design.md section 2)
    folder = pysystemtrade_folder({"LEANHOG": LEANHOG_DAYS, "COPPER": "2015-06-09 23:00:00,2.7,20150900,-2.69,20150700,,20150900\n"})
    result = _import(folder, tmp_path)
    assert result.exit_code == 0, result.output
    prices = pl.read_parquet(tmp_path / "out" / "prices.parquet")
    assert -2.69 in prices.get_column("settle").to_list()


def test_non_numeric_price(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": "2015-06-09 23:00:00,2.7,20150900,2.69,20150700,n/a,20150900\n"})
    assert_user_error(_import(folder, tmp_path), f"{folder}/multiple_prices_csv/COPPER.csv: row 2: FORWARD 'n/a' is not a number")


def test_contract_id_not_yyyymm00(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": "2015-06-09 23:00:00,2.7,20150900,2.69,201507,,20150900\n"})
    assert_user_error(
        _import(folder, tmp_path),
        f"{folder}/multiple_prices_csv/COPPER.csv: row 2: PRICE_CONTRACT '201507' is not a contract id YYYYMM00",
    )


def test_missing_column(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": "2015-06-09 23:00:00,2.69,20150700\n"}, header="DATETIME,PRICE,PRICE_CONTRACT")
    assert_user_error(
        _import(folder, tmp_path),
        f"{folder}/multiple_prices_csv/COPPER.csv: columns: missing required column(s) CARRY, CARRY_CONTRACT, "
        "FORWARD, FORWARD_CONTRACT (required: DATETIME, CARRY, CARRY_CONTRACT, PRICE, PRICE_CONTRACT, FORWARD, "
        "FORWARD_CONTRACT)",
    )


def test_header_only_file(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": ""})
    assert_user_error(_import(folder, tmp_path), f"{folder}/multiple_prices_csv/COPPER.csv: empty file (no data rows)")


def test_root_without_config_row(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS, "GOLD": "2015-06-09 23:00:00,1180,20150800,1179,20150800,1181,20151000\n"})
    assert_user_error(_import(folder, tmp_path), f"{folder}/csvconfig/instrumentconfig.csv: root GOLD: no row for this instrument")


# --- the shared real data --------------------------------------------------------------------


class RawDay(NamedTuple):
    """One day of a raw file: its last row, and each contract's last price as
    ``{contract YYYYMM: (DATETIME, column, price)}``."""

    last_row: dict[str, str]
    closes: dict[int, tuple[str, str, float]]


@functools.lru_cache(maxsize=None)
def _raw_days(path: Path) -> dict[dt.date, RawDay]:
    """A pysystemtrade CSV day by day with the csv module: a contract's close is its last
    non-empty price of the day in any column (PRICE over FORWARD over CARRY within one row).
    Rows must be in time order (checked) so that later rows overwrite earlier ones."""
    days: dict[dt.date, RawDay] = {}
    previous = ""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            assert row["DATETIME"] >= previous, f"{path}: {row['DATETIME']} after {previous}"
            previous = row["DATETIME"]
            day = dt.date.fromisoformat(row["DATETIME"][:10])
            closes = days[day].closes if day in days else {}
            days[day] = RawDay(row, closes)
            for column in ("CARRY", "FORWARD", "PRICE"):  # later wins: PRICE, then FORWARD, over CARRY
                if row[column] != "":
                    closes[int(row[f"{column}_CONTRACT"]) // 100] = (row["DATETIME"], column, float(row[column]))
    return days


@functools.lru_cache(maxsize=None)
def _raw_adjusted_closes(path: Path) -> dict[dt.date, tuple[str, float]]:
    """``{day: (DATETIME, price)}``: each day's last non-empty adjusted price, with the csv module."""
    closes = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["price"] != "":
                closes[dt.date.fromisoformat(row["DATETIME"][:10])] = (row["DATETIME"], float(row["price"]))
    return closes


@pytest.fixture(scope="module")
def shared_market(pysystemtrade_dir):
    return read_pysystemtrade(pysystemtrade_dir)


@pytest.mark.realdata
def test_all_ten_shared_roots_load(shared_market):
    assert shared_market.roots == SHARED_ROOTS
    assert sorted(shared_market.instruments) == SHARED_ROOTS
    assert shared_market.instruments["GOLD"].sector == "precious_metals"
    assert shared_market.instruments["COFFEE"].sector == "softs"
    assert shared_market.prices.get_column("date").max() == dt.date(2023, 8, 31)


@functools.lru_cache(maxsize=None)
def _first_intraday_day(path: Path) -> dt.date | None:
    """The date of the file's first row not stamped 23:00."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["DATETIME"].endswith("23:00:00"):
                return dt.date.fromisoformat(row["DATETIME"][:10])
    return None


def _daily_era(path: Path) -> list[dt.date]:
    """The days before the file's first row not stamped 23:00 (one daily row per day)."""
    first = _first_intraday_day(path)
    return [day for day in _raw_days(path) if first is None or day < first]


@pytest.mark.realdata
@pytest.mark.parametrize("root", SHARED_ROOTS)
@pytest.mark.slow
def test_daily_era_sessions_close_at_the_days_raw_prices_and_hold_its_contract(shared_market, pysystemtrade_dir, root):
    # Before the intraday rows, each day's one 23:00 row is its session's daily close: on every
    # day that is a session, the prices are the raw row's and the held contract its PRICE_CONTRACT.
    path = pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv"
    days = _raw_days(path)
    prices = shared_market.prices.filter(pl.col("root") == root)
    held = dict(shared_market.held.filter(pl.col("root") == root).select("date", "contract").rows())
    sessions = set(held)
    era = [day for day in _daily_era(path) if day in sessions]
    assert len(era) > 0.9 * len(_daily_era(path))
    expected = {(day, contract, settle) for day in era for contract, (_, _, settle) in days[day].closes.items()}
    actual = set(prices.filter(pl.col("date").is_in(era)).select("date", "contract", "settle").rows())
    assert expected <= actual
    assert [held[day] for day in era] == [int(days[day].last_row["PRICE_CONTRACT"]) // 100 for day in era]


@pytest.mark.realdata
def test_rows_after_the_settlement_time_are_left_out_and_23_00_bars_open_the_next_session(shared_market, pysystemtrade_dir):
    # COPPER, 31 August 2021, hourly bars (London time): COPPER settles at 13:00 New York =
    # 18:00 London in summer. The 18:00 row prices Dec 2021 (held) 4.375, Jan 2022 4.3595 and
    # Mar 2022 4.357; the 19:00-21:00 rows come after the settlement; the 23:00 row (Jan 2022
    # 4.368 only) is 17:00 Chicago, the opening of 1 September's session.
    day = dt.date(2021, 8, 31)
    raw = _raw_days(pysystemtrade_dir / "multiple_prices_csv" / "COPPER.csv")[day]
    assert raw.closes[202112] == ("2021-08-31 21:00:00", "PRICE", 4.3655)
    copper = shared_market.prices.filter((pl.col("root") == "COPPER") & (pl.col("date") == day))
    assert copper.select("contract", "settle").rows() == [(202112, 4.375), (202201, 4.3595), (202203, 4.357)]
    assert shared_market.held.filter((pl.col("root") == "COPPER") & (pl.col("date") == day)).get_column("contract").to_list() == [202112]
    next_day = shared_market.prices.filter((pl.col("root") == "COPPER") & (pl.col("date") == dt.date(2021, 9, 1)))
    assert next_day.height > 0 and (202201, 4.368) not in next_day.select("contract", "settle").rows()


@pytest.mark.realdata
def test_intraday_day_after_2012_closes_at_the_last_row_before_the_settlement(shared_market, pysystemtrade_dir):
    # COPPER, 10 June 2015: hourly rows from 01:00 London to 23:00. The settlement is 13:00 New
    # York = 18:00 London: the 18:00 row closes the session (Jul 2015 PRICE 2.75, Sep 2015 2.75);
    # the calendar day's last row (23:00: 2.72, 2.7485) belongs to 11 June's session.
    raw = [line for line in (pysystemtrade_dir / "multiple_prices_csv" / "COPPER.csv").read_text().splitlines() if line.startswith("2015-06-10")]
    assert len(raw) > 10
    at_settlement = next(csv.reader([line for line in raw if line.startswith("2015-06-10 18:00:00")]))
    day = shared_market.prices.filter((pl.col("root") == "COPPER") & (pl.col("date") == dt.date(2015, 6, 10)))
    assert day.select("contract", "settle").rows() == [
        (int(at_settlement[4]) // 100, float(at_settlement[3])),
        (int(at_settlement[6]) // 100, float(at_settlement[5])),
    ]
    assert day.select("contract", "settle").rows() == [(201507, 2.75), (201509, 2.75)]


@pytest.mark.realdata
@pytest.mark.slow
def test_adjusted_price_changes_equal_held_contract_changes(shared_market, pysystemtrade_dir):
    adjusted = read_adjusted_prices(pysystemtrade_dir)
    assert sorted(adjusted.get_column("root").unique().to_list()) == SHARED_ROOTS
    # Where the held contract's close is the PRICE cell of the row that closes the adjusted
    # series too (the adjusted file lacks some rows), and the held contract does not change,
    # the back-adjusted series moves like the contract.
    same_close = []
    for root in SHARED_ROOTS:
        raw_days = _raw_days(pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv")
        back = _raw_adjusted_closes(pysystemtrade_dir / "adjusted_prices_csv" / f"{root}.csv")
        daily_era = set(_daily_era(pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv"))
        for day, (stamp, _) in back.items():
            raw = raw_days.get(day)
            if raw is None or not raw.last_row["DATETIME"].endswith("23:00:00") or day not in daily_era:
                continue  # intraday days close at the settlement time, not at the adjusted file's last row
            close = raw.closes.get(int(raw.last_row["PRICE_CONTRACT"]) // 100)
            if close and close[:2] == (stamp, "PRICE"):
                same_close.append((root, day))
    days = pl.DataFrame(same_close, schema={"root": pl.String, "date": pl.Date}, orient="row")
    joined = (
        shared_market.held.join(shared_market.prices, on=["date", "root", "contract"])
        .join(adjusted, on=["date", "root"])
        .join(days, on=["root", "date"])
        .sort("root", "date")
        .with_columns(
            same=(pl.col("contract") == pl.col("contract").shift(1)).over("root"),
            settle_change=pl.col("settle").diff().over("root"),
            adjusted_change=pl.col("adjusted").diff().over("root"),
        )
        .filter(pl.col("same"))
    )
    assert joined.height > 65_000  # days of the daily era (70,378 in the shared files)
    assert (joined.get_column("settle_change") - joined.get_column("adjusted_change")).abs().max() < 1e-6


def test_non_numeric_pointsize(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS})
    config = folder / "csvconfig" / "instrumentconfig.csv"
    config.write_text(config.read_text().replace("COPPER,Copper,25000", "COPPER,Copper,lots"))
    assert_user_error(_import(folder, tmp_path), f"{config}: root COPPER: Pointsize 'lots' is not a number")


def test_unknown_month_letter_in_a_roll_cycle(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAYS})
    config = folder / "csvconfig" / "rollconfig.csv"
    config.write_text(config.read_text().replace("COPPER,HNUZ,", "COPPER,HNUY,"))
    assert_user_error(
        _import(folder, tmp_path), f"{config}: root COPPER: HoldRollCycle 'HNUY' is not a string of month letters FGHJKMNQUVXZ"
    )
