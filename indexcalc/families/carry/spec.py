"""Spec of the carry-ranked relative baskets (docs/design.md section 4).

Every number the carry stages, the basket construction and the risk scaling use is a field
here; the catalogue (``data/catalogue/carry.toml``) sets them per index.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from indexcalc.specs.base import IndexSpecBase

CarryConstruction = Literal["ranked", "proportional", "managed_long"]
RelativeScope = Literal["global", "group"]


class CarryBasketSpec(IndexSpecBase):
    """A carry basket: signal stages, relative scope, construction and risk scaling.

    - ``construction``: ``ranked`` (long the top ``rank_fraction`` of the scope by relative
      signal, short the bottom one), ``proportional`` (positions proportional to the relative
      signal) or ``managed_long`` (directional z-score plus ``managed_long_shift``: a mostly
      long book).
    - ``relative_scope``: ``global`` (relative to all roots) or ``group`` (relative to the
      root's sector group); must be None for ``managed_long``, which is directional.
    """

    kind: Literal["carry_basket"] = "carry_basket"
    construction: CarryConstruction
    relative_scope: RelativeScope | None = None
    rebalance: Literal["monthly"] = "monthly"

    # Stage 2: real carry.
    inflation_window_months: int = Field(
        12, ge=1, le=36, description="expected inflation = CPI change over this many monthly releases"
    )
    # Stage 3: seasonal adjustment.
    seasonal_years: int = Field(5, ge=1, le=20, description="trailing years of month-ends in the seasonal estimate")
    seasonal_min_years: int = Field(
        5, ge=1, le=20, description="years of history (same-month values) needed before the seasonal stage is defined"
    )
    # Stage 4: volatility adjustment (also the per-root risk in position sizing).
    vol_half_life_days: float = Field(11.0, gt=0, description="EWMA half-life of the volatility, business days")
    vol_lookback_days: int = Field(63, ge=2, le=1000, description="days in the finite EWMA window")
    annualisation_days: int = Field(252, ge=1, description="business days per year (sqrt annualisation)")
    # Stage 5: sequential z-score around zero, winsorised.
    zscore_min_obs: int = Field(
        12, ge=0, description="month-ends before the first out-of-sample z-score estimate (macrosynergy min_obs)"
    )
    zscore_in_sample_initial: bool = Field(
        False, description="score the first min_obs month-ends with the in-sample scale (macrosynergy iis)"
    )
    pan_weight: float = Field(1.0, ge=0, le=1, description="1 = panel scale, 0 = per-root scale")
    winsor_threshold: float = Field(2.0, ge=1, description="z-scores are contained in [-threshold, threshold]")
    # Construction.
    rank_fraction: float = Field(1 / 3, gt=0, le=0.5, description="share of the scope held long (and short)")
    managed_long_shift: float = Field(1.0, description="added to the directional z-score (managed long)")
    # Risk scaling.
    vol_target: float = Field(0.10, gt=0, le=1, description="annualised ex-ante volatility of the basket")
    covariance_window_days: int = Field(
        126, ge=20, le=1000, description="trailing business days of daily returns in the basket covariance"
    )

    @model_validator(mode="after")
    def _scope_matches_construction(self) -> "CarryBasketSpec":
        if self.construction == "managed_long" and self.relative_scope is not None:
            raise ValueError("managed_long is directional: relative_scope must be omitted")
        if self.construction != "managed_long" and self.relative_scope is None:
            raise ValueError(f"construction {self.construction!r} needs relative_scope 'global' or 'group'")
        if self.seasonal_min_years > self.seasonal_years:
            raise ValueError("seasonal_min_years cannot exceed seasonal_years")
        if self.vol_lookback_days <= self.vol_half_life_days:
            raise ValueError("vol_lookback_days must exceed vol_half_life_days")
        return self
