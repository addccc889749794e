"""Copper macro-factor strategy index: regression signal, carry filter, ATR sizing (issue 8).

Source: "Macro-Factor & Carry-Filtered Strategy for High Grade Copper (HG) Futures". All
parameters are fields of :class:`indexcalc.families.copper.spec.CopperMacroSpec`.

**Contracts.** The strategy's business days are the dates the root has prices. Contracts are
ordered as the roll engine orders them for :class:`FirstNoticeRoll` (``indexcalc.rolls``): on
day t, among the contracts priced on t whose roll point (``days_before`` business days before
their first notice day) lies after t, by delivery month: M1, M2, M3. The position is held in the
roll engine's contract (``roll_schedule``, position 2 = M2); it rolls to the next contract at the
close of M1's roll point. (Issue 8 says "the first three priced"; counting only contracts before
their roll point keeps M2 = the held contract on every day, as the source describes, instead of
letting a contract in its notice period count as the front.)

**Signal** (:mod:`indexcalc.families.copper.regression`): y_t = ln(F_{M1,t} / F_{M1,t-1}) with M1 the front
at the close of t-1 (no roll jump), regressed on the factors of :mod:`indexcalc.families.copper.factors` over
the ``window`` rows before t; forecast_t = alpha_t + beta_t . f_t. Signal_t = +1 if
forecast_t > long_threshold, -1 if forecast_t < short_threshold, else 0 (also 0 without a
forecast, and 0 on days a regime filter blocks, see :mod:`indexcalc.families.copper.sizing`). As in the
source's model the regression is contemporaneous: forecast_t is the return of day t implied by
day t's factor moves, known only at the close of t, so it can act on positions from then on and
earns only what of that implied move is still to come (no look-ahead, and no promise of an edge).

**Execution.** The order fixed at the close of signal day s is filled at the settle of
k = s + ``implementation_lag`` business days; its size uses what is known at the close of s:
equity_s, ATR_s and the carry multiplier of s (risk sizing, :mod:`indexcalc.families.copper.sizing`). At
each close k, in this order:

1. stop: the stop level is the best settle of the held contract since entry (the trailing
   extreme; the entry price if ``trailing_stop`` is off) minus (long) / plus (short) the stop
   distance D = stop_multiple * ATR fixed at entry. Settles are the only prices, so the stop is
   tested on the settle of k and a triggered stop fills at that settle: a gap through the stop
   fills at the gap price, never at the stop level. After a stop the same direction is not
   re-entered until the signal has left it;
2. signal exit: the signal is flat or opposite (reason ``signal``; ``regime`` when a regime
   filter made it flat);
3. forced roll: on the roll-engine's roll close the trade in the old contract is closed at its
   settle (reason ``roll``) and the same direction and contracts are opened in the new contract
   at its settle (entry reason ``roll``); the trailing extreme moves by the roll spread
   F_new - F_old, so the stop keeps its distance from the price;
4. entry: flat, a non-zero signal (and not the stopped direction): contracts from the risk
   budget; no trade if that is 0. Where the next contract has no settle the carry spread is
   unknown (null in the ``signals`` table) and the carry multiplier is 1.

The index is flat at its first date; the first fill can be at the close of the next day.

**Equity and levels.** With n_t signed contracts held at the close of t, multiplier M (USD per
price unit per contract) and cost K per contract per side::

    equity_t = equity_{t-1} + n_{t-1} * M * (F_{c,t} - F_{c,t-1}) - K * (contracts traded at t)
    ER_t     = base_value * equity_t / initial_equity
    TR_t     = TR_{t-1} * (ER_t / ER_{t-1} + TBR_t)            (docs/design.md section 3)

where c is the contract held over day t. The first index date (``start_date``, at the earliest
the first day with a forecast) is at base_value with ``initial_equity``.

**Trades and attribution.** Every trade (a roll is an exit and a re-entry) is listed with its
P&L = n * M * (exit - entry) * direction - entry and exit costs; an open trade is marked at the
last settle (reason ``open``, no exit date, no exit cost). The trade P&L sums to the equity
change. P&L attribution per sample (USD): ``roll`` = -direction * n * M * (F_new - F_old) at each
forced roll (the roll yield: negative for a long rolling into contango), ``directional`` = the
price P&L minus ``roll`` (the P&L on the unadjusted, spliced price), ``costs`` = -costs;
directional + roll + costs = the equity change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from indexcalc import analytics
from indexcalc.composite import composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.results import IndexResult
from indexcalc.rolls import business_days, first_notice_day, roll_schedule
from indexcalc.families.copper.factors import factor_inputs
from indexcalc.families.copper.regression import rolling_forecast
from indexcalc.families.copper.sizing import (
    average_true_range,
    carry_multiplier,
    carry_spread,
    contracts_for_trade,
    regime_blocked,
    true_range,
)
from indexcalc.specs.base import FirstNoticeRoll
from indexcalc.families.copper.spec import CopperMacroSpec

TRADE_SCHEMA: dict[str, pl.DataType] = {
    "entry_date": pl.Date(),
    "exit_date": pl.Date(),
    "direction": pl.Int8(),
    "contracts": pl.Int64(),
    "contract": pl.Int32(),
    "entry_price": pl.Float64(),
    "exit_price": pl.Float64(),
    "entry_reason": pl.String(),
    "reason": pl.String(),
    "costs": pl.Float64(),
    "pnl": pl.Float64(),
}


# --- the curve: M1, M2 (held), M3 and the prices the simulation needs -----------------------------


def copper_curve(market: MarketData, root: str, rule: FirstNoticeRoll) -> pl.DataFrame:
    """One row per business day of ``root``: ``date, held, held_settle, carried_settle,
    previous_settle, front, front_settle, front_return, second_settle, next, next_settle, roll``.

    ``held``: the contract held at the close (``roll_schedule``); ``carried_settle``: today's settle
    of the contract held at the previous close, ``previous_settle`` its settle at that close (their
    difference is the position's price change); ``front``/``second``: M1/M2 (module docstring);
    ``next``: the first such contract after ``held`` (M3); ``front_return``: ln of M1's (as of the
    previous close) settle change; ``roll``: the held contract changed at this close.
    A held contract without a settle on the next business day is a market disruption (DataError).
    """
    if root not in market.instruments:
        raise SpecError("no instrument definition for the copper strategy's root", key=f"root {root}")
    # The roll engine filters prices by root on every call: hand it this root's prices only.
    market = replace(market, prices=market.prices.filter(pl.col("root") == root), held=None)
    days = business_days(market.prices, [root]).select("date", "day_index")
    if days.is_empty():
        raise DataError("no prices for the copper strategy's root", file=market.source or None, key=f"root {root}")
    held = roll_schedule(market, rule, [root]).select("date", pl.col("contract").alias("held"))
    notices = first_notice_day(market, [root], horizon_business_days=rule.days_before).select(
        "contract", (pl.col("first_notice_index") - rule.days_before).alias("roll_index")
    )
    prices = market.prices.lazy().filter(pl.col("settle") > 0).select("date", "contract", "settle")
    ranked = (
        prices.join(notices.lazy(), on="contract")
        .join(days.lazy(), on="date")
        .filter(pl.col("roll_index").is_null() | (pl.col("roll_index") > pl.col("day_index")))
        .join(held.lazy(), on="date", how="left")
        .sort("date", "contract")
        .group_by("date")
        .agg(
            pl.col("contract").first().alias("front"),
            pl.col("settle").first().alias("front_settle"),
            pl.col("settle").get(1, null_on_oob=True).alias("second_settle"),
            pl.col("contract").filter(pl.col("contract") > pl.col("held")).first().alias("next"),
            pl.col("settle").filter(pl.col("contract") > pl.col("held")).first().alias("next_settle"),
        )
    )

    def settle_of(contract: str, name: str) -> pl.LazyFrame:
        return prices.rename({"contract": contract, "settle": name})

    frame = (
        days.lazy()
        .join(held.lazy(), on="date", how="left")
        .join(ranked, on="date", how="left")
        .sort("date")
        .with_columns(
            pl.col("held").shift(1).alias("previous_held"),
            pl.col("front").shift(1).alias("previous_front"),
        )
        .join(settle_of("held", "held_settle"), on=["date", "held"], how="left")
        .join(settle_of("previous_held", "carried_settle"), on=["date", "previous_held"], how="left")
        .join(settle_of("previous_front", "front_today"), on=["date", "previous_front"], how="left")
        .sort("date")
        .with_columns(
            pl.col("held_settle").shift(1).alias("previous_settle"),
            (pl.col("front_today") / pl.col("front_settle").shift(1)).log().alias("front_return"),
            (pl.col("held") != pl.col("previous_held")).fill_null(False).alias("roll"),
        )
        .collect()
    )
    missing = frame.filter(pl.col("held_settle").is_null() | (pl.col("previous_held").is_not_null() & pl.col("carried_settle").is_null()))
    if missing.height:
        row = missing.row(0, named=True)
        contract = row["held"] if row["held_settle"] is None else row["previous_held"]
        raise DataError(
            "held contract has no settlement (market disruption)",
            file=market.source or None,
            key=f"root {root}, contract {contract}, date {row['date']}",
        )
    return frame.select(
        "date", "held", "held_settle", "carried_settle", "previous_settle", "front", "front_settle",
        "front_return", "second_settle", "next", "next_settle", "roll",
    )


# --- inputs of the simulation -------------------------------------------------------------------


def strategy_inputs(spec: CopperMacroSpec, market: MarketData, curve: pl.DataFrame) -> pl.DataFrame:
    """The curve plus everything known at each close: factors, regression, ``signal`` (-1/0/1
    after the regime filters), ``blocked``, ``atr``, ``carry_spread``, ``carry_long``/``carry_short``
    (the size multipliers a long/short would get)."""
    factor_names = [factor.series for factor in spec.factors]
    factors = factor_inputs(market.macro, curve.get_column("date"), spec.factors, source=market.source or None)
    frame = curve.join(factors, on="date", how="left").sort("date")
    regression = rolling_forecast(
        frame.select("date", "front_return", *factor_names),
        "front_return",
        factor_names,
        spec.window,
        spec.required_observations,
    )
    frame = frame.join(regression, on="date", how="left")

    change = frame.get_column("carried_settle").to_numpy() - frame.get_column("previous_settle").to_numpy()
    ranges = true_range(change, 0.0)
    atr = average_true_range(ranges, spec.atr_window, spec.atr_method)
    short_atr = average_true_range(ranges, spec.regime_short_atr_window, spec.atr_method)
    long_atr = average_true_range(ranges, spec.regime_long_atr_window, spec.atr_method)
    blocked = regime_blocked(
        frame.get_column("front_settle").to_numpy(),
        frame.get_column("second_settle").to_numpy(),
        short_atr,
        long_atr,
        spread_max=spec.regime_spread_max,
        volatility_ratio_max=spec.regime_volatility_ratio_max,
    )
    forecast = frame.get_column("forecast").fill_null(np.nan).to_numpy()
    raw_signal = np.where(forecast > spec.long_threshold, 1, np.where(forecast < spec.short_threshold, -1, 0))
    spread = carry_spread(frame.get_column("held_settle").to_numpy(), frame.get_column("next_settle").fill_null(np.nan).to_numpy())
    return frame.with_columns(
        pl.Series("raw_signal", raw_signal, dtype=pl.Int8),
        pl.Series("blocked", blocked & (raw_signal != 0)),
        pl.Series("signal", np.where(blocked, 0, raw_signal), dtype=pl.Int8),
        pl.Series("price_change", change).fill_nan(None),
        pl.Series("atr", atr).fill_nan(None),
        pl.Series("carry_spread", spread).fill_nan(None),
        pl.Series("carry_long", carry_multiplier(1, spread, spec.carry_thresholds, spec.carry_multipliers)).fill_nan(None),
        pl.Series("carry_short", carry_multiplier(-1, spread, spec.carry_thresholds, spec.carry_multipliers)).fill_nan(None),
    )


# --- the path-dependent trade simulation ---------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    """One simulated strategy from the first index date: ``daily`` (the input columns plus
    ``equity`` USD, ``position`` signed contracts and ``position_contract`` at the close,
    ``gross_pnl``, ``roll_pnl``, ``costs`` USD of the day), ``trades`` (:data:`TRADE_SCHEMA`) and
    ``weights`` (one row per change of position)."""

    daily: pl.DataFrame
    trades: pl.DataFrame
    weights: pl.DataFrame


def first_index_position(spec: CopperMacroSpec, inputs: pl.DataFrame) -> int:
    """Row of the first index date: ``start_date`` (or the first business day on or after it),
    at the earliest the first day with a forecast."""
    with_forecast = inputs.with_row_index("row").filter(pl.col("forecast").is_not_null())
    if with_forecast.is_empty():
        raise DataError(
            f"no regression forecast: fewer than {spec.required_observations} complete days of prices and factors",
            key=f"index {spec.id}",
        )
    first = int(with_forecast.get_column("row")[0])
    if spec.start_date is not None:
        later = inputs.with_row_index("row").filter(pl.col("date") >= spec.start_date)
        if later.is_empty():
            raise SpecError(f"start_date {spec.start_date} is after the last business day", key=f"index {spec.id}")
        first = max(first, int(later.get_column("row")[0]))
    return first


def simulate(spec: CopperMacroSpec, inputs: pl.DataFrame, multiplier: float) -> Simulation:
    """Run the trade rules of the module docstring over ``inputs`` (:func:`strategy_inputs`).

    A plain loop over days: the state (position, trailing stop, equity used for sizing) is
    truly sequential; all per-day inputs are precomputed arrays, so one day costs a few
    list look-ups.
    """
    start = first_index_position(spec, inputs)
    lag = spec.implementation_lag
    dates = inputs.get_column("date").to_list()
    count = len(dates)
    held = inputs.get_column("held").to_list()
    held_settle = inputs.get_column("held_settle").to_list()
    carried_settle = inputs.get_column("carried_settle").to_list()
    change = inputs.get_column("price_change").fill_null(0.0).to_list()
    is_roll = inputs.get_column("roll").to_list()
    # Decisions fixed at the close of s = k - lag, filled at the close of k.
    signal_of = inputs.get_column("signal").to_list()
    raw_of = inputs.get_column("raw_signal").to_list()
    atr_of = inputs.get_column("atr").fill_null(math.nan).to_list()
    carry_long = inputs.get_column("carry_long").fill_null(1.0).to_list()
    carry_short = inputs.get_column("carry_short").fill_null(1.0).to_list()
    risk_budget, stop_multiple = spec.risk_budget, spec.stop_multiple
    cost = spec.cost_per_contract
    trailing = spec.trailing_stop

    equity_path = [spec.initial_equity] * count
    position_path = [0] * count
    contract_path: list[int | None] = [None] * count
    gross_path = [0.0] * count
    roll_path = [0.0] * count
    cost_path = [0.0] * count
    trades: list[tuple] = []
    weight_rows: list[tuple] = []

    equity = spec.initial_equity
    direction = contracts = 0
    contract = None
    entry_row = 0
    entry_price = extreme = distance = trade_gross = trade_costs = 0.0
    entry_reason = ""
    stopped = 0

    def close_trade(row: int, price: float, reason: str) -> None:
        nonlocal direction, contracts, trade_costs, equity
        exit_cost = cost * contracts
        equity -= exit_cost
        cost_path[row] += exit_cost
        trade_costs += exit_cost
        trades.append(
            (dates[entry_row], dates[row], direction, contracts, contract, entry_price, price, entry_reason, reason,
             trade_costs, trade_gross - trade_costs)
        )
        direction = contracts = 0

    def open_trade(row: int, side: int, size: int, price: float, reason: str, stop_distance: float, best: float) -> None:
        nonlocal direction, contracts, contract, entry_row, entry_price, extreme, distance, trade_gross, trade_costs
        nonlocal entry_reason, equity
        direction, contracts, contract, entry_row, entry_price = side, size, held[row], row, price
        extreme, distance, entry_reason = best, stop_distance, reason
        trade_gross = 0.0
        trade_costs = cost * size
        equity -= trade_costs
        cost_path[row] += trade_costs

    for row in range(start + 1, count):
        before = (direction, contracts, contract)
        signal_row = row - lag
        decided = row
        if direction:
            pnl = direction * contracts * multiplier * change[row]
            equity += pnl
            trade_gross += pnl
            gross_path[row] = pnl
            price = carried_settle[row]
            if direction * (price - (extreme - direction * distance)) <= 0.0:
                stopped = direction
                close_trade(row, price, "stop")
            elif trailing and direction * (price - extreme) > 0.0:
                extreme = price
        desired = signal_of[signal_row] if signal_row >= start else 0
        if stopped and desired != stopped:
            stopped = 0
        if direction and desired != direction:
            close_trade(row, carried_settle[row], "regime" if raw_of[signal_row] == direction else "signal")
            decided = signal_row
        if direction and is_roll[row]:
            side, size = direction, contracts
            roll_spread = held_settle[row] - carried_settle[row]
            roll_path[row] = -side * size * multiplier * roll_spread
            best, stop_distance = extreme + roll_spread, distance
            close_trade(row, carried_settle[row], "roll")
            open_trade(row, side, size, held_settle[row], "roll", stop_distance, best)
        if not direction and desired and desired != stopped:
            atr = atr_of[signal_row]
            if atr == atr and atr > 0.0:
                sizing_equity = equity_path[signal_row] if lag else equity
                scale = carry_long[signal_row] if desired > 0 else carry_short[signal_row]
                size = contracts_for_trade(
                    sizing_equity, atr, risk_budget=risk_budget, stop_multiple=stop_multiple,
                    multiplier=multiplier, carry_multiplier=scale,
                )
                if size > 0:
                    price = held_settle[row]
                    open_trade(row, desired, size, price, "signal", stop_multiple * atr, price)
                    decided = signal_row
        equity_path[row] = equity
        position_path[row] = direction * contracts
        contract_path[row] = contract if direction else None
        if (direction, contracts, contract) != before:
            # date = the close whose information fixed the change (the signal day, or the day
            # itself for stops and rolls); effective_date = the close it was filled at.
            weight_rows.append(
                (dates[decided], dates[row], contract, direction * contracts, held_settle[row], equity)
            )

    if direction:
        # Open at the end: marked at the last settle of its contract (the contract held then).
        trades.append(
            (dates[entry_row], None, direction, contracts, contract, entry_price, held_settle[count - 1],
             entry_reason, "open", trade_costs, trade_gross - trade_costs)
        )

    window = slice(start, count)
    daily = inputs.slice(start).with_columns(
        pl.Series("equity", equity_path[window], dtype=pl.Float64),
        pl.Series("position", position_path[window], dtype=pl.Int64),
        pl.Series("position_contract", contract_path[window], dtype=pl.Int32),
        pl.Series("gross_pnl", gross_path[window], dtype=pl.Float64),
        pl.Series("roll_pnl", roll_path[window], dtype=pl.Float64),
        pl.Series("costs", cost_path[window], dtype=pl.Float64),
    )
    trade_frame = pl.DataFrame(trades, schema=TRADE_SCHEMA, orient="row")
    weights = pl.DataFrame(
        weight_rows,
        schema={"date": pl.Date, "effective_date": pl.Date, "contract": pl.Int32, "contracts": pl.Int64,
                "settle": pl.Float64, "equity": pl.Float64},
        orient="row",
    ).select(
        "date", "effective_date", pl.lit(spec.root).alias("root"), "contract", "contracts",
        (pl.col("contracts") * multiplier * pl.col("settle") / pl.col("equity")).alias("weight"),
    )
    return Simulation(daily=daily, trades=trade_frame, weights=weights)


# --- published frames -----------------------------------------------------------------------------


def excess_levels(spec: CopperMacroSpec, daily: pl.DataFrame) -> pl.DataFrame:
    """``date, level, daily_return``: ER_t = base_value * equity_t / initial_equity."""
    return daily.select(
        "date",
        (spec.base_value * pl.col("equity") / spec.initial_equity).alias("level"),
        (pl.col("equity") / pl.col("equity").shift(1) - 1.0).fill_null(0.0).alias("daily_return"),
    )


def total_levels(spec: CopperMacroSpec, excess: pl.DataFrame, collateral: pl.DataFrame) -> pl.DataFrame:
    """TR from the ER levels and the collateral returns (docs/design.md section 3)."""
    missing = excess.slice(1).join(collateral, on="date", how="anti")
    if missing.height:
        raise DataError("no collateral return (T-bill rate) for this date", key=f"index {spec.id}, date {missing['date'][0]}")
    return composite_total_return(excess, collateral, spec.base_value)


def sample_of(spec: CopperMacroSpec) -> pl.Expr:
    """``in_sample`` before ``split_date``, ``out_of_sample`` from it on."""
    if spec.split_date is None:
        return pl.lit("in_sample")
    return pl.when(pl.col("date") < spec.split_date).then(pl.lit("in_sample")).otherwise(pl.lit("out_of_sample"))


def sample_statistics(
    spec: CopperMacroSpec, levels: pl.DataFrame, trades: pl.DataFrame, daily: pl.DataFrame, risk_free: pl.DataFrame | None
) -> pl.DataFrame:
    """In-sample vs out-of-sample: ``sample, start, end, days, annualised_return, volatility,
    sharpe, max_drawdown, hit_rate, trades, time_in_market``. Each sample's returns run from the
    previous sample's last level; a trade belongs to the sample of its entry date; hit rate =
    share of closed trades with P&L > 0 (roll legs count as trades)."""
    labelled = levels.with_columns(sample_of(spec).alias("sample")).with_row_index("row")
    if spec.split_date is None:
        trade_samples = trades.with_columns(pl.lit("in_sample").alias("sample"))
    else:
        trade_samples = trades.with_columns(
            pl.when(pl.col("entry_date") < spec.split_date).then(pl.lit("in_sample")).otherwise(pl.lit("out_of_sample")).alias("sample")
        )
    held = daily.select("date", (pl.col("position") != 0).alias("in_market"))
    rows = []
    for sample in ("in_sample", "out_of_sample"):
        part = labelled.filter(pl.col("sample") == sample)
        if part.is_empty():
            continue
        first_row = int(part.get_column("row")[0])
        window = labelled.slice(max(first_row - 1, 0), part.height + (1 if first_row else 0)).select("date", "level")
        closed = trade_samples.filter((pl.col("sample") == sample) & (pl.col("reason") != "open"))
        depth = analytics.max_drawdown(window).depth
        rows.append(
            {
                "sample": sample,
                "start": part.get_column("date")[0],
                "end": part.get_column("date")[-1],
                "days": window.height - 1,
                "annualised_return": analytics.annualised_return(window, spec.days_per_year),
                "volatility": analytics.annualised_volatility(window, spec.days_per_year),
                "sharpe": analytics.sharpe_ratio(window, risk_free, spec.days_per_year),
                "max_drawdown": depth,
                "hit_rate": float((closed.get_column("pnl") > 0).mean()) if closed.height else None,
                "trades": trade_samples.filter(pl.col("sample") == sample).height,
                "time_in_market": float(held.join(part.select("date"), on="date").get_column("in_market").mean()),
            }
        )
    return pl.DataFrame(
        rows,
        schema={"sample": pl.String, "start": pl.Date, "end": pl.Date, "days": pl.Int64, "annualised_return": pl.Float64,
                "volatility": pl.Float64, "sharpe": pl.Float64, "max_drawdown": pl.Float64, "hit_rate": pl.Float64,
                "trades": pl.Int64, "time_in_market": pl.Float64},
    )


def attribution(spec: CopperMacroSpec, daily: pl.DataFrame) -> pl.DataFrame:
    """``sample, directional, roll, costs, total`` in USD (module docstring); rows ``in_sample``,
    ``out_of_sample`` (when there is a split date) and ``full``."""
    parts = daily.select(
        sample_of(spec).alias("sample"),
        (pl.col("gross_pnl") - pl.col("roll_pnl")).alias("directional"),
        pl.col("roll_pnl").alias("roll"),
        (-pl.col("costs")).alias("costs"),
    )
    by_sample = parts.group_by("sample").agg(pl.col("directional", "roll", "costs").sum())
    full = parts.select(pl.lit("full").alias("sample"), pl.col("directional", "roll", "costs").sum())
    order = {"in_sample": 0, "out_of_sample": 1, "full": 2}
    return (
        pl.concat([by_sample, full])
        .with_columns((pl.col("directional") + pl.col("roll") + pl.col("costs")).alias("total"))
        .sort(pl.col("sample").replace_strict(order, return_dtype=pl.Int8))
    )


def signal_table(spec: CopperMacroSpec, daily: pl.DataFrame) -> pl.DataFrame:
    """``date, front_return, <factors>, alpha, beta_<factor>..., observations, forecast, signal,
    blocked, atr, carry_spread, contract, position`` (position = signed contracts at the close)."""
    factor_names = [factor.series for factor in spec.factors]
    return daily.select(
        "date", "front_return", *factor_names, "alpha", *(f"beta_{name}" for name in factor_names), "observations",
        "forecast", "signal", "blocked", "atr", "carry_spread", pl.col("position_contract").alias("contract"), "position",
    )


def compute_copper_macro(
    specs: Sequence[CopperMacroSpec],
    market: MarketData,
    series: pl.DataFrame,
    collateral: pl.DataFrame,
) -> dict[str, IndexResult]:
    """Every copper macro-factor index: ER or TR levels, weights and the published tables
    ``trades``, ``signals``, ``sample_stats``, ``attribution`` (module docstring).

    ``series`` is not used: the strategy trades contracts, so it builds its own curve with the
    spec's first-notice roll. Specs with the same strategy parameters share one simulation.
    """
    del series
    simulations: dict[str, Simulation] = {}
    curves: dict[tuple[str, str], pl.DataFrame] = {}
    results: dict[str, IndexResult] = {}
    for spec in specs:
        key = spec.strategy_key()
        if key not in simulations:
            curve_key = (spec.root, spec.roll.model_dump_json())
            if curve_key not in curves:
                curves[curve_key] = copper_curve(market, spec.root, spec.roll)
            inputs = strategy_inputs(spec, market, curves[curve_key])
            simulations[key] = simulate(spec, inputs, market.instruments[spec.root].multiplier)
        simulation = simulations[key]
        excess = excess_levels(spec, simulation.daily)
        if spec.return_type == "tr":
            levels = total_levels(spec, excess, collateral)
            risk_free = collateral
        else:
            levels, risk_free = excess, None
        results[spec.id] = IndexResult(
            spec=spec,
            levels=levels,
            weights=simulation.weights,
            tables={
                "trades": simulation.trades,
                "signals": signal_table(spec, simulation.daily),
                "sample_stats": sample_statistics(spec, levels, simulation.trades, simulation.daily, risk_free),
                "attribution": attribution(spec, simulation.daily),
            },
        )
    return results
