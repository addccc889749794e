"""Spec of the Long/Short momentum family (docs/design.md section 3)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from indexcalc.data.instruments import Sector
from indexcalc.families.momentum.magnitude import CAP_TOLERANCE
from indexcalc.specs.base import Frozen, FrozenMap, IndexSpecBase

MomentumFamily = Literal["long_short", "long_flat", "short_flat", "long_only", "short_only"]


class MagnitudeSpec(Frozen):
    """Magnitude = trailing average of dollar open interest, normalised and capped.

    ``source``: ``open_interest`` (per-contract OI in the market data), ``cftc`` (weekly
    report file, forward-filled to daily), or ``fixed`` (``fixed_weights``, normalised).
    ``cap`` is the largest magnitude of one root (fraction); it can only hold over at least
    ``1 / cap`` roots.

    ``cftc_fallback = "mean_of_reported"`` (``cftc`` only): a root without a market in
    ``cftc_markets`` takes, at each rebalance, the mean average dollar open interest of the
    index's roots that have one with a full window (:func:`indexcalc.families.momentum.magnitude.impute_unreported`),
    so the reported roots share ``n_reported / n`` of the weight by open interest and every other
    root gets ``1 / n`` before the cap (docs/design.md section 3). With a reconstitution the
    imputed average also stands for the root in the eligibility threshold and ``max_roots``.
    """

    source: Literal["open_interest", "cftc", "fixed"] = "open_interest"
    window_months: int = Field(12, ge=1, le=60)
    cap: float = Field(0.10, gt=0, le=1)
    fixed_weights: FrozenMap[str, float] | None = None
    cftc_file: str | None = None
    cftc_markets: FrozenMap[str, str] | None = Field(None, description="root -> market name in the CFTC file")
    cftc_release_lag_days: int = Field(
        3, ge=0, le=14, description="calendar days from a CFTC report date to its publication"
    )
    cftc_fallback: Literal["mean_of_reported"] | None = Field(
        None, description="cftc only: roots without a CFTC market take the mean of the reported roots' averages"
    )

    @model_validator(mode="after")
    def _source_has_inputs(self) -> "MagnitudeSpec":
        if self.source == "fixed" and not self.fixed_weights:
            raise ValueError("magnitude source 'fixed' needs fixed_weights")
        if self.source == "cftc" and not (self.cftc_file and self.cftc_markets):
            raise ValueError("magnitude source 'cftc' needs cftc_file and cftc_markets")
        if self.cftc_fallback is not None and self.source != "cftc":
            raise ValueError("cftc_fallback applies to magnitude source 'cftc' only")
        if self.fixed_weights and any(weight < 0 for weight in self.fixed_weights.values()):
            raise ValueError("fixed_weights must be non-negative")
        return self


class DirectionSpec(Frozen):
    """Direction = sign(ER_r - mean of ER over the trailing ``window_months`` of daily levels);
    a tie (``|ER_r / mean - 1| <= tie_tolerance``) keeps the previous direction; shorts in
    ``flat_short_sectors`` become flat."""

    window_months: int = Field(12, ge=1, le=60)
    flat_short_sectors: tuple[Sector, ...] = ("energy",)
    tie_tolerance: float = Field(1e-12, ge=0, lt=0.01, description="|signal| at or below this is a tie")


class ReconstitutionSpec(Frozen):
    """Annual reconstitution of the universe (docs/design.md section 3).

    Once a year, at the rebalance of ``month`` (its last business day), the members are chosen
    from the index's roots: those with full direction and magnitude windows whose average dollar
    open interest over the magnitude window (``avgDOI``, USD, the magnitude's own average) is
    positive and at least ``min_dollar_open_interest``, then, if ``max_roots`` is set, the
    ``max_roots`` largest by ``avgDOI`` (ties: root name). The members hold from that rebalance
    (effective one lag later) until the next reconstitution; the monthly rebalances in between
    re-normalise and cap the magnitudes over the members only. Default ``month`` 12: the December
    rebalance, effective in early January, fixes the universe held through the next year. With a
    ``fixed`` magnitude (no open interest) only full windows count: ``min_dollar_open_interest``
    must be 0 and ``max_roots`` unset, and the members share the fixed weights.
    """

    month: int = Field(12, ge=1, le=12, description="calendar month whose rebalance chooses the next year's universe")
    min_dollar_open_interest: float = Field(
        ge=0, description="USD; eligibility threshold on the average dollar open interest of the magnitude window"
    )
    max_roots: int | None = Field(
        None, ge=1, description="keep at most this many roots, the largest by average dollar open interest"
    )


class MomentumIndexSpec(IndexSpecBase):
    kind: Literal["momentum"] = "momentum"
    family: MomentumFamily
    sector_label: str | None = Field(None, description="sub-index label: energy, metals, agriculture")
    magnitude: MagnitudeSpec = MagnitudeSpec()
    direction: DirectionSpec = DirectionSpec()
    rebalance: Literal["monthly"] = "monthly"
    reconstitution: ReconstitutionSpec | None = Field(
        None, description="annual choice of the universe by dollar open interest; none: the universe is fixed"
    )

    @model_validator(mode="after")
    def _cap_can_hold(self) -> "MomentumIndexSpec":
        # a sector filter is resolved against the market later; a named universe is known now
        named = self.universe is not None and self.sectors is None
        if named and len(self.universe) * self.magnitude.cap < 1.0 - CAP_TOLERANCE:
            raise ValueError(
                f"magnitude cap {self.magnitude.cap:g} cannot hold over {len(self.universe)} roots "
                f"(needs a cap of at least {1.0 / len(self.universe):.4g})"
            )
        reconstitution = self.reconstitution
        if reconstitution is not None:
            if self.magnitude.source == "fixed" and (
                reconstitution.min_dollar_open_interest > 0 or reconstitution.max_roots is not None
            ):
                raise ValueError(
                    "reconstitution chooses roots by dollar open interest: magnitude source 'fixed' has none "
                    "(with it, set min_dollar_open_interest = 0 and no max_roots: roots enter on full windows alone)"
                )
            max_roots = reconstitution.max_roots
            if max_roots is not None and max_roots * self.magnitude.cap < 1.0 - CAP_TOLERANCE:
                raise ValueError(
                    f"magnitude cap {self.magnitude.cap:g} cannot hold over reconstitution.max_roots "
                    f"{reconstitution.max_roots} (needs at least {math.ceil(1.0 / self.magnitude.cap - CAP_TOLERANCE)})"
                )
        return self
