"""Base-metals basket: inverse-volatility, equal or optimised weights, monthly rebalance plus a
drift trigger, and its risk monitors (:mod:`indexcalc.rules.weights`, :mod:`indexcalc.families.basemetals.risk`).

For each spec, on the index axis (the union of its roots' dates, levels forward-filled by
:func:`indexcalc.composite.align_levels`; daily returns ``L_t / L_{t-1} - 1`` on that axis):

1. Schedule: month-end fixing dates and effective dates ``implementation_lag`` axis days later
   (:func:`indexcalc.rules.calendar.rebalance_schedule`). The first fixing is the first month-end
   at which every root has ``spec.history_days`` daily returns (or the first month-end on or
   after ``spec.base_date``); the base date is that fixing date (or ``spec.base_date``).
2. Target at each fixing date ``r``: inverse volatility of the ``vol_window``-day volatility,
   equal weights, or min-variance / max-Sharpe weights on the Ledoit-Wolf covariance of the
   ``covariance_window`` daily returns ending at r, re-optimised at the first fixing and in
   months divisible by ``reoptimise_months`` (kept in between). With a momentum tilt the
   target is the tilted weight (bounded again for the optimisers).
3. Drift: between rebalances the weights drift with prices; a drift rebalance back to the
   target is fixed at the close of the first day the relative threshold is breached
   (:func:`indexcalc.rules.weights.rebalance_with_drift`).
4. Levels: :func:`indexcalc.composite.composite_excess_return` (static units between effective
   dates), total return with :func:`indexcalc.composite.composite_total_return`.

Weights frame: ``date, effective_date, root, weight, target_weight, base_weight, drifted_weight,
volatility, reason`` (``weight`` = ``target_weight`` = the weight set, which drift is measured
against; ``base_weight`` before the momentum tilt; ``drifted_weight`` the weight at the close
of the fixing date before rebalancing; ``volatility`` annualised at the fixing date; ``reason``
``monthly``, ``reoptimise`` or ``drift``).

Tables: ``correlation_matrix``, ``correlation_monitor``, ``pairs``, ``stress``,
``attribution`` (of the excess-return basket; a TR index adds collateral on top), and
``risk_contribution`` (:mod:`indexcalc.families.basemetals.risk`); daily tables from the base date on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from indexcalc.composite import composite_excess_returns, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.panel import Panel
from indexcalc.results import IndexResult
from indexcalc.families.basemetals.attribution import attribution, daily_contributions, risk_contribution
from indexcalc.families.basemetals.monitors import correlation_matrix, correlation_monitor, pairs_monitor
from indexcalc.families.basemetals.stress import scenario_moves, stress_pnl
from indexcalc.rules.calendar import rebalance_schedule
from indexcalc.families.basemetals.momentum_tilt import apply_tilt, momentum_scores
from indexcalc.rules.weights import (
    Rebalance,
    drifted_weights,
    equal_weights,
    inverse_volatility_weights,
    ledoit_wolf_covariance,
    rebalance_with_drift,
    scale_to_bounds,
    trailing_volatility,
)
from indexcalc.rules.optimised_weights import highest_return_weights, maximum_sharpe_weights, minimum_variance_weights
from indexcalc.families.basemetals.spec import BaseMetalsSpec, StressScenario, check_scenarios

WEIGHTS_SCHEMA = {
    "date": pl.Date(),
    "effective_date": pl.Date(),
    "root": pl.String(),
    "weight": pl.Float64(),
    "target_weight": pl.Float64(),
    "base_weight": pl.Float64(),
    "drifted_weight": pl.Float64(),
    "volatility": pl.Float64(),
    "reason": pl.String(),
}


@dataclass(frozen=True)
class _Basket:
    """The roots' levels and returns on their common axis (the union of their dates), shared by
    specs with the same roots; panels with the roots in universe order."""

    roots: tuple[str, ...]
    levels: Panel
    """Levels, forward-filled; NaN before a root's first level."""
    returns: Panel
    """Daily returns ``L_t / L_{t-1} - 1``: NaN on the first row and before a root's second level."""
    long_levels: pl.DataFrame
    """``root, date, level``: the non-null levels as a long frame."""
    correlation_returns: Panel
    """The daily returns on the dates where a root has one (the monitors' sample)."""
    shared: dict = field(default_factory=dict)
    """Tables that depend only on the roots and a few parameters, computed once per basket."""

    @property
    def dates(self) -> pl.Series:
        return self.levels.dates

    @property
    def level_matrix(self) -> np.ndarray:
        return self.levels.values

    @property
    def return_matrix(self) -> np.ndarray:
        return self.returns.values

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]


def _refuse_lost_holdings(levels: Panel, spec_id: str) -> None:
    """A DataError naming the root and date when a root's level reaches 0: its holding was lost
    (a settlement at or below zero, docs/design.md section 2) and it has no returns from then on,
    so no volatility, covariance or weight can be computed for the basket."""
    lost = np.argwhere(levels.values <= 0.0)
    if lost.size:
        row, column = lost[0]  # argwhere is in row order: the earliest date
        raise DataError(
            f"root {levels.roots[int(column)]} lost its holding on {levels.dates[int(row)]} (a settlement at or below "
            "zero: its level is 0 and it has no returns from then on); a base-metals basket cannot weight it "
            "(remove the root from the index's universe)",
            key=f"index {spec_id}",
        )


def _prepare(series: pl.DataFrame, roots: tuple[str, ...], spec_id: str) -> _Basket:
    available = set(series.get_column("root").unique().to_list())
    missing = [root for root in roots if root not in available]
    if missing:
        raise SpecError(f"universe roots without series in the market: {missing}", key=f"index {spec_id}")
    # the levels aligned on the union of the roots' dates (indexcalc.composite.align_levels)
    aligned = Panel.from_long(series.filter(pl.col("root").is_in(list(roots))), "level").forward_filled()
    _refuse_lost_holdings(aligned, spec_id)
    returns = np.full_like(aligned.values, np.nan)
    returns[1:] = aligned.values[1:] / aligned.values[:-1] - 1.0
    order = pl.Series("root", roots, dtype=pl.String)
    returns = Panel(aligned.dates, aligned.roots, returns).columns(order)
    levels = aligned.columns(order)
    # column-major arrays (one root's days contiguous), as the rules' reductions down each
    # root's column have always read them: the same sums to the last bit
    levels = Panel(levels.dates, levels.roots, np.asfortranarray(levels.values))
    returns = Panel(returns.dates, returns.roots, np.asfortranarray(returns.values))
    return _Basket(
        roots=roots,
        levels=levels,
        returns=returns,
        long_levels=aligned.to_long("level").drop_nulls("level"),
        correlation_returns=returns.take(np.flatnonzero((~np.isnan(returns.values)).any(axis=1))),
    )


def _positions(axis: pl.Series, dates: pl.Series) -> np.ndarray:
    return np.searchsorted(axis.to_numpy(), dates.to_numpy())


def _calendar(basket: _Basket, spec: BaseMetalsSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axis positions of every month-end fixing and its effective date for the spec's lag, and
    each root's first return position (shared by the specs of a basket with that lag)."""
    schedule = rebalance_schedule(basket.dates, spec.implementation_lag)
    fixing = _positions(basket.dates, schedule.get_column("date"))
    effective = _positions(basket.dates, schedule.get_column("effective_date"))
    finite = np.isfinite(basket.return_matrix)
    first_return = np.where(finite.any(axis=0), finite.argmax(axis=0), len(finite))
    return fixing, effective, first_return


def _schedule(spec: BaseMetalsSpec, basket: _Basket) -> tuple[dt.date, np.ndarray, np.ndarray]:
    """Base date and the axis positions of the fixing and effective dates of the scheduled
    rebalances (first one included)."""
    fixing, effective, first_return = basket.memo(("schedule", spec.implementation_lag), lambda: _calendar(basket, spec))
    earliest = int(first_return.max()) + spec.history_days - 1
    keep = fixing >= earliest
    if spec.base_date is not None:
        base_position = int(np.searchsorted(basket.dates.to_numpy(), np.datetime64(spec.base_date)))
        if base_position == len(basket.dates) or basket.dates[base_position] != spec.base_date:
            raise SpecError(f"base_date {spec.base_date} is not a business day of the index", key=f"index {spec.id}")
        if base_position < earliest:
            raise SpecError(
                f"base_date {spec.base_date} leaves fewer than {spec.history_days} daily returns for some root",
                key=f"index {spec.id}",
            )
        keep &= fixing >= base_position
    if not keep.any():
        raise SpecError(
            f"no month-end with {spec.history_days} daily returns of every root and an effective date on the axis",
            key=f"index {spec.id}",
        )
    fixing, effective = fixing[keep], effective[keep]
    base_date = spec.base_date if spec.base_date is not None else basket.dates[int(fixing[0])]
    return base_date, fixing, effective


def _check_volatility(volatility: np.ndarray, positions: np.ndarray, basket: _Basket, spec: BaseMetalsSpec) -> None:
    bad = np.argwhere(~(volatility > 0.0))
    if bad.size:
        row, column = bad[0]
        raise DataError(
            f"{spec.vol_window}-day volatility is {volatility[row, column]}: the price did not move",
            key=f"index {spec.id} root {basket.roots[column]} date {basket.dates[int(positions[row])]}",
        )


def _optimised_targets(
    spec: BaseMetalsSpec, basket: _Basket, fixing: np.ndarray, dates: pl.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Optimiser weights at each fixing (recomputed on re-optimisation fixings, kept in
    between) and the re-optimisation flags. Covariances and minimum-variance solutions are
    shared by the specs of a basket (the max-Sharpe fallback is the minimum variance)."""
    months = dates.dt.month().to_numpy()
    reoptimise = months % spec.reoptimise_months == 0
    reoptimise[0] = True
    at = fixing[reoptimise]
    window = spec.covariance_window
    covariance = basket.memo(
        ("ledoit_wolf", window, at.tobytes()),
        lambda: ledoit_wolf_covariance(np.stack([basket.return_matrix[end - window + 1 : end + 1] for end in at]))[0],
    )
    minimum_variance: dict[int, np.ndarray] = basket.shared.setdefault(
        ("min_variance", window, spec.min_weight, spec.max_weight), {}
    )
    solved = np.empty((len(at), len(basket.roots)))
    start = None
    for position, end in enumerate(at.tolist()):
        if spec.weighting == "max_sharpe":
            expected = basket.return_matrix[end - spec.expected_return_window + 1 : end + 1].mean(axis=0)
            if highest_return_weights(expected, spec.min_weight, spec.max_weight) @ expected > 0.0:
                start = maximum_sharpe_weights(covariance[position], expected, spec.min_weight, spec.max_weight, start)
                solved[position] = start
                continue
        if end not in minimum_variance:
            minimum_variance[end] = minimum_variance_weights(
                covariance[position], spec.min_weight, spec.max_weight, start
            )
        start = solved[position] = minimum_variance[end]
    latest = np.cumsum(reoptimise) - 1
    return solved[latest], reoptimise


def _scheduled(
    spec: BaseMetalsSpec, basket: _Basket, fixing: np.ndarray, effective: np.ndarray
) -> tuple[list[Rebalance], np.ndarray]:
    """Scheduled rebalances with their targets, and the base (pre-tilt) weights."""
    dates = basket.dates.gather(fixing)
    volatility = trailing_volatility(basket.return_matrix, fixing, spec.vol_window, spec.annualisation)
    reasons = np.full(len(fixing), "monthly", dtype=object)
    if spec.weighting == "inverse_vol":
        _check_volatility(volatility, fixing, basket, spec)
        base = inverse_volatility_weights(volatility)
    elif spec.weighting == "equal":
        base = np.tile(equal_weights(len(basket.roots)), (len(fixing), 1))
    else:
        base, reoptimise = _optimised_targets(spec, basket, fixing, dates)
        reasons[reoptimise] = "reoptimise"
    target = base
    if spec.tilt is not None:
        tilt = spec.tilt
        scores = (
            momentum_scores(basket.long_levels, tilt.ema_span, tilt.rsi_window, tilt.roc_window)
            .join(pl.DataFrame({"date": dates}), on="date", how="semi")
            .pivot(on="root", index="date", values="momentum")
            .sort("date")
            .select(list(basket.roots))
            .to_numpy()
        )
        target = apply_tilt(base, scores, tilt.fraction)
        if spec.optimised:
            target = np.stack([scale_to_bounds(row, spec.min_weight, spec.max_weight) for row in target])
    scheduled = [
        Rebalance(int(fix), int(eff), target[position], str(reasons[position]))
        for position, (fix, eff) in enumerate(zip(fixing, effective))
    ]
    return scheduled, base


def _weights_frame(
    events: list[Rebalance], scheduled_fixing: np.ndarray, base: np.ndarray, basket: _Basket, spec: BaseMetalsSpec
) -> pl.DataFrame:
    """One row per rebalance and root; ``base`` (pre-tilt) weights of the scheduled rebalances
    (fixing positions ``scheduled_fixing``) also stand for the drift rebalances that follow them.
    Columns are gathered with numpy and handed to polars whole (no per-column polars query)."""
    count = len(basket.roots)
    fixing = np.array([event.fixing for event in events])
    effective = np.array([event.effective for event in events])
    weights = np.stack([event.weights for event in events])
    drifted = np.stack([event.drifted if event.drifted is not None else np.full(count, np.nan) for event in events])
    pre_tilt = base[np.searchsorted(scheduled_fixing, fixing, side="right") - 1]
    volatility = trailing_volatility(basket.return_matrix, fixing, spec.vol_window, spec.annualisation)
    days = basket.dates.to_numpy()
    return pl.DataFrame(
        {
            "date": days[np.repeat(fixing, count)],
            "effective_date": days[np.repeat(effective, count)],
            "root": np.array(basket.roots)[np.tile(np.arange(count), len(events))],
            "weight": weights.ravel(),
            "target_weight": weights.ravel(),
            "base_weight": pre_tilt.ravel(),
            "drifted_weight": pl.Series(drifted.ravel(), nan_to_null=True),
            "volatility": volatility.ravel(),
            "reason": np.array([event.reason for event in events]).repeat(count),
        },
        schema=WEIGHTS_SCHEMA,
    )


def _tables(
    spec: BaseMetalsSpec,
    basket: _Basket,
    base_date: dt.date,
    events: list[Rebalance],
    weights: pl.DataFrame,
    excess: pl.DataFrame,
    levels: pl.DataFrame,
    scenarios: list[StressScenario],
) -> dict[str, pl.DataFrame]:
    roots = list(basket.roots)
    since_base = pl.col("date") >= base_date
    last = len(basket.dates) - 1
    held = [event for event in events if event.effective <= last][-1]
    current = drifted_weights(basket.level_matrix[last], basket.level_matrix[held.effective], held.weights)
    current_weights = pl.DataFrame({"root": roots, "weight": current})
    current_vol = trailing_volatility(basket.return_matrix, np.array([last]), spec.vol_window, spec.annualisation)[0]
    recent = basket.returns.take(slice(max(last - spec.risk_window, 0) + 1, last + 1))
    contributions = _contributions(basket, events, base_date)
    monitor_key = ("correlation", spec.correlation_window, spec.correlation_alert)
    pairs_key = ("pairs", spec.pairs, spec.pairs_window, spec.pairs_entry, spec.pairs_exit)
    return {
        "correlation_matrix": basket.memo(
            ("matrix", spec.correlation_window),
            lambda: correlation_matrix(basket.correlation_returns, spec.correlation_window),
        ),
        "correlation_monitor": basket.memo(
            monitor_key,
            lambda: correlation_monitor(basket.correlation_returns, spec.correlation_window, spec.correlation_alert),
        ).filter(since_base),
        "pairs": basket.memo(
            pairs_key,
            lambda: pairs_monitor(basket.long_levels, spec.pairs, spec.pairs_window, spec.pairs_entry, spec.pairs_exit),
        ).filter(since_base),
        "stress": stress_pnl(
            current_weights,
            basket.memo(
                ("scenarios", tuple(scenario.model_dump_json() for scenario in spec.scenarios), spec.vol_window, spec.annualisation),
                lambda: scenario_moves(scenarios, roots, dict(zip(roots, current_vol))),
            ),
            levels.get_column("level")[-1],
        ),
        "attribution": attribution(contributions, excess, spec.annualisation),
        "risk_contribution": risk_contribution(current_weights, recent, spec.annualisation),
    }


def _sorted_levels(basket: _Basket) -> tuple[np.ndarray, Panel]:
    """The basket's column order that sorts its roots, and its levels with the roots in that
    order (the order in which the composite and the attribution read the roots)."""

    def compute() -> tuple[np.ndarray, Panel]:
        order = np.argsort(np.array(basket.roots), kind="stable")
        return order, basket.levels.columns(basket.levels.roots.gather(order))

    return basket.memo(("sorted_levels",), compute)


def _excess_levels(basket: _Basket, held: pl.DataFrame, base_date: dt.date, base_value: float) -> pl.DataFrame:
    """:func:`indexcalc.composite.composite_excess_returns` of ``held`` (``effective_date, root,
    weight``) on the basket's levels."""
    _, levels = _sorted_levels(basket)
    return composite_excess_returns(levels, {"index": held}, base_date, base_value)["index"]


def _contributions(basket: _Basket, events: list[Rebalance], base_date: dt.date) -> pl.DataFrame:
    """:func:`indexcalc.families.basemetals.attribution.daily_contributions` of the rebalances'
    weights on the basket's levels (roots sorted)."""
    order, levels = _sorted_levels(basket)
    effective = np.array([event.effective for event in events])
    anchors = np.unique(effective)
    weight = np.zeros((len(anchors), levels.roots.len()))
    weight[np.searchsorted(anchors, effective)] = np.stack([event.weights for event in events])[:, order]
    return daily_contributions(levels, Panel(basket.dates.gather(anchors), levels.roots, weight), base_date)


def _compute_one(
    spec: BaseMetalsSpec, basket: _Basket, collateral: pl.DataFrame, scenarios: list[StressScenario]
) -> IndexResult:
    base_date, fixing, effective = _schedule(spec, basket)
    scheduled, base = _scheduled(spec, basket, fixing, effective)
    events = rebalance_with_drift(basket.level_matrix, scheduled, spec.drift_threshold, spec.implementation_lag)
    weights = _weights_frame(events, fixing, base, basket, spec)
    held = weights.select("effective_date", "root", "weight")
    excess = _excess_levels(basket, held, base_date, spec.base_value)
    levels = excess
    if spec.return_type == "tr":
        missing = excess.join(collateral, on="date", how="left").filter(pl.col("collateral_return").is_null())
        if missing.height > 1 or (missing.height == 1 and missing.item(0, "date") != base_date):
            raise DataError(
                "no collateral return (T-bill) for this date", key=f"index {spec.id} date {missing.item(-1, 'date')}"
            )
        levels = composite_total_return(excess, collateral, spec.base_value)
    tables = _tables(spec, basket, base_date, events, weights, excess, levels, scenarios)
    return IndexResult(
        spec=spec, levels=levels, weights=weights, tables=tables,
        excess=excess if spec.return_type == "tr" else None, axis_roots=basket.roots,
    )


def compute_base_metals(
    specs: list[BaseMetalsSpec], market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame
) -> dict[str, IndexResult]:
    """Every base-metals basket spec on ``series`` (``date, root, level, ...`` from
    :func:`indexcalc.series.build_series`); ``collateral``: ``date, collateral_return``.
    Specs with the same roots share the aligned levels. The stress scenarios come with the spec
    (``spec.scenarios``, read when it was built); their shocks must name known roots."""
    baskets: dict[tuple[str, ...], _Basket] = {}
    known_roots = set(market.instruments) | set(series.get_column("root").unique().to_list())
    results: dict[str, IndexResult] = {}
    for spec in specs:
        roots = tuple(spec.universe)
        if roots not in baskets:
            baskets[roots] = _prepare(series, roots, spec.id)
        check_scenarios(spec.scenarios, file=spec.scenarios_file, known_roots=known_roots)
        results[spec.id] = _compute_one(spec, baskets[roots], collateral, list(spec.scenarios))
    return results
