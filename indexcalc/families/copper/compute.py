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

from collections.abc import Sequence

import polars as pl

from indexcalc import analytics
from indexcalc.composite import composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError
from indexcalc.families.copper.curve import copper_curve
from indexcalc.families.copper.signal import strategy_inputs
from indexcalc.families.copper.simulation import TRADE_SCHEMA, Simulation, first_index_position, simulate
from indexcalc.families.copper.spec import CopperMacroSpec
from indexcalc.results import IndexResult

__all__ = [
    "TRADE_SCHEMA",
    "Simulation",
    "attribution",
    "compute_copper_macro",
    "copper_curve",
    "excess_levels",
    "first_index_position",
    "sample_statistics",
    "signal_table",
    "simulate",
    "strategy_inputs",
    "total_levels",
]


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

