"""Copper macro-factor strategy: trade rules on constructed paths, and the whole index on a
synthetic market (P&L identities, no look-ahead) and on the embedded market."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.data.instruments import load_instruments
from indexcalc.data.calendars import with_exchange_sessions
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.families.copper.compute import compute_copper_macro, copper_curve, simulate
from indexcalc.first_notice import first_notice_day
from indexcalc.collateral import collateral_returns
from indexcalc.catalogue import parse_spec
from indexcalc.families.copper.spec import CopperMacroSpec

PROJECT = Path(__file__).resolve().parents[2]
M = 25_000.0  # HG multiplier: USD per (USD/lb) per contract


# --- constructed paths: the trade rules one at a time ---------------------------------------------


def hand_spec(**fields) -> CopperMacroSpec:
    values = {"id": "CU-TEST", "name": "test", "initial_equity": 1_000_000.0, "cost_per_contract": 2.0, "base_value": 100.0}
    return CopperMacroSpec(**(values | fields))


def hand_inputs(
    settles: list[float],
    signals: list[int],
    *,
    atr: float = 0.05,
    roll_day: int | None = None,
    new_settles: list[float] | None = None,
    raw_signals: list[int] | None = None,
) -> pl.DataFrame:
    """The columns :func:`simulate` reads, for one contract 202403 (rolling to 202404 at the close
    of ``roll_day``, after which ``new_settles`` are that contract's settles)."""
    days = len(settles)
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=day) for day in range(days)]
    held = [202403 if roll_day is None or day < roll_day else 202404 for day in range(days)]
    held_settle = [settles[day] if held[day] == 202403 else new_settles[day] for day in range(days)]
    carried = [None] + [settles[day] if held[day - 1] == 202403 else new_settles[day] for day in range(1, days)]
    change = [None] + [carried[day] - held_settle[day - 1] for day in range(1, days)]
    return pl.DataFrame(
        {
            "date": dates,
            "held": held,
            "held_settle": held_settle,
            "carried_settle": carried,
            "price_change": change,
            "roll": [day == roll_day for day in range(days)],
            "forecast": [0.01] * days,
            "signal": signals,
            "raw_signal": raw_signals if raw_signals is not None else signals,
            "atr": [atr] * days,
            "carry_long": [1.0] * days,
            "carry_short": [1.0] * days,
        },
        schema_overrides={"held": pl.Int32, "signal": pl.Int8, "raw_signal": pl.Int8},
    )


def test_gap_through_the_trailing_stop_fills_at_the_gap_price():
    # Signal long on day 0, filled at the close of day 1 (lag 1) at 4.00. Size: risk 0.01 * 1e6 =
    # 10,000; stop distance 1.5 * 0.05 = 0.075 -> 1,875 USD per contract -> 5 contracts.
    # Day 2 settles at 4.10: trailing stop 4.10 - 0.075 = 4.025. Day 3 gaps to 3.90, through the
    # stop: the exit fills at 3.90 (the gap price), not at 4.025.
    # P&L = 5 * 25,000 * (3.90 - 4.00) - 2 * 5 * 2 USD = -12,500 - 20 = -12,520.
    # The signal stays long: no re-entry after the stop until the signal leaves long.
    inputs = hand_inputs([4.00, 4.00, 4.10, 3.90, 3.95, 3.97], [1, 1, 1, 1, 1, 1])
    spec = hand_spec()
    result = simulate(spec, inputs, M)
    assert result.trades.rows(named=True) == [
        {"entry_date": dt.date(2024, 1, 2), "exit_date": dt.date(2024, 1, 4), "direction": 1, "contracts": 5,
         "contract": 202403, "entry_price": 4.00, "exit_price": 3.90, "entry_reason": "signal", "reason": "stop",
         "costs": 20.0, "pnl": pytest.approx(-12_520.0)},
    ]
    # Equity: 1e6 - 10 (entry cost); +12,500 on day 2; -25,000 - 10 (exit cost) on day 3.
    assert result.daily.get_column("equity").to_list() == pytest.approx(
        [1e6, 999_990.0, 1_012_490.0, 987_480.0, 987_480.0, 987_480.0]
    )
    assert result.daily.get_column("position").to_list() == [0, 5, 5, 0, 0, 0]


def test_fixed_stop_ignores_the_trailing_extreme():
    # Same path with day 3 at 3.95: above the fixed stop 4.00 - 0.075 = 3.925 but below the
    # trailing stop 4.025, so only the trailing rule exits.
    path = [4.00, 4.00, 4.10, 3.95, 3.95]
    trailing = simulate(hand_spec(), hand_inputs(path, [1] * 5), M)
    fixed = simulate(hand_spec(trailing_stop=False), hand_inputs(path, [1] * 5), M)
    assert trailing.trades.get_column("reason").to_list() == ["stop"]
    assert trailing.trades.get_column("exit_price").to_list() == [3.95]
    assert fixed.trades.get_column("reason").to_list() == ["open"]


def test_stopped_direction_is_reentered_only_after_the_signal_leaves_it():
    # Stop on day 3 (gap to 3.80); signals of days 3.. are long, flat (day 4), long (day 5):
    # the long is re-entered at the close of day 6 (lag 1) at 3.85.
    inputs = hand_inputs([4.00, 4.00, 4.00, 3.80, 3.82, 3.84, 3.85, 3.86], [1, 1, 1, 1, 0, 1, 1, 1])
    trades = simulate(hand_spec(), inputs, M).trades
    assert trades.select("entry_date", "entry_price", "reason").rows() == [
        (dt.date(2024, 1, 2), 4.00, "stop"),
        (dt.date(2024, 1, 7), 3.85, "open"),
    ]


def test_signal_reversal_exits_and_enters_the_other_way_at_the_same_close():
    # Long filled day 1 at 4.00 (5 contracts); the signal turns short on day 2, so at the close of
    # day 3 the long exits at 4.02 and a short opens at 4.02. Short size from day-2 equity:
    # 1e6 - 10 + 5 * 25,000 * 0.01 = 1,001,240 -> floor(10,012.4 / 1,875) = 5.
    inputs = hand_inputs([4.00, 4.00, 4.01, 4.02, 4.00], [1, 1, -1, -1, -1])
    trades = simulate(hand_spec(), inputs, M).trades
    assert trades.select("direction", "contracts", "entry_price", "exit_price", "reason").rows() == [
        (1, 5, 4.00, 4.02, "signal"),
        (-1, 5, 4.02, 4.00, "open"),
    ]
    # long: 5 * 25,000 * 0.02 - 20 = 2,480; short (open): 5 * 25,000 * 0.02 - 10 = 2,490
    assert trades.get_column("pnl").to_list() == pytest.approx([2_480.0, 2_490.0])


def test_flat_signal_from_a_regime_filter_exits_with_reason_regime():
    inputs = hand_inputs([4.00, 4.00, 4.01, 4.02], [1, 1, 0, 0], raw_signals=[1, 1, 1, 1])
    assert simulate(hand_spec(), inputs, M).trades.get_column("reason").to_list() == ["regime"]


def test_forced_roll_closes_the_old_contract_and_opens_the_same_position_in_the_next():
    # Long 5 from day 1 at 4.00 in 202403; roll at the close of day 3: 202403 settles 4.05 and
    # 202404 4.08 (contango 0.03). Exit 4.05 (reason roll), re-entry 4.08 (entry reason roll).
    # Roll P&L = -1 * 5 * 25,000 * (4.08 - 4.05) = -3,750; day 4: 202404 at 4.10 -> +2,500.
    old = [4.00, 4.00, 4.02, 4.05, 4.06]
    new = [4.03, 4.03, 4.05, 4.08, 4.10]
    result = simulate(hand_spec(), hand_inputs(old, [1] * 5, roll_day=3, new_settles=new), M)
    assert result.trades.select("contract", "entry_price", "exit_price", "entry_reason", "reason", "contracts").rows() == [
        (202403, 4.00, 4.05, "signal", "roll", 5),
        (202404, 4.08, 4.10, "roll", "open", 5),
    ]
    assert result.daily.get_column("roll_pnl").to_list() == pytest.approx([0, 0, 0, -3_750.0, 0])
    # gross P&L: 0.02 then 0.03 then 0.02 per lb on 125,000 lb = 2,500 + 3,750 + 2,500
    assert result.daily.get_column("gross_pnl").sum() == pytest.approx(8_750.0)
    # costs: entry 10, roll exit 10 + re-entry 10 = 30
    assert result.daily.get_column("costs").sum() == pytest.approx(30.0)
    assert result.trades.get_column("pnl").sum() == pytest.approx(8_750.0 - 30.0)
    weights = result.weights
    assert weights.select("effective_date", "contract", "contracts").rows() == [
        (dt.date(2024, 1, 2), 202403, 5),
        (dt.date(2024, 1, 4), 202404, 5),
    ]
    # weight = 5 * 25,000 * 4.08 / equity at the roll close
    roll_equity = result.daily.get_column("equity")[3]
    assert weights.get_column("weight")[1] == pytest.approx(5 * M * 4.08 / roll_equity)


def test_trailing_stop_keeps_its_distance_across_a_roll():
    # Trailing extreme 4.05 in 202403 becomes 4.05 + 0.03 = 4.08 in 202404: stop 4.005. Day 4 at
    # 4.01 stays above it; day 5 at 4.00 goes through it (exit at 4.00).
    old = [4.00, 4.00, 4.02, 4.05, 3.98, 3.97]
    new = [4.03, 4.03, 4.05, 4.08, 4.01, 4.00]
    trades = simulate(hand_spec(), hand_inputs(old, [1] * 6, roll_day=3, new_settles=new), M).trades
    assert trades.select("contract", "exit_price", "reason").rows() == [(202403, 4.05, "roll"), (202404, 4.00, "stop")]


def test_carry_multiplier_and_implementation_lag_set_the_size_from_the_signal_day():
    # Carry multiplier 0.5 on day 0 (the signal day) and 1.0 on day 1 (the fill day): the
    # issue's example, floor(5 * 0.5) = 2 contracts.
    inputs = hand_inputs([4.00, 4.00, 4.00], [1, 1, 1]).with_columns(pl.Series("carry_long", [0.5, 1.0, 1.0]))
    assert simulate(hand_spec(), inputs, M).trades.get_column("contracts").to_list() == [2]
    same_day = simulate(hand_spec(implementation_lag=0), inputs, M).trades
    assert same_day.get_column("entry_date").to_list() == [dt.date(2024, 1, 2)]
    assert same_day.get_column("contracts").to_list() == [5]


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.floats(-0.08, 0.08), min_size=8, max_size=39),  # days = moves + 1 <= 40 signals
    signals=st.lists(st.sampled_from([-1, 0, 1]), min_size=40, max_size=40),
    roll_day=st.integers(2, 30),
    spread=st.floats(-0.05, 0.05),
    lag=st.integers(0, 2),
)
def test_trade_pnl_and_attribution_always_add_up_to_the_equity_change(moves, signals, roll_day, spread, lag):
    old = list(4.0 + np.cumsum([0.0, *moves]))
    new = [price + spread for price in old]
    days = len(old)
    inputs = hand_inputs(old, signals[:days], roll_day=roll_day if roll_day < days else None, new_settles=new)
    result = simulate(hand_spec(implementation_lag=lag), inputs, M)
    daily = result.daily
    change = daily.get_column("equity")[-1] - 1_000_000.0
    assert result.trades.get_column("pnl").sum() == pytest.approx(change, abs=1e-6)
    assert (daily.get_column("gross_pnl").sum() - daily.get_column("costs").sum()) == pytest.approx(change, abs=1e-6)
    # with a fixed stop, a stop exit is never better than entry -/+ 1.5 * ATR = 0.075: it fills at
    # the settle that went through the stop
    fixed = simulate(hand_spec(implementation_lag=lag, trailing_stop=False), inputs, M).trades
    for trade in fixed.filter((pl.col("reason") == "stop") & (pl.col("entry_reason") == "signal")).iter_rows(named=True):
        assert trade["direction"] * (trade["exit_price"] - trade["entry_price"]) <= -0.075 + 1e-12


# --- a synthetic market: the whole index -----------------------------------------------------------


def synthetic_market(days: int = 900, seed: int = 7) -> MarketData:
    """HG with every month listed (priced from 14 months before delivery to 20 days into it), a
    random-walk spot moved by the USD index and LME stocks, a fixed contango, and the macro series
    (monthly PMI released on the first business day of the next month)."""
    rng = np.random.default_rng(seed)
    calendar = np.arange(np.datetime64("2010-01-04"), np.datetime64("2010-01-04") + 2 * days)
    dates = calendar[np.is_busday(calendar)][:days]
    usd = 80.0 * np.exp(np.cumsum(rng.normal(0.0, 0.005, days)))
    stocks = 3e5 * np.exp(np.cumsum(rng.normal(0.0, 0.02, days)))
    spot = 3.0 * np.exp(
        np.cumsum(-0.8 * np.diff(np.log(usd), prepend=np.log(usd[0])) - 0.05 * np.diff(np.log(stocks), prepend=np.log(stocks[0])) + rng.normal(0.0, 0.012, days))
    )
    days_frame = pl.DataFrame({"date": dates.astype("datetime64[D]"), "spot": spot}).cast({"date": pl.Date})
    months = pl.DataFrame({"month": np.arange(2010 * 12, 2010 * 12 + days // 18 + 20)})
    prices = (
        days_frame.join(months, how="cross")
        .with_columns(
            ((pl.col("month") // 12) * 100 + pl.col("month") % 12 + 1).cast(pl.Int32).alias("contract"),
            ((pl.date(pl.col("month") // 12, pl.col("month") % 12 + 1, 1) - pl.col("date")).dt.total_days() / 365.25).alias("tau"),
        )
        .filter((pl.col("tau") > -20 / 365.25) & (pl.col("tau") < 14 / 12))
        .select(
            "date", pl.lit("HG").alias("root"), "contract", (pl.col("spot") * (0.03 * pl.col("tau")).exp()).round(4).alias("settle"),
            pl.lit(None, pl.Float64).alias("volume"), pl.lit(None, pl.Float64).alias("open_interest"),
        )
        .sort("root", "date", "contract")
    )
    releases = days_frame.group_by(pl.col("date").dt.truncate("1mo").alias("month")).agg(pl.col("date").min()).sort("month")
    macro = pl.concat(
        [
            days_frame.select("date", pl.lit("usd_index").alias("series"), pl.Series("value", usd)),
            days_frame.select("date", pl.lit("lme_copper_stocks").alias("series"), pl.Series("value", stocks)),
            releases.select("date", pl.lit("china_pmi").alias("series"), pl.Series("value", 50 + np.cumsum(rng.normal(0, 1, releases.height)))),
        ]
    ).sort("date", "series")
    rates = days_frame.select("date", pl.lit(0.02).alias("tbill"))
    return with_exchange_sessions(
        MarketData(prices=prices, instruments={"HG": load_instruments()["HG"]}, rates=rates, macro=macro, source="synthetic")
    )


@pytest.fixture(scope="module")
def market() -> MarketData:
    return synthetic_market()


def market_spec(**fields) -> CopperMacroSpec:
    values = {"id": "CU-SYN-ER", "name": "synthetic", "window": 120, "long_threshold": 0.001, "short_threshold": -0.001,
              "split_date": dt.date(2012, 6, 1)}
    return CopperMacroSpec(**(values | fields))


def compute(market: MarketData, *specs: CopperMacroSpec) -> dict:
    collateral = collateral_returns(market.rates, market.prices.get_column("date").unique().sort())
    return compute_copper_macro(list(specs), market, pl.DataFrame(), collateral)


def test_held_contract_is_m2_and_rolls_five_days_before_first_notice(market):
    curve = copper_curve(market, "HG", market_spec().roll).with_row_index("day")
    notices = first_notice_day(market, ["HG"]).select(pl.col("contract").alias("old_front"), "first_notice_day")
    rolls = (
        curve.with_columns(pl.col("front").shift(1).alias("old_front"))
        .filter(pl.col("roll"))
        .join(notices, on="old_front")
        .join(curve.select(pl.col("date").alias("first_notice_day"), pl.col("day").alias("notice_day")), on="first_notice_day")
    )
    assert rolls.height > 30
    # the roll happens at the close 5 business days before the old front's first notice day
    assert (rolls.get_column("notice_day") - rolls.get_column("day") == 5).all()
    # held = M2: the month after M1, every day; M3 the month after that
    month = lambda contract: (contract // 100) * 12 + contract % 100  # noqa: E731
    assert curve.select((month(pl.col("held")) - month(pl.col("front")) == 1).all()).item()
    assert curve.select((month(pl.col("next")) - month(pl.col("held")) == 1).all()).item()
    assert curve.select((pl.col("held_settle") == pl.col("second_settle")).all()).item()


def test_trade_list_and_attribution_sum_to_the_index_pnl(market):
    er, tr = market_spec(), market_spec(id="CU-SYN-TR", return_type="tr")
    results = compute(market, er, tr)
    levels = results[er.id].levels
    trades = results[er.id].tables["trades"]
    assert trades.height > 20 and set(trades.get_column("reason")) >= {"signal", "stop", "roll"}
    pnl = er.initial_equity * (levels.get_column("level")[-1] / er.base_value - 1.0)
    assert trades.get_column("pnl").sum() == pytest.approx(pnl, rel=1e-9)
    attribution = results[er.id].tables["attribution"]
    full = attribution.filter(pl.col("sample") == "full").row(0, named=True)
    assert full["directional"] + full["roll"] + full["costs"] == pytest.approx(pnl, rel=1e-9)
    assert attribution.filter(pl.col("sample") != "full").get_column("total").sum() == pytest.approx(pnl, rel=1e-9)
    assert full["costs"] == pytest.approx(-er.cost_per_contract * 2 * trades.filter(pl.col("reason") != "open").get_column("contracts").sum()
                                          - er.cost_per_contract * trades.filter(pl.col("reason") == "open").get_column("contracts").sum())
    # TR_t = TR_{t-1} * (ER_t / ER_{t-1} + TBR_t); both start at the base value on the same day
    joined = levels.join(results[tr.id].levels, on="date", suffix="_tr").join(
        collateral_returns(market.rates, levels.get_column("date")), on="date"
    )
    ratio = joined.select(
        (pl.col("level_tr") / pl.col("level_tr").shift(1)) - (pl.col("level") / pl.col("level").shift(1) + pl.col("collateral_return"))
    ).to_series().slice(1)
    assert ratio.abs().max() < 1e-12
    assert levels.get_column("level")[0] == er.base_value == results[tr.id].levels.get_column("level")[0]
    stats = results[er.id].tables["sample_stats"]
    assert stats.get_column("sample").to_list() == ["in_sample", "out_of_sample"]
    assert stats.get_column("trades").sum() == trades.height


def test_future_data_changes_no_earlier_signal_or_level(market):
    """No look-ahead: perturbing every price and macro value after a date leaves the signals,
    coefficients, positions and levels of that date and earlier unchanged."""
    spec = market_spec()
    cut = dt.date(2012, 3, 15)
    later = pl.col("date") > cut
    noise = pl.int_range(pl.len()).cast(pl.Float64).sin() * 0.05
    perturbed = replace(
        market,
        prices=market.prices.with_columns(pl.when(later).then(pl.col("settle") * (1.0 + noise)).otherwise(pl.col("settle")).alias("settle")),
        macro=market.macro.with_columns(pl.when(later).then(pl.col("value") * (1.0 + noise)).otherwise(pl.col("value")).alias("value")),
    )
    base, moved = compute(market, spec)[spec.id], compute(perturbed, spec)[spec.id]
    signals, moved_signals = base.tables["signals"], moved.tables["signals"]
    upto = pl.col("date") <= cut
    assert signals.filter(upto).equals(moved_signals.filter(upto))
    assert base.levels.filter(upto).equals(moved.levels.filter(upto))
    # the coefficients of the next day use rows before it only: unchanged too
    next_day = signals.filter(later).head(1).select(pl.col("^beta_.*$", "alpha"))
    assert next_day.equals(moved_signals.filter(later).head(1).select(pl.col("^beta_.*$", "alpha")))
    # and the perturbation does reach later signals
    assert not signals.filter(later).equals(moved_signals.filter(later))


def test_missing_macro_series_is_a_data_error_naming_it(market):
    without = replace(market, macro=market.macro.filter(pl.col("series") != "lme_copper_stocks"))
    with pytest.raises(DataError, match="synthetic: series lme_copper_stocks: macro series missing"):
        compute(without, market_spec())


def test_disrupted_held_contract_is_a_data_error_naming_it(market):
    day = market.prices.get_column("date").unique().sort()[300]
    curve = copper_curve(market, "HG", market_spec().roll)
    contract = curve.filter(pl.col("date") == day).get_column("held")[0]
    gap = replace(market, prices=market.prices.filter(~((pl.col("date") == day) & (pl.col("contract") == contract))))
    with pytest.raises(DataError, match=f"contract {contract}, date {day}: held contract has no settlement"):
        copper_curve(gap, "HG", market_spec().roll)


def test_regime_filters_block_signals(market):
    spec = market_spec(regime_volatility_ratio_max=1.0)
    signals = compute(market, spec)[spec.id].tables["signals"]
    blocked = signals.filter(pl.col("blocked"))
    assert blocked.height > 0 and (blocked.get_column("signal") == 0).all()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"long_threshold": -0.01}, "short_threshold -0.0025 is above long_threshold -0.01"),
        ({"carry_multipliers": [1.0, 0.5]}, "carry_multipliers needs 3 values"),
        ({"carry_thresholds": [0.01, 0.0025]}, "carry_thresholds must be strictly ascending"),
        ({"roll": {"rule": "window"}}, "roll"),
    ],
)
def test_inconsistent_spec_is_a_spec_error(fields, problem):
    with pytest.raises(SpecError, match=problem) as error:
        parse_spec({"kind": "copper_macro", "id": "CU-BAD", "name": "bad"} | fields, file="copper.toml")
    assert str(error.value).startswith("copper.toml: index CU-BAD:")


def test_catalogue_declares_the_er_and_tr_indexes():
    raw = tomllib.loads((PROJECT / "data" / "catalogue" / "copper.toml").read_text())
    specs = [parse_spec(table) for table in raw["index"]]
    assert [(spec.id, spec.return_type) for spec in specs] == [("CU-MACRO-ER", "er"), ("CU-MACRO-TR", "tr")]
    assert specs[0].strategy_key() == specs[1].strategy_key()


# --- the embedded market (full history, shared session fixture) and real data ----------------------


def test_full_history_on_the_embedded_market(embedded_market):
    raw = tomllib.loads((PROJECT / "data" / "catalogue" / "copper.toml").read_text())
    specs = [parse_spec(table) for table in raw["index"]]
    collateral = collateral_returns(embedded_market.rates, embedded_market.prices.get_column("date").unique().sort())
    results = compute_copper_macro(specs, embedded_market, pl.DataFrame(), collateral)
    er = results["CU-MACRO-ER"]
    hg_days = embedded_market.prices.filter(pl.col("root") == "HG").get_column("date").n_unique()
    assert er.levels.height > hg_days - specs[0].window - 10
    assert er.levels.get_column("level").is_finite().all() and (er.levels.get_column("level") > 0).all()
    trades = er.tables["trades"]
    pnl = specs[0].initial_equity * (er.levels.get_column("level")[-1] / specs[0].base_value - 1.0)
    assert trades.get_column("pnl").sum() == pytest.approx(pnl, rel=1e-9)
    # the embedded copper moves with the USD index with a negative loading (source, section 2.3)
    assert er.tables["signals"].get_column("beta_usd_index").mean() < 0
    assert set(er.tables["sample_stats"].get_column("sample")) == {"in_sample", "out_of_sample"}


@pytest.mark.realdata
def test_pysystemtrade_copper_without_first_notice_terms_is_a_spec_error(pysystemtrade_market):
    # pysystemtrade's config has no first-notice rule for COPPER: the strategy refuses it by name.
    spec = market_spec(id="CU-PST", root="COPPER")
    with pytest.raises(SpecError, match="root COPPER: instrument has no first_notice_offset"):
        compute_copper_macro([spec], pysystemtrade_market, pl.DataFrame(), pl.DataFrame())
