"""pysystemtrade importer: hand-built folders, bad cells, and all 10 shared roots against the
raw CSVs read independently with the csv module."""

from __future__ import annotations

import csv
import functools
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from data_cli import assert_user_error, run_cli

from indexcalc.data.longformat import read_long
from indexcalc.data.pysystemtrade import read_adjusted_prices, read_pysystemtrade

SHARED_ROOTS = ["BRENT_W", "COFFEE", "COPPER", "CORN", "CRUDE_W", "GAS_US", "GOLD", "PALLAD", "SOYBEAN", "WHEAT"]

COPPER_DAYS = (
    # 9 June: one daily row; CARRY and FORWARD name the same contract (one row, 2.70).
    "2015-06-09 23:00:00,2.70,20150900,2.69,20150700,2.70,20150900\n"
    # 10 June: intraday rows; the close is the 22:00 row. There CARRY (2.76) and FORWARD (2.75)
    # both name Sep 2015: FORWARD's value wins. CARRY's 2.71 at 21:00 is not the close.
    "2015-06-10 21:00:00,2.71,20150900,2.72,20150700,2.71,20150900\n"
    "2015-06-10 22:00:00,2.76,20150900,2.74,20150700,2.75,20150900\n"
    # 11 June: the last row has no PRICE: Jul 2015 has no settle that day, but is still held.
    "2015-06-11 10:00:00,2.79,20150900,2.78,20150700,2.79,20150900\n"
    "2015-06-11 23:00:00,,20150900,,20150700,2.80,20150900\n"
)
LEANHOG_DAYS = "2015-06-09 23:00:00,80.1,20150800,79.5,20150600,81.0,20150800\n"


def test_day_close_is_the_last_row_and_each_contract_appears_once(pysystemtrade_folder):
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": COPPER_DAYS, "LEANHOG": LEANHOG_DAYS}))
    copper = market.prices.filter(pl.col("root") == "COPPER").select("date", "contract", "settle").rows()
    assert copper == [
        (dt.date(2015, 6, 9), 201507, 2.69),
        (dt.date(2015, 6, 9), 201509, 2.70),
        (dt.date(2015, 6, 10), 201507, 2.74),
        (dt.date(2015, 6, 10), 201509, 2.75),
        (dt.date(2015, 6, 11), 201509, 2.80),
    ]
    assert market.prices.get_column("volume").null_count() == market.prices.height
    assert market.prices.get_column("open_interest").null_count() == market.prices.height
    held = market.held.filter(pl.col("root") == "COPPER").select("date", "contract").rows()
    assert held == [(dt.date(2015, 6, 9), 201507), (dt.date(2015, 6, 10), 201507), (dt.date(2015, 6, 11), 201507)]
    assert market.rates.height == 0


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
        f"{folder}/multiple_prices_csv/COPPER.csv: row 7: unparseable DATETIME '2015-06-31 23:00:00' "
        "(expected YYYY-MM-DD HH:MM:SS)",
    )


def test_non_positive_price(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"LEANHOG": LEANHOG_DAYS, "COPPER": "2015-06-09 23:00:00,2.7,20150900,-2.69,20150700,,20150900\n"})
    assert_user_error(_import(folder, tmp_path), f"{folder}/multiple_prices_csv/COPPER.csv: row 2: PRICE -2.69 is not positive")


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


@functools.lru_cache(maxsize=None)
def _raw_day_closes(path: Path) -> dict[dt.date, dict[str, str]]:
    """Each day's last row of a pysystemtrade CSV, with the csv module (rows are in time order)."""
    closes: dict[dt.date, dict[str, str]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            closes[dt.date.fromisoformat(row["DATETIME"][:10])] = row
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


@pytest.mark.realdata
@pytest.mark.parametrize("root", SHARED_ROOTS)
def test_prices_and_held_equal_the_last_raw_row_of_every_day(shared_market, pysystemtrade_dir, root):
    closes = _raw_day_closes(pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv")
    expected_prices = set()
    for day, row in closes.items():
        priced = {}
        for column in ("CARRY", "FORWARD", "PRICE"):  # later wins: PRICE, then FORWARD, over CARRY
            if row[column] != "":
                priced[int(row[f"{column}_CONTRACT"]) // 100] = float(row[column])
        expected_prices |= {(day, contract, settle) for contract, settle in priced.items()}
    prices = shared_market.prices.filter(pl.col("root") == root)
    assert set(prices.select("date", "contract", "settle").rows()) == expected_prices
    assert prices.height == len(expected_prices)

    held = shared_market.held.filter(pl.col("root") == root).select("date", "contract").rows()
    assert held == sorted((day, int(row["PRICE_CONTRACT"]) // 100) for day, row in closes.items())


@pytest.mark.realdata
def test_intraday_day_after_2012_takes_the_23_00_row(shared_market, pysystemtrade_dir):
    # COPPER, 10 June 2015: hourly rows from 01:00; the 23:00 row is
    # 2.7485 (Sep 2015, in CARRY and FORWARD), 2.72 (Jul 2015, PRICE).
    raw = [line for line in (pysystemtrade_dir / "multiple_prices_csv" / "COPPER.csv").read_text().splitlines() if line.startswith("2015-06-10")]
    assert len(raw) > 10
    last = next(csv.reader([raw[-1]]))
    assert last[0] == "2015-06-10 23:00:00"
    day = shared_market.prices.filter((pl.col("root") == "COPPER") & (pl.col("date") == dt.date(2015, 6, 10)))
    assert day.select("contract", "settle").rows() == [
        (int(last[4]) // 100, float(last[3])),
        (int(last[2]) // 100, float(last[1])),
    ]
    assert day.select("contract", "settle").rows() == [(201507, 2.72), (201509, 2.7485)]


@pytest.mark.realdata
def test_adjusted_price_changes_equal_held_contract_changes(shared_market, pysystemtrade_dir):
    adjusted = read_adjusted_prices(pysystemtrade_dir)
    assert sorted(adjusted.get_column("root").unique().to_list()) == SHARED_ROOTS
    # Where both files' days end on the same time stamp (the adjusted file lacks some rows),
    # and the held contract does not change, the back-adjusted series moves like the contract.
    same_close = []
    for root in SHARED_ROOTS:
        prices = _raw_day_closes(pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv")
        back = _raw_day_closes(pysystemtrade_dir / "adjusted_prices_csv" / f"{root}.csv")
        same_close += [(root, day) for day, row in back.items() if day in prices and prices[day]["DATETIME"] == row["DATETIME"]]
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
    assert joined.height > 90_000
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
