"""Issue 20, point 8: zero and negative settlements are data; a held contract through one
follows the stated rule (docs/design.md section 2).

At the starting commit a settle of -37.63 rejected the whole market ("settle -37.63 is not
positive"), although the index had rolled out of that contract. The rule for a held contract
(S&P DJI's April 2020 rule for multi-commodity indices, Bloomberg's May 2020 zero close): the
held value V_t = sum_c w_{c,t-1} F_{c,t} enters the return like any price; when V_t or V_{t-1}
is zero or negative the position is lost: ER_ret = -1 that day, 0 on every later day.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from indexcalc.data.market import PRICES_SCHEMA, MarketData
from indexcalc.series import build_series
from indexcalc.specs.base import WindowRoll
from tests.builders import instrument

D = dt.date
K, N = 202005, 202007  # WTI May and July 2020
# NYMEX sessions of April 2020 (Good Friday, 10 April, closed)
APRIL = [D(2020, 4, day) for day in (1, 2, 3, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20, 21)]


def wti_april_2020(may_on_20th: float = -37.63, may_on_21st: float = 10.01) -> dict[dt.date, dict[int, float]]:
    """WTI-style settles: May drifts 20.00 -> 18.27 then -37.63 (20 April) and 10.01 (21 April);
    July drifts 26.00 -> 25.03 then 20.43 and 11.57."""
    settles = {}
    for index, day in enumerate(APRIL[:-2]):
        settles[day] = {K: 20.0 - index * 0.1572727, N: 26.0 - index * 0.0881818}
    settles[APRIL[-3]] = {K: 18.27, N: 25.03}
    settles[APRIL[-2]] = {K: may_on_20th, N: 20.43}
    settles[APRIL[-1]] = {K: may_on_21st, N: 11.57}
    return settles


def market(settles: dict[dt.date, dict[int, float]], **terms) -> MarketData:
    item = instrument("CL", hold_months="FHKNUX", **terms)
    rows = [(day, "CL", contract, settle, None, None) for day, curve in settles.items() for contract, settle in curve.items()]
    prices = pl.DataFrame(rows, schema=PRICES_SCHEMA, orient="row").sort("root", "date", "contract")
    return MarketData(prices=prices, instruments={"CL": item})


def on(series: pl.DataFrame, day: dt.date) -> dict:
    return series.filter(pl.col("date") == day).row(0, named=True)


def test_a_contract_not_held_has_no_effect():
    # rolled out of May during April's window (business days 5-9): July is held on 17-21 April
    negative = build_series(market(wti_april_2020()))
    positive = build_series(market(wti_april_2020(may_on_20th=17.00, may_on_21st=16.00)))
    assert on(negative, D(2020, 4, 17))["held_contracts"] == "202007:1"
    assert negative.select("date", "level", "daily_return", "tr_level").equals(
        positive.select("date", "level", "daily_return", "tr_level")
    )
    # by hand: the July contract's own return
    assert on(negative, D(2020, 4, 20))["daily_return"] == pytest.approx(20.43 / 25.03 - 1, abs=1e-15)
    assert on(negative, D(2020, 4, 21))["daily_return"] == pytest.approx(11.57 / 20.43 - 1, abs=1e-15)


def test_a_held_contract_through_a_negative_settle_loses_the_position():
    # roll_months_before=0: May is rolled in May's window, so it is held through 20 April
    series = build_series(market(wti_april_2020(), roll_months_before=0))
    before, day, after = on(series, D(2020, 4, 17)), on(series, D(2020, 4, 20)), on(series, D(2020, 4, 21))
    assert before["held_contracts"] == "202005:1" and day["held_contracts"] == "202005:1"
    # by hand: the May contract alone up to 17 April: ER = 100 * 18.27 / 20.00
    assert before["level"] == pytest.approx(100 * 18.27 / 20.0, rel=1e-12)
    # V_20 = -37.63 <= 0: the position is lost, ER_ret = -1, level 0; 21 April: nothing held, 0
    assert day["daily_return"] == -1.0 and day["level"] == 0.0
    assert after["daily_return"] == 0.0 and after["level"] == 0.0
    # no collateral here (no rates): TR = ER
    assert day["tr_level"] == 0.0 and after["tr_level"] == 0.0
    assert not series.get_column("disrupted").any()


def test_a_negative_settle_inside_a_positive_held_value_is_a_price():
    # window on business days 11-13 of April (16, 17, 20 April): at the close of 17 April the
    # weights are 1/3 May, 2/3 July, so V_20 = -37.63/3 + 2 * 20.43/3 = 1.07667 > 0
    series = build_series(market(wti_april_2020(), roll_months_before=1), WindowRoll(first_day=11, last_day=13))
    assert on(series, D(2020, 4, 17))["held_contracts"] == "202005:0.333333 202007:0.666667"
    v_17 = 18.27 / 3 + 2 * 25.03 / 3
    v_20 = -37.63 / 3 + 2 * 20.43 / 3
    assert on(series, D(2020, 4, 20))["daily_return"] == pytest.approx(v_20 / v_17 - 1, abs=1e-14)
    assert on(series, D(2020, 4, 20))["level"] > 0


def test_a_zero_settle_of_the_held_contract_loses_the_position():
    series = build_series(market(wti_april_2020(may_on_20th=0.0), roll_months_before=0))
    assert on(series, D(2020, 4, 20))["level"] == 0.0
    assert on(series, D(2020, 4, 21))["level"] == 0.0


def test_carry_on_a_non_positive_price_is_null_not_nan():
    series = build_series(market(wti_april_2020(), roll_months_before=0))
    # by hand on 17 April: (ln 18.27 - ln 25.03) * 12 / 2
    assert on(series, D(2020, 4, 17))["carry"] == pytest.approx((math.log(18.27) - math.log(25.03)) * 6, abs=1e-14)
    assert on(series, D(2020, 4, 20))["carry"] is None
    assert series.get_column("carry").is_nan().sum() == 0


def test_a_market_file_with_a_negative_settle_is_accepted_and_the_not_held_contract_has_no_effect(tmp_path):
    # at the starting commit: "prices.csv: row N: settle -37.63 is not positive", exit 2
    from tests.data.data_cli import run_cli

    rows = [
        f"{day},CL,{contract},{settle!r}"
        for day, curve in wti_april_2020().items()
        for contract, settle in curve.items()
    ]
    path = tmp_path / "prices.csv"
    path.write_text("date,root,contract,settle\n" + "\n".join(rows) + "\n")
    checked = run_cli("data", "check", path)
    assert checked.exit_code == 0, checked.output
    result = run_cli("series", "--data", path, "--out", tmp_path / "series")
    assert result.exit_code == 0, result.output
    written = pl.read_csv(tmp_path / "series" / "CL.csv")
    assert written.filter(pl.col("date") == "2020-04-20").item(0, "daily_return") == pytest.approx(20.43 / 25.03 - 1, abs=1e-12)
    assert written.get_column("level").is_finite().all()


def test_the_quality_report_shows_a_step_through_zero_as_a_full_jump_never_nan():
    # at the starting commit the log of -37.63 made the worst jump NaN (once such data got in)
    from indexcalc.data.quality import jumps, quality_report

    wti = market(wti_april_2020())
    found = jumps(wti.prices).filter(pl.col("contract") == K)
    # 18.27 -> -37.63: -inf (to zero or below), -37.63 -> 10.01: +inf (back above zero)
    assert found.select("date", "change").rows() == [(D(2020, 4, 20), -math.inf), (D(2020, 4, 21), math.inf)]
    report = quality_report(wti).row(0, named=True)
    assert report["worst_jump"] == -1.0 and report["worst_jump_contract"] == K
    assert not math.isnan(report["worst_jump"])
