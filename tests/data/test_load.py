"""load_market: which reader a path goes to, and the embedded market through `data check`."""

from __future__ import annotations

import datetime as dt

import sys
import types

import click
import pytest
from click.testing import CliRunner
from data_cli import assert_user_error, run_cli

from indexcalc.commands.data import market_options
from indexcalc.data.load import load_market
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError

COPPER_DAY = "2015-06-09 23:00:00,2.70,20150900,2.69,20150700,2.70,20150900\n"
LONG_CSV = "date,root,contract,settle\n2020-01-02,CL,202003,61.18\n"


def test_no_path_loads_the_embedded_market_lazily(monkeypatch):
    sentinel = MarketData(prices=None, instruments={})  # type: ignore[arg-type]
    fake = types.ModuleType("indexcalc.data.embedded")
    fake.load_default_market = lambda: sentinel
    monkeypatch.setitem(sys.modules, "indexcalc.data.embedded", fake)
    assert load_market(None) is sentinel


def test_folder_with_multiple_prices_csv_is_read_as_pysystemtrade(pysystemtrade_folder):
    market = load_market(pysystemtrade_folder({"COPPER": COPPER_DAY}))
    assert market.roots == ["COPPER"]
    assert market.held is not None


def test_a_prices_file_is_read_as_long_format(write_text):
    market = load_market(str(write_text("prices.csv", LONG_CSV)))
    assert market.roots == ["CL"]


def test_format_long_on_a_pysystemtrade_folder_looks_for_prices(pysystemtrade_folder):
    folder = pysystemtrade_folder({"COPPER": COPPER_DAY})
    assert_user_error(
        run_cli("data", "check", folder, "--format", "long"), f"{folder}: no prices.csv or prices.parquet in this directory"
    )


def test_format_pysystemtrade_needs_a_directory(write_text):
    path = write_text("prices.csv", LONG_CSV)
    with pytest.raises(DataError, match=r"pysystemtrade data is a directory \(with multiple_prices_csv/\)$"):
        load_market(path, "pysystemtrade")


def test_market_options_pass_data_and_format_to_the_command(write_text):
    seen = []

    @click.command()
    @market_options
    def command(data_path, data_format):
        seen.append(load_market(data_path, data_format).roots)

    path = write_text("prices.csv", LONG_CSV)
    result = CliRunner().invoke(command, ["--data", str(path), "--format", "long"])
    assert result.exit_code == 0, result.output
    assert seen == [["CL"]]
    assert "--format [long|pysystemtrade|merge]" in CliRunner().invoke(command, ["--help"]).stdout


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere"
    assert_user_error(run_cli("data", "check", missing), f"{missing}: no such file or directory")


def test_every_data_command_has_help():
    for command in (["--help"], ["data", "--help"], ["data", "check", "--help"], ["data", "quality", "--help"],
                    ["data", "import", "--help"], ["data", "import", "pysystemtrade", "--help"]):
        result = run_cli(*command)
        assert result.exit_code == 0, command
        assert result.stdout.startswith("Usage: "), command


@pytest.mark.slow
def test_data_check_on_the_embedded_market_reports_23_roots_of_at_least_25_years():
    result = run_cli("data", "check")
    assert result.exit_code == 0, result.output
    header, *rows, last = result.stdout.strip().splitlines()
    assert header.split() == ["root", "first", "last", "rows", "contracts", "sessions", "disrupted", "longest_run",
                              "first_disrupted", "late_rolls", "never_priced", "first_never_priced", "ends_early"]
    assert len(rows) == 23
    first = {row.split()[0]: dt.date.fromisoformat(row.split()[1]) for row in rows}
    last_dates = {row.split()[0]: dt.date.fromisoformat(row.split()[2]) for row in rows}
    years = {root: (last_dates[root] - first[root]).days / 365.25 for root in first}
    assert min(years.values()) >= 25, years
    assert all(row.split()[6] == "0" for row in rows)  # no disrupted session in the embedded market
    assert last.startswith("OK: 23 roots, ")
