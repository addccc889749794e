"""The Long/Short momentum family: Long/Short, Long/Flat, Short/Flat, Long-Only, Short-Only
(DESIGN.md section 3), in excess-return and total-return versions, whole universe or a sector.

For an index with roots ``i`` and monthly rebalance dates ``r`` (the last date of each month on
the index's date axis, the union of its roots' dates):

    W_{i,r} = m_{i,r} * direction_{i,r}          m: capped magnitude (rules.magnitude),
                                                 direction: family mapping of D (rules.direction)

fixed at the close of ``r`` and held from the close of the effective date ``a = r + lag``
business days; levels by :func:`indexcalc.composite.composite_excess_return` (ER) and
:func:`indexcalc.composite.composite_total_return` (TR).

Base date: the first rebalance date at which every root of the index has a full trailing
window for both direction and magnitude (its history starts before the window's first month);
the index is at ``base_value`` on it. A root that starts later therefore delays the whole index
rather than entering part-way: the universe, the cap and the magnitudes stay the same set of
roots from the first published level on (a spec that wants an earlier start names a smaller
``universe``).

Magnitude and direction depend on (roots, magnitude spec, direction spec, lag) only, so they
are computed once per distinct combination and shared by the families and by ER and TR; the
ER levels are shared by the ER and TR versions of a family.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from indexcalc.composite import align_levels, composite_excess_return, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import SpecError
from indexcalc.results import IndexResult
from indexcalc.rules.calendar import rebalance_schedule
from indexcalc.rules.direction import family_direction, momentum_direction, momentum_signal
from indexcalc.rules.magnitude import (
    CAP_TOLERANCE,
    average_dollar_open_interest,
    cftc_dollar_open_interest,
    dollar_open_interest,
    fixed_magnitude,
    magnitude_weights,
    read_cftc_open_interest,
)
from indexcalc.specs.momentum import MagnitudeSpec, MomentumIndexSpec

WEIGHTS_COLUMNS = ("date", "effective_date", "root", "magnitude", "signal", "direction", "weight")
"""Columns of the published weights file of every momentum index."""


@dataclass(frozen=True)
class MomentumInputs:
    """What the five families of one (roots, magnitude, direction, lag) share.

    ``levels``: ``date, root, level`` aligned on the index axis; ``table``: per rebalance from the
    base date and root, ``date, effective_date, root, magnitude, signal, momentum`` (D).
    """

    base_date: dt.date
    levels: pl.DataFrame
    table: pl.DataFrame


def compute_momentum(
    specs: list[MomentumIndexSpec],
    market: MarketData,
    series: pl.DataFrame,
    collateral: pl.DataFrame,
) -> dict[str, IndexResult]:
    """Levels and weights of every momentum spec, keyed by index id.

    ``series``: ``date, root, level, ...`` linked ER series of every root (indexcalc.series);
    ``collateral``: ``date, collateral_return`` (TBR_t) over the union of the series' dates.
    The weights frame has :data:`WEIGHTS_COLUMNS`. The CFTC file of a ``cftc`` magnitude is read
    once per file (the only I/O, at this edge).
    """
    sectors = {root: instrument.sector for root, instrument in market.instruments.items()}
    series_roots = set(series.get_column("root").unique().to_list())
    roots_of: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        roots_of[spec.id] = _index_roots(spec, market, series_roots)

    dollar_oi = _DollarOpenInterest(market, specs)
    inputs: dict[tuple, MomentumInputs] = {}
    excess: dict[tuple, tuple[pl.DataFrame, pl.DataFrame]] = {}
    results: dict[str, IndexResult] = {}
    for spec in specs:
        roots = roots_of[spec.id]
        # specs are frozen but hold dicts (fixed weights): key on their canonical JSON
        inputs_key = (roots, spec.magnitude.model_dump_json(), spec.direction.model_dump_json(), spec.implementation_lag)
        if inputs_key not in inputs:
            inputs[inputs_key] = momentum_inputs(spec, roots, series, dollar_oi)
        shared = inputs[inputs_key]
        excess_key = (inputs_key, spec.family, spec.base_value)
        if excess_key not in excess:
            weights = family_weights(shared.table, spec.family, sectors, spec.direction.flat_short_sectors)
            levels = composite_excess_return(
                shared.levels,
                weights.select("effective_date", "root", "weight"),
                shared.base_date,
                spec.base_value,
            )
            excess[excess_key] = (levels, weights)
        levels, weights = excess[excess_key]
        if spec.return_type == "tr":
            levels = composite_total_return(levels, collateral, spec.base_value)
        results[spec.id] = IndexResult(spec=spec, levels=levels, weights=weights)
    return results


def family_weights(
    table: pl.DataFrame, family: str, sectors: dict[str, str], flat_short_sectors: Sequence[str]
) -> pl.DataFrame:
    """The published weights: :data:`WEIGHTS_COLUMNS`, ``weight = magnitude * direction``."""
    return (
        family_direction(table, family, sectors, flat_short_sectors)
        .with_columns((pl.col("magnitude") * pl.col("direction")).alias("weight"))
        .select(WEIGHTS_COLUMNS)
        .sort("date", "root")
    )


def momentum_inputs(
    spec: MomentumIndexSpec,
    roots: Sequence[str],
    series: pl.DataFrame,
    dollar_oi: "_DollarOpenInterest",
) -> MomentumInputs:
    """Aligned levels, base date, and per-rebalance magnitude, signal and D of one index."""
    own_levels = series.filter(pl.col("root").is_in(list(roots))).select("date", "root", "level")
    levels = align_levels(own_levels)
    schedule = rebalance_schedule(levels.get_column("date").unique().sort(), spec.implementation_lag)
    rebalances = schedule.get_column("date")

    signals = momentum_signal(own_levels, rebalances, spec.direction.window_months)
    eligible = signals.select("date", "root", "full_window")
    magnitude_source = spec.magnitude
    if magnitude_source.source != "fixed":
        averages = average_dollar_open_interest(
            dollar_oi.for_roots(magnitude_source, roots), rebalances, magnitude_source.window_months
        )
        eligible = eligible.join(
            averages.select("date", "root", pl.col("full_window").alias("magnitude_full")), on=["date", "root"], how="left"
        ).select("date", "root", pl.col("full_window") & pl.col("magnitude_full").fill_null(False))

    complete = eligible.group_by("date").agg(pl.col("full_window").all()).filter(pl.col("full_window"))
    if complete.height == 0:
        raise SpecError(_history_problem(spec, own_levels), key=f"index {spec.id}")
    base_date = complete.get_column("date").min()
    schedule = schedule.filter(pl.col("date") >= base_date)
    rebalances = schedule.get_column("date")

    if magnitude_source.source == "fixed":
        magnitude = fixed_magnitude(magnitude_source.fixed_weights, roots, rebalances, magnitude_source.cap)
    else:
        magnitude = magnitude_weights(averages.filter(pl.col("date") >= base_date), magnitude_source.cap)
    # ties look back to the previous D, which may predate the base date for early roots
    momentum = momentum_direction(signals.filter(pl.col("full_window")), spec.direction.tie_tolerance)
    table = (
        schedule.join(magnitude, on="date", how="inner")
        .join(momentum, on=["date", "root"], how="left")
        .select("date", "effective_date", "root", "magnitude", "signal", "momentum")
        .sort("date", "root")
    )
    return MomentumInputs(base_date=base_date, levels=levels, table=table)


class _DollarOpenInterest:
    """Daily dollar open interest per magnitude source, computed once per source and shared
    by every index (sector sub-indexes take their roots' rows)."""

    def __init__(self, market: MarketData, specs: Sequence[MomentumIndexSpec]) -> None:
        self._market = market
        self._cache: dict[tuple, pl.DataFrame] = {}
        self._reports: dict[str, pl.DataFrame] = {}
        self._roots_by_source: dict[tuple, set[str]] = {}
        for spec in specs:
            if spec.magnitude.source != "fixed":
                key = self._source_key(spec.magnitude)
                self._roots_by_source.setdefault(key, set()).update(spec.select_roots(market.instruments))

    @staticmethod
    def _source_key(magnitude: MagnitudeSpec) -> tuple:
        if magnitude.source == "cftc":
            markets = tuple(sorted(magnitude.cftc_markets.items()))
            return ("cftc", magnitude.cftc_file, markets, magnitude.cftc_release_lag_days)
        return ("open_interest",)

    def for_roots(self, magnitude: MagnitudeSpec, roots: Sequence[str]) -> pl.DataFrame:
        key = self._source_key(magnitude)
        if key not in self._cache:
            all_roots = sorted(self._roots_by_source.get(key, set()) | set(roots))
            market = self._market
            if magnitude.source == "cftc":
                if magnitude.cftc_file not in self._reports:
                    self._reports[magnitude.cftc_file] = read_cftc_open_interest(magnitude.cftc_file)
                self._cache[key] = cftc_dollar_open_interest(
                    self._reports[magnitude.cftc_file],
                    magnitude.cftc_markets,
                    market.prices,
                    market.instruments,
                    all_roots,
                    magnitude.cftc_release_lag_days,
                )
            else:
                self._cache[key] = dollar_open_interest(market.prices, market.instruments, all_roots)
        return self._cache[key].filter(pl.col("root").is_in(list(roots)))


def _index_roots(spec: MomentumIndexSpec, market: MarketData, series_roots: set[str]) -> tuple[str, ...]:
    roots = tuple(sorted(spec.select_roots(market.instruments)))
    if not roots:
        raise SpecError("no root of the market is in the index's universe", key=f"index {spec.id}")
    absent = [root for root in roots if root not in series_roots]
    if absent:
        raise SpecError(f"root {absent[0]} has no linked series in the market data", key=f"index {spec.id}")
    cap = spec.magnitude.cap
    if len(roots) * cap < 1.0 - CAP_TOLERANCE:
        raise SpecError(
            f"magnitude cap {cap:g} cannot hold over its {len(roots)} roots ({', '.join(roots)}): "
            f"set magnitude.cap to at least {1.0 / len(roots):.4g} or widen the universe",
            key=f"index {spec.id}",
        )
    return roots


def _history_problem(spec: MomentumIndexSpec, own_levels: pl.DataFrame) -> str:
    latest = own_levels.group_by("root").agg(pl.col("date").min()).sort("date").row(-1, named=True)
    magnitude_months = spec.magnitude.window_months if spec.magnitude.source != "fixed" else 0
    return (
        f"no rebalance date (with its effective date) at which every root has "
        f"{max(spec.direction.window_months, magnitude_months)} months of history "
        f"(latest start: root {latest['root']} on {latest['date']})"
    )
