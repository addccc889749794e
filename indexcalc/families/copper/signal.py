"""What the copper strategy knows at each close: factors, the rolling regression's forecast,
the signal after the regime filters, the ATR and the carry multipliers
(:mod:`indexcalc.families.copper.compute` for the rules)."""

from __future__ import annotations

import numpy as np
import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.families.copper.factors import factor_inputs
from indexcalc.families.copper.regression import rolling_forecast
from indexcalc.families.copper.sizing import (
    average_true_range,
    carry_multiplier,
    carry_spread,
    regime_blocked,
    true_range,
)
from indexcalc.families.copper.spec import CopperMacroSpec


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


