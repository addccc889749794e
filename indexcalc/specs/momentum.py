"""Spec of the Long/Short momentum family (DESIGN.md section 3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from indexcalc.data.instruments import Sector
from indexcalc.specs.base import Frozen, IndexSpecBase

MomentumFamily = Literal["long_short", "long_flat", "short_flat", "long_only", "short_only"]


class MagnitudeSpec(Frozen):
    """Magnitude = trailing average of dollar open interest, normalised and capped.

    ``source``: ``open_interest`` (per-contract OI in the market data), ``cftc`` (weekly
    report file, forward-filled to daily), or ``fixed`` (``fixed_weights``, normalised).
    """

    source: Literal["open_interest", "cftc", "fixed"] = "open_interest"
    window_months: int = Field(12, ge=1, le=60)
    cap: float = Field(0.10, gt=0, le=1)
    fixed_weights: dict[str, float] | None = None
    cftc_file: str | None = None
    cftc_markets: dict[str, str] | None = Field(None, description="root -> market name in the CFTC file")

    @model_validator(mode="after")
    def _source_has_inputs(self) -> "MagnitudeSpec":
        if self.source == "fixed" and not self.fixed_weights:
            raise ValueError("magnitude source 'fixed' needs fixed_weights")
        if self.source == "cftc" and not (self.cftc_file and self.cftc_markets):
            raise ValueError("magnitude source 'cftc' needs cftc_file and cftc_markets")
        return self


class DirectionSpec(Frozen):
    """Direction = sign(ER_r - mean of ER over the trailing ``window_months`` of daily levels);
    a tie keeps the previous direction; shorts in ``flat_short_sectors`` become flat."""

    window_months: int = Field(12, ge=1, le=60)
    flat_short_sectors: tuple[Sector, ...] = ("energy",)


class MomentumIndexSpec(IndexSpecBase):
    kind: Literal["momentum"] = "momentum"
    family: MomentumFamily
    sector_label: str | None = Field(None, description="sub-index label: energy, metals, agriculture")
    magnitude: MagnitudeSpec = MagnitudeSpec()
    direction: DirectionSpec = DirectionSpec()
    rebalance: Literal["monthly"] = "monthly"
