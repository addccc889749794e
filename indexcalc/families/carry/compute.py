"""Carry-ranked relative baskets (docs/design.md section 4): stages -> signals -> risk-scaled weights.

At each month-end rebalance date r (:func:`indexcalc.rules.calendar.rebalance_schedule`):

1. stages per root (:func:`indexcalc.families.carry.stages.carry_stages`), ending in the winsorised
   z-score ``z_i``;
2. signal ``s_i``:
   - proportional: ``s_i = rel_i = z_i - mean_{j in scope(i)} z_j`` (global or sector group);
   - ranked: ``s_i = +1`` for the ``k`` highest ``rel_i`` of the scope, ``-1`` for the ``k``
     lowest, 0 otherwise, ``k = max(1, floor(n * rank_fraction))`` for a scope of n >= 2 roots
     (ties broken by root name);
   - managed long: ``s_i = z_i + managed_long_shift`` (directional, mostly long);
3. raw position ``p_i = s_i / vol_i`` (``vol_i`` the annualised EWMA volatility of stage 4);
4. basket scale ``k_r = vol_target / sigma_r`` with the ex-ante volatility
   ``sigma_r = sqrt(A * p' S_r p)``, ``S_r`` the sample covariance (ddof 1) of the roots' daily
   excess returns over the ``covariance_window_days`` axis days ending at r, A the
   annualisation days; that is the sample standard deviation of the daily returns the
   positions p would have earned over the window, annualised;
5. weight ``W_i = k_r * p_i``: a signed fraction of the index notional; sum |W_i| may exceed 1
   (leverage). Fixed at the close of r, effective ``implementation_lag`` days later, levels by
   :func:`indexcalc.composite.composite_excess_return` (static units between rebalances) and
   :func:`indexcalc.composite.composite_total_return`.

Published tables: ``carry_stages`` (every stage per root and month-end, with the sector, the
relative values and the basket's signal) and ``analytics`` (:mod:`indexcalc.families.carry.signal_analytics`
of the basket's signal against the next holding month's return per unit of volatility,
``(ER_{i,a'} / ER_{i,a} - 1) / vol_i``, made relative to the same scope for relative baskets).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.composite import composite_excess_returns, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError
from indexcalc.panel import Panel
from indexcalc.results import IndexResult
from indexcalc.rules.calendar import rebalance_dates, rebalance_schedule
from indexcalc.families.carry.stages import carry_stages
from indexcalc.families.carry.relative import relative_value
from indexcalc.families.carry.signal_analytics import signal_analytics
from indexcalc.families.carry.spec import CarryBasketSpec

STAGE_FIELDS = (
    "inflation_window_months",
    "seasonal_years",
    "seasonal_min_years",
    "vol_half_life_days",
    "vol_lookback_days",
    "annualisation_days",
    "zscore_min_obs",
    "zscore_in_sample_initial",
    "pan_weight",
    "winsor_threshold",
)
"""Spec fields the stages depend on: baskets that agree on them (and on roots) share stages."""

PRESENTATION_FIELDS = {"id", "name", "objective", "return_type"}
"""Spec fields that do not change a basket's weights or excess-return levels."""

RANK_TOLERANCE = 1e-9
"""Guards floor(n * fraction) against n * (1/3) landing just below an integer."""


def ranked_count(count: int, fraction: float) -> int:
    """Commodities held long (and as many short) in a ranked scope of ``count``:
    ``k = max(1, floor(count * fraction + 1e-9))`` (six roots at 1/3: two long, two short); the
    same formula as the ranking expression below, for the methodology document."""
    return max(1, int(count * fraction + RANK_TOLERANCE))


@dataclass(frozen=True)
class Universe:
    """A basket's roots on the index axis: ``levels`` the forward-filled excess-return levels
    (dates x roots, roots sorted, NaN before a root's first level) and ``returns[t, n] =
    levels[t, n] / levels[t-1, n] - 1`` (0 on the first date and where a level is missing)."""

    levels: Panel
    returns: np.ndarray

    @property
    def dates(self) -> pl.Series:
        return self.levels.dates

    @functools.cached_property
    def roots(self) -> list[str]:
        return self.levels.roots.to_list()

    @classmethod
    def from_series(cls, series: pl.DataFrame, axis: pl.Series) -> "Universe":
        """From ``date, root, level`` rows whose dates are all on the (sorted, unique) ``axis``:
        the levels' panel forward-filled (as :func:`indexcalc.composite.align_levels`)."""
        levels = Panel.from_long(series, "level", dates=axis).forward_filled()
        returns = np.zeros_like(levels.values)
        returns[1:] = np.nan_to_num(levels.values[1:] / levels.values[:-1] - 1.0)
        return cls(levels=levels, returns=returns)

    def rows(self, dates: pl.Series) -> np.ndarray:
        """Row numbers of ``dates`` (each an axis date) in the matrices."""
        return self.levels.rows(dates)

    def holding_returns(self, schedule: pl.DataFrame) -> pl.DataFrame:
        """``date, root, holding_return``: ``ER_{a'} / ER_a - 1`` for each rebalance date r of
        ``schedule`` (``date, effective_date``), a its effective date and a' the next one; the
        last rebalance (its month not yet complete) has none."""
        periods = schedule.sort("date")
        rows = self.rows(periods.get_column("effective_date"))
        growth = self.levels.values[rows[1:]] / self.levels.values[rows[:-1]] - 1.0
        frame = pl.DataFrame(growth, schema=self.roots).with_columns(periods.get_column("date").slice(0, len(rows) - 1))
        return frame.unpivot(index="date", variable_name="root", value_name="holding_return").drop_nans().drop_nulls()


def compute_carry_basket(
    specs: list[CarryBasketSpec], market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame
) -> dict[str, IndexResult]:
    """Every carry basket spec; stages, universes and ER baskets shared by several specs are
    computed once."""
    axis = series.get_column("date").unique().sort()
    month_ends = rebalance_dates(axis)
    available = set(series.get_column("root").unique().to_list())
    axis_roots = tuple(sorted(available))  # the axis is the union of every series root's dates
    sectors = pl.DataFrame(
        {"root": list(market.instruments), "group": [i.sector for i in market.instruments.values()]},
        schema={"root": pl.String(), "group": pl.String()},
    )
    selections: dict[tuple[str, ...], pl.DataFrame] = {}
    universes: dict[tuple[str, ...], Universe] = {}
    stages_cache: dict[str, pl.DataFrame] = {}
    basket_cache: dict[str, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]] = {}
    schedules: dict[int, pl.DataFrame] = {}
    holding_cache: dict[tuple[tuple[str, ...], int], pl.DataFrame] = {}
    results: dict[str, IndexResult] = {}
    for spec in specs:
        roots = tuple(sorted(root for root in spec.select_roots(market.instruments) if root in available))
        if not roots:
            raise DataError("no root of the index is in the series", key=f"index {spec.id}")
        if roots not in universes:
            # only the columns the stages and the universe read (not the held-contract text)
            selections[roots] = series.select("date", "root", "level", "daily_return", "carry").filter(
                pl.col("root").is_in(roots)
            )
            universes[roots] = Universe.from_series(selections[roots], axis)
        stage_key = repr((roots, tuple(getattr(spec, name) for name in STAGE_FIELDS)))
        if stage_key not in stages_cache:
            stages = carry_stages(selections[roots], market.inflation, month_ends, spec)
            stages_cache[stage_key] = _with_relative_values(stages, sectors)
        basket_key = repr((roots, spec.model_dump(exclude=PRESENTATION_FIELDS)))
        if basket_key not in basket_cache:
            if spec.implementation_lag not in schedules:
                schedules[spec.implementation_lag] = rebalance_schedule(axis, spec.implementation_lag)
            schedule = schedules[spec.implementation_lag]
            holding_key = (roots, spec.implementation_lag)
            if holding_key not in holding_cache:
                holding_cache[holding_key] = universes[roots].holding_returns(schedule)
            basket_cache[basket_key] = _basket(
                spec, stages_cache[stage_key], universes[roots], schedule, holding_cache[holding_key]
            )
        weights, excess, stage_table, analytics = basket_cache[basket_key]
        levels = excess if spec.return_type == "er" else composite_total_return(excess, collateral, spec.base_value)
        results[spec.id] = IndexResult(
            spec=spec, levels=levels, weights=weights, tables={"carry_stages": stage_table, "analytics": analytics},
            excess=excess if spec.return_type == "tr" else None, axis_roots=axis_roots,
        )
    return results


def _with_relative_values(stages: pl.DataFrame, sectors: pl.DataFrame) -> pl.DataFrame:
    """Stages plus ``group`` (the sector), ``relative_global`` and ``relative_group``."""
    scores = stages.select("date", "root", "zscore")
    return (
        stages.join(sectors, on="root", how="left")
        .join(
            relative_value(scores, value="zscore").rename({"relative": "relative_global"}),
            on=["date", "root"],
            how="left",
        )
        .join(
            relative_value(scores, value="zscore", groups=sectors).rename({"relative": "relative_group"}),
            on=["date", "root"],
            how="left",
        )
        .sort("root", "date")
    )


def basket_signals(stages: pl.DataFrame, spec: CarryBasketSpec) -> pl.DataFrame:
    """``date, root, scope, signal, volatility`` at every month-end where the root has a signal.

    ``stages``: the output of :func:`_with_relative_values`. ``scope`` is the basket a relative
    signal is measured against (``all`` or the sector group; the root itself for managed long).
    """
    if spec.construction == "managed_long":
        return stages.drop_nulls("zscore").select(
            "date",
            "root",
            pl.col("root").alias("scope"),
            (pl.col("zscore") + spec.managed_long_shift).alias("signal"),
            "volatility",
        )
    relative = "relative_global" if spec.relative_scope == "global" else "relative_group"
    scope = pl.lit("all") if spec.relative_scope == "global" else pl.col("group")
    frame = stages.drop_nulls(relative).select(
        "date", "root", scope.alias("scope"), pl.col(relative).alias("signal"), "volatility"
    )
    if spec.construction == "proportional":
        return frame
    basket = ["date", "scope"]
    count = pl.len().over(basket)
    held = pl.max_horizontal(pl.lit(1), (count * spec.rank_fraction + RANK_TOLERANCE).floor().cast(pl.Int64))
    rank = pl.col("signal").rank("ordinal", descending=True).over(basket)
    ranked = pl.when(rank <= held).then(1.0).when(rank > count - held).then(-1.0).otherwise(0.0)
    return frame.sort("date", "root").with_columns(ranked.alias("signal"))


def risk_scaled_weights(
    signals: pl.DataFrame, universe: Universe, schedule: pl.DataFrame, spec: CarryBasketSpec
) -> pl.DataFrame:
    """``date, effective_date, root, weight, signal, volatility, position, scale`` (module doc, steps 3-5).

    ``universe``: the roots' daily returns on the index axis; ``schedule``: ``date,
    effective_date``. A rebalance whose covariance window (the ``covariance_window_days``
    returns up to and including the one into r) does not fit on the axis carries no weights;
    one whose positions are all zero gets scale 0 (a flat basket).
    """
    positions = signals.join(schedule, on="date", how="inner").with_columns(
        (pl.col("signal") / pl.col("volatility")).alias("position")
    )
    window = spec.covariance_window_days
    # rebalances x roots positions (0 where a root has none), built with numpy from the long rows
    position = positions.get_column("position")
    days = positions.get_column("date").to_physical().to_numpy()
    rebalance_days, row = np.unique(days, return_inverse=True)
    column = pl.Series(universe.roots, dtype=pl.String).search_sorted(positions.get_column("root")).to_numpy()
    # column-major like a frame's to_numpy: einsum's summation order (and so the last bit) follows the layout
    matrix = np.zeros((len(rebalance_days), len(universe.roots)), order="F")
    matrix[row, column] = (position.fill_null(0.0) if position.null_count() else position).to_numpy()
    rebalances = pl.Series("date", rebalance_days.astype("datetime64[D]"), dtype=pl.Date)
    last_return = universe.rows(rebalances)
    fits = last_return - window >= 0  # row 0 holds no return
    # windows[s] = the returns of rows s .. s + window - 1, shape (T - window + 1, N, window)
    windows = np.lib.stride_tricks.sliding_window_view(universe.returns, window, axis=0)
    starts = np.where(fits, last_return - window + 1, 0)
    basket_returns = np.einsum("mnw,mn->mw", windows[starts], matrix)
    ex_ante = np.sqrt(spec.annualisation_days * basket_returns.var(axis=1, ddof=1))
    # all-zero positions (e.g. every relative signal 0) make a flat basket, not a missing one
    with np.errstate(divide="ignore"):
        scale = np.where(ex_ante > 0, spec.vol_target / ex_ante, 0.0)
    scale = np.where(fits, scale, np.nan)
    return (
        positions.lazy()
        .with_columns(pl.Series("scale", scale[row]))
        .filter(pl.col("scale").is_not_nan())
        .select(
            "date",
            "effective_date",
            "root",
            (pl.col("position") * pl.col("scale")).alias("weight"),
            "signal",
            "volatility",
            "position",
            "scale",
        )
        .sort("date", "root")
        .collect()
    )


def forward_returns(signals: pl.DataFrame, holding_returns: pl.DataFrame, *, relative: bool) -> pl.DataFrame:
    """``date, root, signal, forward_return``: each month-end signal with the next holding month's
    volatility-adjusted return ``holding_return / vol`` (see :meth:`Universe.holding_returns`),
    minus the mean over the signal's scope on that date when ``relative``.
    """
    frame = signals.join(holding_returns, on=["date", "root"], how="inner").with_columns(
        (pl.col("holding_return") / pl.col("volatility")).alias("forward_return")
    )
    if relative:
        frame = frame.with_columns(pl.col("forward_return") - pl.col("forward_return").mean().over("date", "scope"))
    return frame.select("date", "root", "signal", "forward_return")


def basket_excess_levels(weights: pl.DataFrame, universe: "Universe", base_value: float) -> pl.DataFrame:
    """Excess-return levels ``date, level, daily_return`` of a basket's signed weights
    (``date, effective_date, root, weight``), at ``base_value`` on its first rebalance date
    (docs/design.md section 3 composite on the universe's aligned level matrix)."""
    # the universe's level panel is the aligned levels: no long frame to build and re-read
    return composite_excess_returns(
        universe.levels,
        {"index": weights.select("effective_date", "root", "weight")},
        base_date=weights.get_column("date").min(),
        base_value=base_value,
    )["index"]


def _basket(
    spec: CarryBasketSpec,
    stages: pl.DataFrame,
    universe: Universe,
    schedule: pl.DataFrame,
    holding_returns: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Weights, excess-return levels, stage table and signal analytics of one basket
    (``schedule``: ``date, effective_date`` of the index axis for the spec's lag;
    ``holding_returns``: ``universe.holding_returns(schedule)`` when already computed, as it is
    shared by the baskets of a universe and lag)."""
    if holding_returns is None:
        holding_returns = universe.holding_returns(schedule)
    signals = basket_signals(stages, spec)
    weights = risk_scaled_weights(signals, universe, schedule, spec)
    if weights.height == 0:
        raise DataError(
            "no month-end has a complete carry signal and covariance window (history too short)",
            key=f"index {spec.id}",
        )
    excess = basket_excess_levels(weights, universe, spec.base_value)
    stage_table = stages.join(signals.select("date", "root", "signal"), on=["date", "root"], how="left")
    pairs = forward_returns(signals, holding_returns, relative=spec.construction != "managed_long")
    return weights, excess, stage_table, signal_analytics(pairs)
