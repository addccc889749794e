"""The data roll on a file in pysystemtrade's layout whose held contract changes through two
contracts within one day (docs/design.md section 2): the index follows the file's held
contract at the first close where the new contract has a settlement; expected series by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from data_cli import run_cli

from indexcalc.data.pysystemtrade import read_pysystemtrade
from indexcalc.series import build_series
from indexcalc.specs.base import DataRoll

D = dt.date
JUL, SEP, DEC = 201507, 201509, 201512

# DATETIME, CARRY, CARRY_CONTRACT, PRICE, PRICE_CONTRACT, FORWARD, FORWARD_CONTRACT
ROLL_THROUGH_TWO = (
    # 8 and 9 June: daily rows, the file holds Jul (2.70, 2.72); Sep priced as FORWARD. Dec has
    # no price before 10 June.
    "2015-06-08 23:00:00,,,2.70,20150700,2.80,20150900\n"
    "2015-06-09 23:00:00,,,2.72,20150700,2.83,20150900\n"
    # 10 June: the first rows hold Jul (2.74, its close); at 11:00 the file holds Sep (no price
    # that day), at 12:00 Dec, first priced then (2.95), closing at 2.97.
    "2015-06-10 09:00:00,,,2.74,20150700,,\n"
    "2015-06-10 11:00:00,,,,20150900,,20151200\n"
    "2015-06-10 12:00:00,,,2.95,20151200,,\n"
    "2015-06-10 15:00:00,,,2.97,20151200,,\n"
    # 11 and 12 June: Dec (3.00, 3.03).
    "2015-06-11 23:00:00,,,3.00,20151200,,\n"
    "2015-06-12 23:00:00,,,3.03,20151200,,\n"
)
DAYS = [D(2015, 6, 8), D(2015, 6, 9), D(2015, 6, 10), D(2015, 6, 11), D(2015, 6, 12)]
# The file holds Jul, Jul, Dec, Dec, Dec. The close of 9 June would roll into Dec (held on the
# 10th), but Dec has no settlement on the 9th: the index keeps Jul through the 10th (Jul closes
# at 2.74 that day) and rolls into Dec at the close of the 10th (2.97). Sep is skipped.
HELD = ["201507:1", "201507:1", "201512:1", "201512:1", "201512:1"]
RETURNS = [
    0.0,
    2.72 / 2.70 - 1,  # Jul
    2.74 / 2.72 - 1,  # Jul, close to close
    3.00 / 2.97 - 1,  # Dec, close to close
    3.03 / 3.00 - 1,  # Dec
]
# Level = 100 * 2.74 / 2.70 * 3.03 / 2.97 = 100 * 1.0148148 * 1.0202020 = 103.5316...
LAST_LEVEL = 100 * 2.74 / 2.70 * 3.03 / 2.97


def test_a_roll_through_two_contracts_in_one_day_is_followed_at_the_new_contracts_first_close(pysystemtrade_folder):
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": ROLL_THROUGH_TWO}))
    assert market.held.get_column("contract").to_list() == [JUL, JUL, DEC, DEC, DEC]
    assert market.prices.filter(pl.col("contract") == DEC).get_column("date").min() == D(2015, 6, 10)
    for policy in ("error", "rules", "carry_forward"):
        series = build_series(market, DataRoll(), disruption=policy)
        assert series.get_column("date").to_list() == DAYS
        assert series.get_column("held_contracts").to_list() == HELD
        assert series.get_column("daily_return").to_list() == pytest.approx(RETURNS, abs=1e-15)
        assert series.get_column("level").to_list()[-1] == pytest.approx(LAST_LEVEL, rel=1e-14)
        assert LAST_LEVEL == pytest.approx(103.5316124205013, rel=1e-12)
        assert not series.get_column("disrupted").any()


def test_the_series_command_computes_that_file_without_edits(pysystemtrade_folder, tmp_path):
    folder = pysystemtrade_folder({"COPPER": ROLL_THROUGH_TWO})
    out = tmp_path / "out"
    result = run_cli("series", "--data", folder, "--out", out, "--max-disrupted-sessions", "0")
    assert result.exit_code == 0, result.output
    csv = pl.read_csv(out / "COPPER.csv")
    assert csv.get_column("held_contracts").to_list() == HELD
    assert csv.get_column("daily_return").to_list() == pytest.approx(RETURNS, abs=1e-15)


def test_a_contract_the_file_holds_whose_settlement_comes_late_is_followed_when_it_has_one(pysystemtrade_folder):
    # The file holds Sep from 10 June but prices it only from the 11th (2.90, 2.93): the close
    # of the 9th and of the 10th keep Jul (2.72, 2.74 on the 10th; Jul unpriced on the 11th keeps
    # 2.74: a disrupted session), and the index rolls into Sep at the close of the 11th.
    body = (
        "2015-06-08 23:00:00,,,2.70,20150700,,\n"
        "2015-06-09 23:00:00,,,2.72,20150700,,\n"
        "2015-06-10 09:00:00,,,2.74,20150700,,\n"
        "2015-06-10 12:00:00,,,,20150900,,\n"
        "2015-06-11 23:00:00,,,2.90,20150900,,\n"
        "2015-06-12 23:00:00,,,2.93,20150900,,\n"
    )
    series = build_series(read_pysystemtrade(pysystemtrade_folder({"COPPER": body})), DataRoll())
    assert series.get_column("held_contracts").to_list() == ["201507:1"] * 3 + ["201509:1"] * 2
    assert series.get_column("daily_return").to_list() == pytest.approx(
        [0.0, 2.72 / 2.70 - 1, 2.74 / 2.72 - 1, 0.0, 2.93 / 2.90 - 1], abs=1e-15
    )
    assert series.get_column("disrupted").to_list() == [False, False, False, True, False]
