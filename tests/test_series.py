"""Linked single-commodity series (docs/design.md section 2): ER, TR, carry, disruptions, CLI."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.cli import main
from indexcalc.data.instruments import Instrument
from indexcalc.data.calendars import with_exchange_sessions
from indexcalc.data.market import PRICES_SCHEMA, RATES_SCHEMA, MarketData
from indexcalc.errors import DataError
from indexcalc.rolls import roll_schedule
from indexcalc.collateral import collateral_returns
from indexcalc.series import SERIES_SCHEMA, build_series
from tests.builders import instrument
from indexcalc.specs.base import DataRoll, FirstNoticeRoll, WindowRoll

H, K, N = 202403, 202405, 202407
D = dt.date




def market_from(
    settles: dict[dt.date, dict[int, float | None]],
    rates: dict[dt.date, float] | None = None,
    item: Instrument | None = None,
    held: dict[dt.date, int] | None = None,
) -> MarketData:
    """A one-root market from ``{date: {contract: settle}}`` (None = a row with no settle)."""
    item = item or instrument()
    rows = [
        (date, item.root, contract, settle, None, None)
        for date, curve in settles.items()
        for contract, settle in curve.items()
    ]
    prices = pl.DataFrame(rows, schema=PRICES_SCHEMA, orient="row").sort("root", "date", "contract")
    rate_frame = pl.DataFrame(list((rates or {}).items()), schema=RATES_SCHEMA, orient="row")
    held_frame = None
    if held is not None:
        held_frame = pl.DataFrame(
            [(date, item.root, contract) for date, contract in held.items()],
            schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32},
            orient="row",
        )
    return with_exchange_sessions(
        MarketData(prices=prices, instruments={item.root: item}, rates=rate_frame, held=held_frame)
    )


def bill(rate: float, days: int) -> float:
    """TBR for ``days`` calendar days at discount yield ``rate`` (docs/design.md section 2)."""
    return (1 / (1 - 91 / 360 * rate)) ** (days / 91) - 1


# February 2024, Wednesday Feb 7 a holiday: business days 1 2 5 6 | 8 9 12 13 14 | 15.
# The window (days 5-9) runs Feb 8 .. Feb 14: weights on H/K at the close
# Feb 8 0.8/0.2, Feb 9 0.6/0.4, Feb 12 0.4/0.6, Feb 13 0.2/0.8, Feb 14 0/1.
HOLIDAY_WINDOW = {
    D(2024, 2, 1): {H: 100.0, K: 102.0},
    D(2024, 2, 2): {H: 100.0, K: 102.0},
    D(2024, 2, 5): {H: 100.0, K: 102.0},
    D(2024, 2, 6): {H: 100.0, K: 102.0},
    D(2024, 2, 8): {H: 101.0, K: 103.0},
    D(2024, 2, 9): {H: 99.0, K: 100.0},
    D(2024, 2, 12): {H: 98.0, K: 99.0},
    D(2024, 2, 13): {H: 100.0, K: 101.0},
    D(2024, 2, 14): {H: 102.0, K: 104.0},
    D(2024, 2, 15): {H: 103.0, K: 106.0},
}
HOLIDAY_RETURNS = [
    0.0,  # first date
    0.0,
    0.0,
    0.0,
    101 / 100 - 1,  # held H: 0.01
    (0.8 * 99 + 0.2 * 100) / (0.8 * 101 + 0.2 * 103) - 1,  # 99.2 / 101.4 - 1 = -0.0216963
    (0.6 * 98 + 0.4 * 99) / (0.6 * 99 + 0.4 * 100) - 1,  # 98.4 / 99.4 - 1 = -0.0100604
    (0.4 * 100 + 0.6 * 101) / (0.4 * 98 + 0.6 * 99) - 1,  # 100.6 / 98.6 - 1 = 0.0202840
    (0.2 * 102 + 0.8 * 104) / (0.2 * 100 + 0.8 * 101) - 1,  # 103.6 / 100.8 - 1 = 0.0277778
    106 / 104 - 1,  # held K: 0.0192308
]
# Level after the last day: 100 * product(1 + r) = 104.5433999...


def test_excess_return_links_the_roll_weights_across_a_holiday() -> None:
    series = build_series(market_from(HOLIDAY_WINDOW))
    assert series.get_column("daily_return").to_list() == pytest.approx(HOLIDAY_RETURNS, abs=1e-15)
    assert series.get_column("level").to_list()[0] == 100.0
    assert series.get_column("level").to_list()[-1] == pytest.approx(104.54339993671312, rel=1e-12)
    assert series.get_column("held_contracts").to_list()[3:] == [
        "202403:1",
        "202403:0.8 202405:0.2",
        "202403:0.6 202405:0.4",
        "202403:0.4 202405:0.6",
        "202403:0.2 202405:0.8",
        "202405:1",
        "202405:1",
    ]
    assert not series.get_column("disrupted").any()
    assert series.columns == list(SERIES_SCHEMA)


def test_total_return_adds_the_previous_days_t_bill_over_calendar_days() -> None:
    # T-bill 5% to Feb 7, 10% from Feb 8. TBR uses TB of t-1 and calendar days t-1 -> t:
    # Feb 2 (5%, 1 day) 0.000139784; Feb 5 (5%, 3) 0.000419410; Feb 6 (5%, 1);
    # Feb 8 (Feb 6's 5%, 2 days) 0.000279587; Feb 9 (Feb 8's 10%, 1) 0.000281388;
    # Feb 12 (10%, 3) 0.000844403; Feb 13, 14, 15 (10%, 1 each).
    rates = {D(2024, 1, 31): 0.05, D(2024, 2, 8): 0.10}
    series = build_series(market_from(HOLIDAY_WINDOW, rates))
    collateral = [0.0, bill(0.05, 1), bill(0.05, 3), bill(0.05, 1), bill(0.05, 2)]
    collateral += [bill(0.10, 1), bill(0.10, 3), bill(0.10, 1), bill(0.10, 1), bill(0.10, 1)]
    assert collateral[1] == pytest.approx(0.00013978382461399264, rel=1e-12)
    expected = [100.0]
    for excess, interest in zip(HOLIDAY_RETURNS[1:], collateral[1:]):
        expected.append(expected[-1] * (1 + excess + interest))
    assert series.get_column("tr_level").to_list() == pytest.approx(expected, rel=1e-13)
    # The excess-return level ignores the collateral.
    assert series.get_column("level").to_list()[-1] == pytest.approx(104.54339993671312, rel=1e-12)


def test_excess_return_in_a_short_month_completes_the_roll_on_its_last_business_day() -> None:
    # February has business days 1 2 5 6 7 8 9 only, then March: weights at the close
    # Feb 7 0.8/0.2, Feb 8 0.6/0.4, Feb 9 0/1 (remaining steps completed), Mar 1 K.
    settles = {
        D(2024, 2, 6): {H: 50.0, K: 52.0},
        D(2024, 2, 7): {H: 50.0, K: 52.0},
        D(2024, 2, 8): {H: 51.0, K: 52.5},
        D(2024, 2, 9): {H: 49.0, K: 51.0},
        D(2024, 3, 1): {H: 48.0, K: 51.5},
    }
    settles = {D(2024, 2, 1): settles[D(2024, 2, 6)], D(2024, 2, 2): settles[D(2024, 2, 6)],
               D(2024, 2, 5): settles[D(2024, 2, 6)], **settles}
    series = build_series(market_from(settles))
    assert series.get_column("held_contracts").to_list()[4:] == [
        "202403:0.8 202405:0.2",
        "202403:0.6 202405:0.4",
        "202405:1",
        "202405:1",
    ]
    assert series.get_column("daily_return").to_list()[5:] == pytest.approx(
        [
            (0.8 * 51 + 0.2 * 52.5) / (0.8 * 50 + 0.2 * 52) - 1,  # 51.3 / 50.4 - 1 = 0.0178571
            (0.6 * 49 + 0.4 * 51) / (0.6 * 51 + 0.4 * 52.5) - 1,  # 49.8 / 51.6 - 1 = -0.0348837
            51.5 / 51 - 1,  # 0.0098039
        ],
        abs=1e-15,
    )


def test_carry_is_the_annualised_log_spread_of_the_two_nearest_hold_cycle_contracts() -> None:
    # Hold cycle FHKNUX: H (80) and K (78) are two months apart; J (79) is not held.
    # carry = (ln 80 - ln 78) * 12 / 2 = 0.1519068. A day with only H priced has no carry.
    settles = {
        D(2024, 1, 2): {H: 80.0, 202404: 79.0, K: 78.0},
        D(2024, 1, 3): {H: 80.0, 202404: 79.0},
    }
    series = build_series(market_from(settles), disruption="carry_forward")
    carry = series.get_column("carry").to_list()
    assert carry[0] == pytest.approx(0.15190684790573872, rel=1e-12)
    assert carry[1] is None


def test_data_roll_uses_the_datas_contract_and_the_next_later_priced_contract_for_carry() -> None:
    # The data holds H on Jan 2 and 3, K from Jan 4: the index is in K from the close of Jan 3.
    settles = {
        D(2024, 1, 2): {H: 10.0, 202404: 10.5, K: 11.0},
        D(2024, 1, 3): {H: 10.2, 202404: 10.6, K: 11.5},
        D(2024, 1, 4): {H: 10.1, 202404: 10.4, K: 11.0},
    }
    held = {D(2024, 1, 2): H, D(2024, 1, 3): H, D(2024, 1, 4): K}
    series = build_series(market_from(settles, held=held), DataRoll())
    assert series.get_column("daily_return").to_list() == pytest.approx([0.0, 10.2 / 10 - 1, 11.0 / 11.5 - 1])
    assert series.get_column("held_contracts").to_list() == ["202403:1", "202405:1", "202405:1"]
    # Carry: data's held contract and the next later priced one (one month apart); on Jan 4
    # nothing is priced after K, so the nearest earlier priced contract (J) is c1 and K is c2.
    assert series.get_column("carry").to_list() == pytest.approx(
        [12 * math.log(10.0 / 10.5), 12 * math.log(10.2 / 10.6), 12 * math.log(10.4 / 11.0)], rel=1e-12
    )
    assert series.select("carry_near", "carry_far").rows() == [(H, 202404), (H, 202404), (202404, K)]


def test_data_roll_carry_falls_back_to_the_earlier_priced_contract_when_no_later_one_is_priced() -> None:
    # A root whose CARRY contract precedes its PRICE contract (pysystemtrade's WHEAT, CORN): the
    # file prices the contract before the held one (CARRY) and leaves the one after (FORWARD)
    # mostly unpriced. Held N (202407) throughout.
    settles = {
        D(2024, 3, 4): {K: 600.0, N: 612.0, 202409: None},  # FORWARD unpriced: c1 = K, c2 = N
        D(2024, 3, 5): {K: 590.0, N: 605.0, 202409: 615.0},  # FORWARD priced: c1 = N, c2 = U
        D(2024, 3, 6): {H: 580.0, N: 598.0},  # earlier contracts H and K: the nearest priced is H
        D(2024, 3, 7): {K: 585.0, N: None},  # the held contract unpriced: no carry
        D(2024, 3, 8): {N: 601.0},  # the held contract alone: no pair, no carry
    }
    held = dict.fromkeys(settles, N)
    series = build_series(market_from(settles, held=held), DataRoll(), disruption="carry_forward")
    carry = series.get_column("carry").to_list()
    # carry = (ln F_c1 - ln F_c2) * 12 / m
    assert carry[0] == pytest.approx(math.log(600.0 / 612.0) * 12 / 2, rel=1e-12)  # -0.1188
    assert carry[1] == pytest.approx(math.log(605.0 / 615.0) * 12 / 2, rel=1e-12)  # -0.0984
    assert carry[2] == pytest.approx(math.log(580.0 / 598.0) * 12 / 4, rel=1e-12)  # -0.0917
    assert carry[3:] == [None, None]
    assert series.select("carry_near", "carry_far").rows() == [
        (K, N), (N, 202409), (H, N), (None, None), (None, None)
    ]
    assert series.schema["carry_near"] == pl.Int32 and series.schema["carry_far"] == pl.Int32


def test_window_roll_names_the_two_hold_cycle_contracts_of_its_carry() -> None:
    # Hold cycle FHKNUX: H and K (J not held); a day with only H priced has no carry and no pair.
    settles = {D(2024, 1, 2): {H: 80.0, 202404: 79.0, K: 78.0}, D(2024, 1, 3): {H: 80.0, 202404: 79.0}}
    series = build_series(market_from(settles), disruption="carry_forward")
    assert series.select("carry_near", "carry_far").rows() == [(H, K), (None, None)]


def test_first_notice_roll_series_switches_contract_at_the_roll_point() -> None:
    # Offset 1, 2 days before: FND(H) = Feb 29 2024, roll point Feb 27; position 2 holds K
    # until the close of Feb 26, then N.
    copper = instrument("HG", listed_months="HKNUZ", hold_months="HKNUZ", first_notice_offset=1)
    settles = {
        D(2024, 2, 26): {H: 4.0, K: 4.1, N: 4.2},
        D(2024, 2, 27): {H: 4.0, K: 4.2, N: 4.4},
        D(2024, 2, 28): {H: 4.0, K: 4.3, N: 4.3},
    }
    series = build_series(market_from(settles, item=copper), FirstNoticeRoll(position=2, days_before=2))
    assert series.get_column("held_contracts").to_list() == ["202405:1", "202407:1", "202407:1"]
    assert series.get_column("daily_return").to_list() == pytest.approx([0.0, 4.2 / 4.1 - 1, 4.3 / 4.4 - 1])


def test_a_market_without_prices_gives_empty_frames_with_the_interface_columns() -> None:
    empty = MarketData(prices=pl.DataFrame(schema=PRICES_SCHEMA), instruments={})
    assert build_series(empty).schema == pl.Schema(SERIES_SCHEMA)
    assert roll_schedule(empty, WindowRoll()).columns == ["date", "root", "contract", "weight"]


def test_price_row_order_does_not_matter_and_duplicates_are_rejected() -> None:
    market = market_from(HOLIDAY_WINDOW)
    two_roots = pl.concat([market.prices, market.prices.with_columns(pl.lit("YY").alias("root"))])
    instruments = {"XX": instrument("XX"), "YY": instrument("YY")}
    ordered = build_series(MarketData(prices=two_roots, instruments=instruments))
    shuffled_prices = two_roots.sample(fraction=1.0, shuffle=True, seed=7)
    shuffled = build_series(MarketData(prices=shuffled_prices, instruments=instruments))
    assert shuffled.equals(ordered)
    assert ordered.filter(pl.col("root") == "YY").get_column("daily_return").to_list() == pytest.approx(
        HOLIDAY_RETURNS, abs=1e-15
    )
    duplicated = pl.concat([two_roots, two_roots.slice(3, 1)])
    with pytest.raises(DataError, match="root XX, contract 202405, date 2024-02-02: duplicated price row"):
        build_series(MarketData(prices=duplicated, instruments=instruments))


# --- market disruption ---------------------------------------------------------------------------


def with_settle(date: dt.date, contract: int, settle: float | None) -> dict:
    settles = {day: dict(curve) for day, curve in HOLIDAY_WINDOW.items()}
    settles[date][contract] = settle
    return settles


def test_missing_settle_of_a_held_contract_stops_with_root_contract_and_date() -> None:
    with pytest.raises(DataError, match="root XX, contract 202403, date 2024-02-09: market disruption"):
        build_series(market_from(with_settle(D(2024, 2, 9), H, None)), disruption="error")
    with pytest.raises(DataError, match="root XX, contract 202403, date 2024-02-09: market disruption"):
        build_series(market_from(with_settle(D(2024, 2, 9), H, None)), max_disrupted_sessions=0)


def test_zero_settle_of_a_held_contract_is_a_price_not_a_disruption() -> None:
    # a zero settle is data (docs/design.md section 2); the rule for a held contract at zero or
    # below is worked by hand in tests/reliability/test_negative_prices.py
    series = build_series(market_from(with_settle(D(2024, 2, 12), K, 0.0)))
    assert not series.get_column("disrupted").any()
    assert series.get_column("level").is_finite().all()


def test_missing_row_of_a_held_contract_is_a_disruption() -> None:
    settles = {day: dict(curve) for day, curve in HOLIDAY_WINDOW.items()}
    del settles[D(2024, 2, 9)][K]
    with pytest.raises(DataError, match="root XX, contract 202405, date 2024-02-09"):
        build_series(market_from(settles), disruption="error")


def test_a_held_contract_without_a_settle_keeps_its_last_one_and_the_roll_step_waits() -> None:
    # H has no settle on Feb 9 (window day 2): Feb 9 is a disrupted session. H keeps Feb 8's 101
    # for Feb 9; the step due at the close of Feb 9 (to 0.6/0.4) is postponed, so the close of
    # Feb 9 still holds 0.8/0.2 and Feb 12 makes both steps (to 0.4/0.6, its own weights).
    #   Feb 9:  (0.8*101 + 0.2*100) / (0.8*101 + 0.2*103) - 1 = 100.8/101.4 - 1 = -0.0059172
    #   Feb 12: (0.8*98 + 0.2*99) / (0.8*101 + 0.2*100) - 1 = 98.2/100.8 - 1  = -0.0257937
    #   Feb 13 on: as without the gap (0.4/0.6 held at the close of Feb 12).
    for policy in ("rules", "carry_forward"):
        series = build_series(market_from(with_settle(D(2024, 2, 9), H, None)), disruption=policy)
        returns = series.get_column("daily_return").to_list()
        assert returns[:5] == pytest.approx(HOLIDAY_RETURNS[:5], abs=1e-15)
        assert returns[5] == pytest.approx(100.8 / 101.4 - 1, abs=1e-15)
        assert returns[6] == pytest.approx(98.2 / 100.8 - 1, abs=1e-15)
        assert returns[6] == pytest.approx(-0.025793650793650795, abs=1e-12)
        assert returns[7:] == pytest.approx(HOLIDAY_RETURNS[7:], abs=1e-15)
        assert series.get_column("held_contracts").to_list()[4:7] == [
            "202403:0.8 202405:0.2",
            "202403:0.8 202405:0.2",
            "202403:0.4 202405:0.6",
        ]
        assert series.get_column("disrupted").to_list() == [False] * 5 + [True] + [False] * 4


def test_a_roll_step_due_when_the_new_contract_has_no_settle_is_made_at_the_next_priced_session() -> None:
    # K (rolled into from Feb 8, window day 1) has no settle on Feb 8: the step is postponed,
    # the close of Feb 8 holds H alone (flagged), Feb 9 makes steps 1 and 2 (0.6/0.4).
    #   Feb 8: 101/100 - 1 (H only, priced)     Feb 9: 99/101 - 1 (H held at the close of Feb 8)
    settles = with_settle(D(2024, 2, 8), K, None)
    series = build_series(market_from(settles))
    returns = series.get_column("daily_return").to_list()
    assert returns[4] == pytest.approx(0.01, abs=1e-15)
    assert returns[5] == pytest.approx(99 / 101 - 1, abs=1e-15)
    assert returns[6:] == pytest.approx(HOLIDAY_RETURNS[6:], abs=1e-15)
    assert series.get_column("held_contracts").to_list()[4:6] == ["202403:1", "202403:0.6 202405:0.4"]
    assert series.get_column("disrupted").to_list() == [False] * 4 + [True] + [False] * 5


def test_consecutive_disrupted_sessions_over_the_limit_stop_naming_root_contract_and_dates() -> None:
    # H unpriced on Feb 8, 9 and 12: three consecutive disrupted sessions.
    settles = {day: dict(curve) for day, curve in HOLIDAY_WINDOW.items()}
    for day in (D(2024, 2, 8), D(2024, 2, 9), D(2024, 2, 12)):
        del settles[day][H]
    market = market_from(settles)
    message = (
        "root XX, contract 202403, dates 2024-02-08 to 2024-02-12: market disruption on 3 consecutive "
        "sessions (more than 2)"
    )
    with pytest.raises(DataError, match=re.escape(message)):
        build_series(market, max_disrupted_sessions=2)
    # Three are within the default limit (5) and carry_forward's (none): H keeps 100 (Feb 6)
    # through Feb 12, the roll waits (H held alone), Feb 13 makes steps 1-4 (0.2/0.8).
    for series in (build_series(market), build_series(market, max_disrupted_sessions=3),
                   build_series(market, disruption="carry_forward")):
        returns = series.get_column("daily_return").to_list()
        assert returns[4:8] == pytest.approx([0.0, 0.0, 0.0, 100 / 100 - 1], abs=1e-15)
        assert series.get_column("held_contracts").to_list()[4:9] == ["202403:1"] * 3 + [
            "202403:0.2 202405:0.8", "202405:1"]
        assert returns[8] == pytest.approx((0.2 * 102 + 0.8 * 104) / (0.2 * 100 + 0.8 * 101) - 1, abs=1e-15)
        assert series.get_column("disrupted").to_list() == [False] * 4 + [True] * 3 + [False] * 3


def test_carry_forward_keeps_each_roots_days_apart_in_a_multi_root_market() -> None:
    # Three roots with the same prices and the same gap: each must get the one-root answer.
    one_root = build_series(market_from(with_settle(D(2024, 2, 9), H, None)), disruption="carry_forward")
    single = market_from(with_settle(D(2024, 2, 9), H, None))
    prices = pl.concat([single.prices.with_columns(pl.lit(root).alias("root")) for root in ("AA", "BB", "CC")])
    market = MarketData(
        prices=prices.sort("root", "date", "contract"),
        instruments={root: instrument(root) for root in ("AA", "BB", "CC")},
    )
    series = build_series(market, disruption="carry_forward")
    for root in ("AA", "BB", "CC"):
        mine = series.filter(pl.col("root") == root)
        assert mine.get_column("daily_return").to_list() == one_root.get_column("daily_return").to_list()
        assert mine.get_column("disrupted").to_list() == one_root.get_column("disrupted").to_list()


def test_a_contract_held_at_the_first_close_without_a_settle_is_an_error_under_every_policy() -> None:
    # Nothing is held before a root's first date: H, held at the close of Feb 1, has no price to keep.
    settles = with_settle(D(2024, 2, 1), H, None)
    for policy in ("rules", "carry_forward", "error"):
        with pytest.raises(DataError, match="root XX, contract 202403, date 2024-02-01: market disruption"):
            build_series(market_from(settles), disruption=policy)


def rules_day_by_day(market: MarketData, rule) -> tuple[list[float], list[bool], list[dict[int, float]]]:
    """The disruption rules (docs/design.md section 2) as a plain loop over one root's days:
    daily returns, disrupted flags and the weights held at each close. The oracle of the
    vectorised fixed point in :func:`indexcalc.disruption.disrupted_sessions`."""
    schedule: dict[dt.date, dict[int, float]] = {}
    for date, _, contract, weight in roll_schedule(market, rule).iter_rows():
        schedule.setdefault(date, {})[contract] = weight
    settles: dict[tuple[dt.date, int], float] = {
        (date, contract): settle
        for date, contract, settle in market.prices.select("date", "contract", "settle").iter_rows()
        if settle is not None and settle > 0
    }
    days = sorted(schedule)
    returns, flags, held = [0.0], [False], [schedule[days[0]]]
    last = {contract: settle for (date, contract), settle in settles.items() if date == days[0]}
    for day in days[1:]:
        before = held[-1]
        wanted = schedule[day]
        disrupted = any((day, contract) not in settles for contract in set(before) | set(wanted))
        now = {contract: settles.get((day, contract), last.get(contract)) for contract in before}
        returns.append(sum(w * now[c] for c, w in before.items()) / sum(w * last[c] for c, w in before.items()) - 1)
        flags.append(disrupted)
        held.append(before if disrupted else wanted)
        last.update({contract: settle for (date, contract), settle in settles.items() if date == day})
    return returns, flags, held


@st.composite
def gappy_curves(draw):
    span = [D(2024, 1, 25) + dt.timedelta(days=offset) for offset in range(75)]
    span = [day for day in span if day.weekday() < 5]
    contracts = [202403, 202405, 202407, 202409]
    settles = {}
    for number, day in enumerate(span):
        curve = {}
        for position, contract in enumerate(contracts):
            missing = number > 0 and draw(st.integers(0, 99)) < 12  # about 1 settle in 8 missing
            curve[contract] = None if missing else 50.0 + number + 3 * position + draw(st.integers(0, 9)) / 10
        settles[day] = curve
    window = draw(st.integers(1, 8))
    return settles, WindowRoll(first_day=window, last_day=window + draw(st.integers(0, 6)))


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(gappy_curves())
def test_the_disruption_rules_equal_a_day_by_day_loop(case) -> None:
    settles, rule = case
    market = market_from(settles)
    returns, flags, held = rules_day_by_day(market, rule)
    series = build_series(market, rule, disruption="carry_forward")
    assert series.get_column("disrupted").to_list() == flags
    assert series.get_column("daily_return").to_list() == pytest.approx(returns, rel=1e-12, abs=1e-15)
    text = [" ".join(f"{c}:{round(w, 6):g}" for c, w in sorted(weights.items())) for weights in held]
    assert series.get_column("held_contracts").to_list() == text


# --- collateral ----------------------------------------------------------------------------------


def test_collateral_returns_use_the_previous_dates_rate_over_calendar_days() -> None:
    rates = pl.DataFrame({"date": [D(2024, 1, 2), D(2024, 1, 3)], "tbill": [0.05, 0.04]})
    dates = pl.Series([D(2024, 1, 3), D(2024, 1, 2), D(2024, 1, 8)])
    frame = collateral_returns(rates, dates)
    assert frame.get_column("date").to_list() == [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 8)]
    # Jan 3: 5% over 1 day = 0.000139784; Jan 8: Jan 3's 4% over 5 days.
    assert frame.get_column("collateral_return").to_list() == pytest.approx(
        [0.0, 0.00013978382461399264, (1 / (1 - 91 / 360 * 0.04)) ** (5 / 91) - 1], rel=1e-12
    )


def test_collateral_is_zero_without_rates_and_an_error_before_the_first_rate() -> None:
    dates = pl.Series([D(2024, 1, 2), D(2024, 1, 3)])
    empty = pl.DataFrame(schema=RATES_SCHEMA)
    assert collateral_returns(empty, dates).get_column("collateral_return").to_list() == [0.0, 0.0]
    late = pl.DataFrame({"date": [D(2024, 1, 3)], "tbill": [0.05]})
    with pytest.raises(DataError, match="date 2024-01-02: no T-bill rate"):
        collateral_returns(late, dates)
    with pytest.raises(DataError, match="date 2024-02-01: no T-bill rate"):
        build_series(market_from(HOLIDAY_WINDOW, {D(2024, 2, 5): 0.05}))


# --- properties ----------------------------------------------------------------------------------


@st.composite
def constant_curves(draw):
    start = D(2023, 12, 1)
    span = [start + dt.timedelta(days=offset) for offset in range(120)]
    span = [day for day in span if day.weekday() < 5]
    keep = draw(st.lists(st.booleans(), min_size=len(span), max_size=len(span)))
    dates = [day for day, kept in zip(span, keep) if kept] or span[:2]
    price = draw(st.floats(0.01, 1e5))
    rates = draw(st.lists(st.floats(0.0, 0.2), min_size=len(dates), max_size=len(dates)))
    window = draw(st.integers(1, 12))
    return dates, price, rates, WindowRoll(first_day=window, last_day=window + draw(st.integers(0, 8)))


@settings(max_examples=40, deadline=None)
@given(constant_curves())
@pytest.mark.slow
def test_a_constant_curve_has_zero_excess_return_and_earns_the_compounded_t_bill(case) -> None:
    dates, price, rates, rule = case
    contracts = [202401, 202403, 202405, 202407, 202409]
    settles = {date: {contract: price for contract in contracts} for date in dates}
    series = build_series(market_from(settles, dict(zip(dates, rates))), rule)
    assert series.get_column("daily_return").to_list() == [0.0] * len(dates)
    assert series.get_column("level").to_list() == [100.0] * len(dates)
    expected = [100.0]
    for previous, date, rate in zip(dates, dates[1:], rates):
        expected.append(expected[-1] * (1 + bill(rate, (date - previous).days)))
    assert series.get_column("tr_level").to_list() == pytest.approx(expected, rel=1e-12)


# --- CLI -----------------------------------------------------------------------------------------


def write_long_prices(path: Path, settles: dict[dt.date, dict[int, float]], root: str = "CL") -> Path:
    rows = [(date, root, contract, settle) for date, curve in settles.items() for contract, settle in curve.items()]
    pl.DataFrame(
        rows, schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32, "settle": pl.Float64}, orient="row"
    ).write_csv(path)
    return path


def test_series_command_writes_one_csv_per_root_and_one_parquet(tmp_path: Path) -> None:
    prices = write_long_prices(tmp_path / "prices.csv", HOLIDAY_WINDOW)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["series", "--data", str(prices), "--format", "long", "--out", str(out)])
    assert result.exit_code == 0, result.output
    csv = pl.read_csv(out / "CL.csv", try_parse_dates=True)
    assert csv.columns == ["date", "root", "level", "daily_return", "tr_level", "carry", "carry_near", "carry_far",
                           "held_contracts", "disrupted"]
    assert csv.get_column("daily_return").to_list() == pytest.approx(HOLIDAY_RETURNS, abs=1e-15)
    assert csv.get_column("held_contracts").to_list()[4] == "202403:0.8 202405:0.2"
    everything = pl.read_parquet(out / "series.parquet")
    assert everything.columns == list(SERIES_SCHEMA)
    assert everything.height == len(HOLIDAY_WINDOW)
    assert sorted(path.name for path in out.iterdir()) == ["CL.csv", "series.parquet"]


def test_series_command_stops_on_a_disruption_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    settles = {day: dict(curve) for day, curve in HOLIDAY_WINDOW.items()}
    del settles[D(2024, 2, 9)][H]
    prices = write_long_prices(tmp_path / "prices.csv", settles)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["series", "--data", str(prices), "--out", str(out), "--max-disrupted-sessions", "0"])
    assert result.exit_code == 2
    assert "root CL, contract 202403, date 2024-02-09: market disruption" in result.output
    assert not out.exists() or not any(out.iterdir())

    for extra in ([], ["--carry-forward"]):  # the default limit (5) carries the one session, as no limit does
        result = CliRunner().invoke(main, ["series", "--data", str(prices), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert "1 disrupted sessions" in result.output
        csv = pl.read_csv(out / "CL.csv")
        assert csv.columns[-1] == "disrupted"
        assert csv.get_column("disrupted").to_list() == [False] * 5 + [True] + [False] * 4


def test_series_command_stops_after_the_consecutive_session_limit(tmp_path: Path) -> None:
    settles = {day: dict(curve) for day, curve in HOLIDAY_WINDOW.items()}
    for day in (D(2024, 2, 8), D(2024, 2, 9), D(2024, 2, 12)):
        del settles[day][H]
    prices = write_long_prices(tmp_path / "prices.csv", settles)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["series", "--data", str(prices), "--out", str(out), "--max-disrupted-sessions", "2"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {prices}: root CL, contract 202403, dates 2024-02-08 to 2024-02-12: market disruption on 3 "
        "consecutive sessions (more than 2): held contract has no settlement\n"
    )
    assert not out.exists() or not any(out.iterdir())
    result = CliRunner().invoke(main, ["series", "--data", str(prices), "--out", str(out), "--max-disrupted-sessions", "3"])
    assert result.exit_code == 0, result.output


def test_series_command_data_roll_needs_held_contracts(tmp_path: Path) -> None:
    prices = write_long_prices(tmp_path / "prices.csv", HOLIDAY_WINDOW)
    result = CliRunner().invoke(main, ["series", "--data", str(prices), "--out", str(tmp_path / "o"), "--roll", "data"])
    assert result.exit_code == 2
    assert "no held contracts" in result.output


def test_roll_schedule_and_series_agree_on_the_dates() -> None:
    market = market_from(HOLIDAY_WINDOW)
    schedule = roll_schedule(market, WindowRoll())
    series = build_series(market)
    assert schedule.get_column("date").unique().sort().to_list() == series.get_column("date").to_list()


# --- embedded market, full history ---------------------------------------------------------------


def test_every_embedded_root_gets_a_complete_series_over_the_full_history(
    embedded_market: MarketData, embedded_series: pl.DataFrame
) -> None:
    market, series = embedded_market, embedded_series
    schedule = roll_schedule(market, WindowRoll())
    assert series.get_column("root").n_unique() == len(market.instruments) == 23
    # One row per root and business day (the dates the root has prices), nothing missing.
    assert series.height == market.prices.select("root", "date").n_unique()
    nulls = series.select(pl.col("level", "daily_return", "tr_level", "held_contracts").null_count())
    assert nulls.row(0) == (0, 0, 0, 0)
    assert not series.get_column("disrupted").any()
    assert (series.group_by("root").agg(pl.col("level").first()).get_column("level") == 100.0).all()
    assert (series.get_column("level") > 0).all()
    # Carry is known on every day with two hold-cycle contracts priced (all but a handful).
    assert series.get_column("carry").null_count() < 0.01 * series.height
    sums = schedule.group_by("root", "date").agg(pl.col("weight").sum()).get_column("weight")
    assert sums.is_between(1 - 1e-12, 1 + 1e-12).all()
    # The window rolls: on business days 5-9 of some months two contracts are held.
    assert schedule.group_by("root", "date").len().get_column("len").max() == 2


# --- blocks of roots (memory bound on large markets) ---------------------------------------------


@pytest.mark.slow
def test_series_built_in_blocks_of_roots_equal_the_one_pass_series_bit_for_bit(embedded_market) -> None:
    # The embedded market (about 2 million rows) in blocks of about 300,000 price rows: seven
    # or more blocks, each root in one; every column must be identical to the one-pass build.
    from indexcalc.keyed_prices import root_blocks

    roots = embedded_market.roots[3:17]  # a subset: blocks then hold rows of roots left out
    assert len(root_blocks(embedded_market.prices, roots, 300_000)) >= 3
    for rule, chosen in ((WindowRoll(), embedded_market.roots), (WindowRoll(), roots)):
        whole = build_series(embedded_market, rule, roots=chosen, block_rows=10**9)
        blocked = build_series(embedded_market, rule, roots=chosen, block_rows=300_000)
        assert blocked.equals(whole)
        assert blocked.get_column("root").unique(maintain_order=True).to_list() == sorted(chosen)


def three_root_market(settles_by_root: dict[str, dict], rates: dict[dt.date, float] | None = None) -> MarketData:
    markets = [market_from(settles, rates, item=instrument(root)) for root, settles in settles_by_root.items()]
    return MarketData(
        prices=pl.concat([market.prices for market in markets]).sort("root", "date", "contract"),
        instruments={root: instrument(root) for root in settles_by_root},
        rates=markets[0].rates,
    )


@pytest.mark.slow
def test_blocks_give_the_same_series_for_every_rule_and_carry_forward() -> None:
    copper = instrument("AA", first_notice_offset=1)
    settles = {
        D(2024, 4, 24): {K: 4.0, N: 4.1, 202409: 4.2},
        D(2024, 4, 25): {K: 4.1, N: 4.2, 202409: 4.3},
        D(2024, 4, 26): {K: 4.2, N: 4.4, 202409: 4.5},
    }
    prices = pl.concat(
        [market_from(settles, item=copper).prices.with_columns(pl.lit(root).alias("root")) for root in ("AA", "BB", "CC")]
    ).sort("root", "date", "contract")
    market = with_exchange_sessions(
        MarketData(prices=prices, instruments={root: instrument(root, first_notice_offset=1) for root in ("AA", "BB", "CC")})
    )
    rule = FirstNoticeRoll(position=2, days_before=2)
    assert build_series(market, rule, block_rows=9).equals(build_series(market, rule, block_rows=10**9))
    data_settles = {
        D(2024, 1, 2): {H: 10.0, 202404: 10.5, K: 11.0},
        D(2024, 1, 3): {H: 10.2, 202404: 10.6, K: 11.5},
        D(2024, 1, 4): {H: 10.1, 202404: 10.4, K: 11.0},
    }
    held = {D(2024, 1, 2): H, D(2024, 1, 3): H, D(2024, 1, 4): K}
    singles = [market_from(data_settles, item=instrument(root), held=held) for root in ("AA", "BB", "CC")]
    data_market = MarketData(
        prices=pl.concat([single.prices for single in singles]),
        instruments={root: instrument(root) for root in ("AA", "BB", "CC")},
        held=pl.concat([single.held for single in singles]),
    )
    data_blocked = build_series(data_market, DataRoll(), block_rows=9)
    assert data_blocked.equals(build_series(data_market, DataRoll(), block_rows=10**9))
    assert data_blocked.height == 9 and data_blocked.get_column("carry").null_count() < 9
    gap = three_root_market({root: with_settle(D(2024, 2, 9), H, None) for root in ("AA", "BB", "CC")})
    assert build_series(gap, disruption="carry_forward", block_rows=20).equals(
        build_series(gap, disruption="carry_forward", block_rows=10**9)
    )
    assert build_series(gap, block_rows=20).equals(build_series(gap, block_rows=10**9))


def test_blocks_report_the_disruption_the_whole_market_reports_first() -> None:
    # AA's gap (Feb 12) lies in the first block, CC's (Feb 9) in the last one: the error names
    # the earliest disruption over all roots, as a one-pass build does.
    market = three_root_market(
        {"AA": with_settle(D(2024, 2, 12), K, None), "BB": HOLIDAY_WINDOW, "CC": with_settle(D(2024, 2, 9), H, None)}
    )
    for block_rows in (20, 10**9):
        with pytest.raises(DataError, match="root CC, contract 202403, date 2024-02-09: market disruption"):
            build_series(market, block_rows=block_rows, disruption="error")
