"""Long format: reading files and directories, writing them back, and the round trip."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from data_cli import assert_user_error, run_cli

from indexcalc.data.instruments import load_instruments
from indexcalc.data.longformat import instruments_toml, read_long, write_frame, write_long
from indexcalc.data.market import PRICES_SCHEMA, MarketData
from indexcalc.errors import DataError

PRICES_CSV = (
    "date,root,contract,settle\n"
    "2020-01-03,CL,202003,63.05\n"
    "2020-01-02,CL,202003,61.18\n"
    "2020-01-02,GC,202002,1528.1\n"
    "2020-01-02,CL,202002,61.00\n"
)
CUSTOM_INSTRUMENTS = """
[[instrument]]
root = "HOGS"
name = "Lean hogs"
sector = "livestock"
exchange = "CME"
calendar = "CMES"
multiplier = 400.0
listed_months = "GJKMNQVZ"
hold_months = "GJMQVZ"
"""


def test_prices_file_is_typed_sorted_and_optional_columns_are_null(write_text):
    market = read_long(write_text("prices.csv", PRICES_CSV))
    assert market.prices.schema == pl.Schema(PRICES_SCHEMA)
    assert market.prices.select("date", "root", "contract", "settle").rows() == [
        (dt.date(2020, 1, 2), "CL", 202002, 61.00),
        (dt.date(2020, 1, 2), "CL", 202003, 61.18),
        (dt.date(2020, 1, 3), "CL", 202003, 63.05),
        (dt.date(2020, 1, 2), "GC", 202002, 1528.1),
    ]
    assert market.prices.get_column("volume").null_count() == 4
    assert len(market.instruments) == 23
    assert market.rates.height == 0 and market.held is None


def test_directory_with_reference_frames_and_its_own_instruments(write_text):
    write_text("market/prices.csv", "date,root,contract,settle,volume,open_interest\n2020-01-02,HOGS,202002,70.5,12,3400\n")
    write_text("market/instruments.toml", CUSTOM_INSTRUMENTS)
    write_text("market/rates.csv", "date,tbill\n2020-01-02,0.0152\n")
    write_text("market/inflation.csv", "date,cpi\n2020-01-14,257.971\n")
    write_text("market/macro.csv", "date,series,value\n2020-01-02,usd_index,96.8\n2020-01-02,china_pmi,50.2\n")
    directory = write_text("market/held.csv", "date,root,contract\n2020-01-02,HOGS,202002\n").parent
    market = read_long(directory)
    assert list(market.instruments) == ["HOGS"]
    assert market.prices.select("root", "volume", "open_interest").rows() == [("HOGS", 12.0, 3400.0)]
    assert market.rates.rows() == [(dt.date(2020, 1, 2), 0.0152)]
    assert market.inflation.rows() == [(dt.date(2020, 1, 14), 257.971)]
    assert market.macro_series("china_pmi").rows() == [(dt.date(2020, 1, 2), 50.2)]
    assert market.held.rows() == [(dt.date(2020, 1, 2), "HOGS", 202002)]


def test_bad_reference_file_in_a_directory_names_that_file(write_text):
    write_text("market/prices.csv", PRICES_CSV)
    rates = write_text("market/rates.csv", "date,tbill\n2020-01-02,0.0152\n2020-01-03,x\n")
    assert_user_error(run_cli("data", "check", rates.parent), f"{rates}: row 3: tbill 'x' is not a number")


def test_directory_without_prices(tmp_path):
    assert_user_error(run_cli("data", "check", tmp_path), f"{tmp_path}: no prices.csv or prices.parquet in this directory")


def test_directory_with_two_prices_files_is_ambiguous(write_text):
    write_text("market/prices.csv", PRICES_CSV)
    directory = write_text("market/prices.parquet", "").parent
    with pytest.raises(DataError, match="both prices.csv and prices.parquet present; keep one"):
        read_long(directory)


def test_write_long_then_read_long_gives_the_same_market(write_text, tmp_path):
    source = read_long(write_text("prices.csv", PRICES_CSV))
    market = MarketData(
        prices=source.prices,
        instruments=source.instruments,
        rates=pl.DataFrame({"date": [dt.date(2020, 1, 2)], "tbill": [0.0152]}),
        inflation=pl.DataFrame({"date": [dt.date(2020, 1, 14)], "cpi": [257.971]}),
        macro=pl.DataFrame({"date": [dt.date(2020, 1, 2)], "series": ["usd_index"], "value": [96.8]}),
        # a held file covers every root with prices (tests/reliability/test_messages.py)
        held=pl.DataFrame(
            {"date": [dt.date(2020, 1, 2)] * 2, "root": ["CL", "GC"], "contract": [202003, 202002]},
            schema_overrides={"contract": pl.Int32},
        ),
    )
    out = tmp_path / "copy"
    write_long(market, out)
    copy = read_long(out)
    for name in ("prices", "rates", "inflation", "macro", "held"):
        assert getattr(copy, name).equals(getattr(market, name)), name
    assert copy.instruments == market.instruments
    assert not [path for path in out.iterdir() if path.name.endswith(".tmp")]


def test_instruments_toml_reads_back_to_equal_models(tmp_path):
    default = load_instruments()
    path = tmp_path / "instruments.toml"
    path.write_text(instruments_toml(default))
    assert load_instruments(path) == default


def test_write_frame_replaces_an_existing_file(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("old")
    write_frame(pl.DataFrame({"date": [dt.date(2020, 1, 2)]}), path)
    assert path.read_text() == "date\n2020-01-02\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["prices.csv"]
