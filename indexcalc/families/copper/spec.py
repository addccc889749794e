"""Spec of the copper macro-factor strategy index (docs/design.md section 9).

Every number the strategy uses is a field here; the formulas live in
:mod:`indexcalc.families.copper.factors`, :mod:`indexcalc.families.copper.regression`, :mod:`indexcalc.families.copper.sizing`
and :mod:`indexcalc.families.copper.compute`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from indexcalc.specs.base import FirstNoticeRoll, Frozen, IndexSpecBase

FactorTransform = Literal["log_return", "difference"]


class FactorSpec(Frozen):
    """One regression factor: a ``market.macro`` series and how it becomes a daily factor.

    ``log_return``: ln(v_t / v_{t-1}) (values must be positive); ``difference``: v_t - v_{t-1};
    both on the strategy's business days after forward-filling the series from the day each
    value is known.
    """

    series: str = Field(min_length=1)
    transform: FactorTransform


DEFAULT_FACTORS: tuple[FactorSpec, ...] = (
    FactorSpec(series="usd_index", transform="log_return"),
    FactorSpec(series="china_pmi", transform="difference"),
    FactorSpec(series="lme_copper_stocks", transform="log_return"),
)


class CopperMacroSpec(IndexSpecBase):
    """Macro-factor regression signal, carry filter and ATR risk sizing on one futures root.

    Units: prices in the instrument's quoted unit (USD/lb for HG); forecasts, thresholds and
    carry in fractions (log-return per day, spread per unit of price); money in USD.
    """

    kind: Literal["copper_macro"] = "copper_macro"
    root: str = Field("HG", pattern=r"^[A-Z][A-Z0-9_]*$", description="the traded futures root")
    roll: FirstNoticeRoll = FirstNoticeRoll(position=2, days_before=5)

    # Signal: rolling OLS of the front-month log-return on the factors (docs/design.md / issue 8 step 2).
    factors: tuple[FactorSpec, ...] = Field(DEFAULT_FACTORS, min_length=1)
    window: int = Field(504, ge=10, le=5000, description="regression window, business days (rows before t)")
    min_observations: int | None = Field(
        None, ge=5, description="complete rows needed in the window; None = the whole window"
    )
    long_threshold: float = Field(0.0025, description="forecast above this -> long (log-return per day)")
    short_threshold: float = Field(-0.0025, description="forecast below this -> short (log-return per day)")

    # Carry filter: adverse spread (next contract - held contract) / held contract.
    carry_thresholds: tuple[float, ...] = Field(
        (0.0025, 0.01), description="ascending adverse-carry breakpoints (fraction of the held price)"
    )
    carry_multipliers: tuple[float, ...] = Field(
        (1.0, 0.5, 0.25), description="size multiplier per carry band: one more than the breakpoints"
    )

    # Risk and stops.
    initial_equity: float = Field(10_000_000.0, gt=0, description="USD")
    risk_budget: float = Field(0.01, gt=0, le=1, description="fraction of equity risked per trade")
    atr_window: int = Field(14, ge=1, le=250, description="business days")
    atr_method: Literal["simple", "wilder"] = "simple"
    stop_multiple: float = Field(1.5, gt=0, description="stop distance in ATRs")
    trailing_stop: bool = True
    cost_per_contract: float = Field(10.0, ge=0, description="USD per contract per side (entry or exit)")

    # Regime filters (None = off): a blocked day's signal is flat.
    regime_spread_max: float | None = Field(
        None, gt=0, description="block when |ln(M1 / M2)| exceeds this (fraction)"
    )
    regime_volatility_ratio_max: float | None = Field(
        None, gt=0, description="block when short ATR > this x long ATR"
    )
    regime_short_atr_window: int = Field(5, ge=1, le=250)
    regime_long_atr_window: int = Field(100, ge=2, le=1000)

    # Reporting.
    start_date: dt.date | None = Field(None, description="first index date; None = the first day with a forecast")
    split_date: dt.date | None = Field(None, description="first out-of-sample date; None = all in-sample")
    days_per_year: int = Field(252, ge=1, description="annualisation of daily statistics")

    @model_validator(mode="after")
    def _consistent(self) -> "CopperMacroSpec":
        if self.short_threshold > self.long_threshold:
            raise ValueError(
                f"short_threshold {self.short_threshold} is above long_threshold {self.long_threshold}"
            )
        if list(self.carry_thresholds) != sorted(set(self.carry_thresholds)):
            raise ValueError("carry_thresholds must be strictly ascending")
        if len(self.carry_multipliers) != len(self.carry_thresholds) + 1:
            raise ValueError(
                f"carry_multipliers needs {len(self.carry_thresholds) + 1} values "
                f"(one per band of {len(self.carry_thresholds)} carry_thresholds)"
            )
        if any(not 0.0 <= multiplier <= 1.0 for multiplier in self.carry_multipliers):
            raise ValueError("carry_multipliers must lie in [0, 1]")
        if self.min_observations is not None and self.min_observations > self.window:
            raise ValueError(f"min_observations {self.min_observations} exceeds window {self.window}")
        if self.min_observations is not None and self.min_observations <= len(self.factors) + 1:
            raise ValueError("min_observations must exceed the number of regression coefficients")
        if self.regime_short_atr_window >= self.regime_long_atr_window:
            raise ValueError("regime_short_atr_window must be shorter than regime_long_atr_window")
        series = [factor.series for factor in self.factors]
        if len(series) != len(set(series)):
            raise ValueError("a macro series is listed twice in factors")
        return self

    def select_roots(self, instruments: dict) -> list[str]:
        """The one traded root, if the market has it."""
        return [self.root] if self.root in instruments else []

    @property
    def required_observations(self) -> int:
        return self.window if self.min_observations is None else self.min_observations

    def strategy_key(self) -> str:
        """The fields that change the simulation (not id, names or return type): specs with the
        same key share one simulation."""
        return self.model_dump_json(exclude={"id", "name", "objective", "return_type", "base_value"})
