"""The copper strategy's path-dependent trade simulation: stops, signal exits, forced rolls
and risk-sized entries, day by day (:mod:`indexcalc.families.copper.compute` for the rules)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from indexcalc.errors import DataError, SpecError
from indexcalc.families.copper.sizing import contracts_for_trade
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


@dataclass(frozen=True)
class _Days:
    """The per-day inputs of the simulation as plain lists (one day costs a few list look-ups):
    what is filled at the close of k and what was decided at the close of s = k - lag."""

    dates: list
    held: list
    held_settle: list
    carried_settle: list
    change: list
    is_roll: list
    signal: list
    raw_signal: list
    atr: list
    carry_long: list
    carry_short: list

    @classmethod
    def of(cls, inputs: pl.DataFrame) -> "_Days":
        column = inputs.get_column
        return cls(
            dates=column("date").to_list(),
            held=column("held").to_list(),
            held_settle=column("held_settle").to_list(),
            carried_settle=column("carried_settle").to_list(),
            change=column("price_change").fill_null(0.0).to_list(),
            is_roll=column("roll").to_list(),
            signal=column("signal").to_list(),
            raw_signal=column("raw_signal").to_list(),
            atr=column("atr").fill_null(math.nan).to_list(),
            carry_long=column("carry_long").fill_null(1.0).to_list(),
            carry_short=column("carry_short").fill_null(1.0).to_list(),
        )


@dataclass(frozen=True)
class _Paths:
    """The simulation's day-by-day results (lists over every input day; filled from the first
    index date on), its trades (:data:`TRADE_SCHEMA` rows) and its changes of position."""

    equity: list
    position: list
    contract: list
    gross: list
    roll: list
    costs: list
    trades: list = field(default_factory=list)
    weights: list = field(default_factory=list)

    @classmethod
    def empty(cls, count: int, initial_equity: float) -> "_Paths":
        return cls([initial_equity] * count, [0] * count, [None] * count, [0.0] * count, [0.0] * count, [0.0] * count)


def simulate(spec: CopperMacroSpec, inputs: pl.DataFrame, multiplier: float) -> Simulation:
    """Run the trade rules of the module docstring over ``inputs`` (:func:`strategy_inputs`).

    A plain loop over days: the state (position, trailing stop, equity used for sizing) is
    truly sequential; all per-day inputs are precomputed lists (:class:`_Days`), so one day
    costs a few list look-ups.
    """
    # Over 80 lines by design (issue 18): the day-by-day loop below is the formula (each day's
    # stop, exit, roll and entry depend on the state the previous day left); the inputs
    # (_Days) and the output frames (_frames) are outside it.
    start = first_index_position(spec, inputs)
    lag = spec.implementation_lag
    days = _Days.of(inputs)
    dates, held, held_settle, carried_settle = days.dates, days.held, days.held_settle, days.carried_settle
    change, is_roll, signal_of, raw_of, atr_of = days.change, days.is_roll, days.signal, days.raw_signal, days.atr
    count = len(dates)
    risk_budget, stop_multiple = spec.risk_budget, spec.stop_multiple
    cost = spec.cost_per_contract
    trailing = spec.trailing_stop
    paths = _Paths.empty(count, spec.initial_equity)
    equity_path, cost_path, trades = paths.equity, paths.costs, paths.trades

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
            paths.gross[row] = pnl
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
            paths.roll[row] = -side * size * multiplier * roll_spread
            best, stop_distance = extreme + roll_spread, distance
            close_trade(row, carried_settle[row], "roll")
            open_trade(row, side, size, held_settle[row], "roll", stop_distance, best)
        if not direction and desired and desired != stopped:
            atr = atr_of[signal_row]
            if atr == atr and atr > 0.0:
                sizing_equity = equity_path[signal_row] if lag else equity
                scale = days.carry_long[signal_row] if desired > 0 else days.carry_short[signal_row]
                size = contracts_for_trade(
                    sizing_equity, atr, risk_budget=risk_budget, stop_multiple=stop_multiple,
                    multiplier=multiplier, carry_multiplier=scale,
                )
                if size > 0:
                    price = held_settle[row]
                    open_trade(row, desired, size, price, "signal", stop_multiple * atr, price)
                    decided = signal_row
        equity_path[row] = equity
        paths.position[row] = direction * contracts
        paths.contract[row] = contract if direction else None
        if (direction, contracts, contract) != before:
            # date = the close whose information fixed the change (the signal day, or the day
            # itself for stops and rolls); effective_date = the close it was filled at.
            paths.weights.append((dates[decided], dates[row], contract, direction * contracts, held_settle[row], equity))

    if direction:
        # Open at the end: marked at the last settle of its contract (the contract held then).
        trades.append(
            (dates[entry_row], None, direction, contracts, contract, entry_price, held_settle[count - 1],
             entry_reason, "open", trade_costs, trade_gross - trade_costs)
        )
    return _frames(spec, inputs, start, paths, multiplier)


def _frames(spec: CopperMacroSpec, inputs: pl.DataFrame, start: int, paths: _Paths, multiplier: float) -> Simulation:
    """The :class:`Simulation` of ``paths`` from the first index row ``start`` on; a weight is
    ``contracts * M * settle / equity`` at the close of the change."""
    window = slice(start, len(paths.equity))
    daily = inputs.slice(start).with_columns(
        pl.Series("equity", paths.equity[window], dtype=pl.Float64),
        pl.Series("position", paths.position[window], dtype=pl.Int64),
        pl.Series("position_contract", paths.contract[window], dtype=pl.Int32),
        pl.Series("gross_pnl", paths.gross[window], dtype=pl.Float64),
        pl.Series("roll_pnl", paths.roll[window], dtype=pl.Float64),
        pl.Series("costs", paths.costs[window], dtype=pl.Float64),
    )
    trade_frame = pl.DataFrame(paths.trades, schema=TRADE_SCHEMA, orient="row")
    weights = pl.DataFrame(
        paths.weights,
        schema={"date": pl.Date, "effective_date": pl.Date, "contract": pl.Int32, "contracts": pl.Int64,
                "settle": pl.Float64, "equity": pl.Float64},
        orient="row",
    ).select(
        "date", "effective_date", pl.lit(spec.root).alias("root"), "contract", "contracts",
        (pl.col("contracts") * multiplier * pl.col("settle") / pl.col("equity")).alias("weight"),
    )
    return Simulation(daily=daily, trades=trade_frame, weights=weights)
