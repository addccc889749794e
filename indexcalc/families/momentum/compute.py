"""The Long/Short momentum family: Long/Short, Long/Flat, Short/Flat, Long-Only, Short-Only
(docs/design.md section 3), in excess-return and total-return versions, whole universe or a sector.

For an index with roots ``i`` and monthly rebalance dates ``r`` (the last date of each month on
the index's date axis, the union of its roots' dates):

    W_{i,r} = m_{i,r} * direction_{i,r}          m: capped magnitude (.magnitude),
                                                 direction: family mapping of D (.direction)

fixed at the close of ``r`` and held from the close of the effective date ``a = r + lag``
business days; levels by :func:`indexcalc.composite.composite_excess_return` (ER) and
:func:`indexcalc.composite.composite_total_return` (TR).

Base date: the first rebalance date at which every root of the index has a full trailing
window for both direction and magnitude (its history starts before the window's first month);
the index is at ``base_value`` on it. A root that starts later therefore delays the whole index
rather than entering part-way: the universe, the cap and the magnitudes stay the same set of
roots from the first published level on (a spec that wants an earlier start names a smaller
``universe``).

Reconstitution (optional, ``spec.reconstitution``; :mod:`indexcalc.families.momentum.reconstitution`):
the universe is chosen from the index's roots at the base date and then once a year, at the
rebalance of the reconstitution month, by a minimum average dollar open interest (and at most
``max_roots`` roots); in between, the monthly magnitudes are re-normalised and capped over the
current members only, and the weights frame holds the members only (a root outside the
universe has no row: weight 0, its magnitude in nobody's hands). The base date is then the
first rebalance at which enough roots (``1 / cap``) have full windows and pass the threshold:
the initial universe is those roots, and a root whose history starts later enters at the
first reconstitution after its window is full. A ``fixed`` magnitude reconstitutes on full
windows alone (threshold 0, no ``max_roots``; its fixed weights stand in for the averages, also
in the universe table) and the members share the fixed weights, re-normalised and capped. The
choice at every selection date is published as the ``universe`` table (:data:`indexcalc.families.momentum.reconstitution.UNIVERSE_SCHEMA`).
A reconstitution leaving fewer than ``1 / cap`` members is a :class:`SpecError` naming the
index and the date. Without ``reconstitution`` nothing of the above runs: the universe is
fixed and the levels are those of the fixed-universe code path.

Roots whose data ends (:mod:`indexcalc.rules.ended`): a root with no settlement for more than
five business days of its exchange by a rebalance ``r`` has ended; it leaves the index at ``r``
(with reconstitution: no member from ``r`` on, until it is priced again; without: magnitude 0
and the others' re-normalised and capped). Until then its last level is carried flat (the
forward fill of the aligned levels), so it adds nothing to the index's return. This is judged on
each root's prices up to ``r`` only, so the daily run and the rebuild agree.

Magnitude and direction depend on (roots, magnitude spec, direction spec, lag, reconstitution)
only, so they are computed once per distinct combination and shared by the families and by ER
and TR; the ER levels are shared by the ER and TR versions of a family.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from indexcalc.composite import composite_excess_returns, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.families.momentum.direction import family_direction
from indexcalc.families.momentum.inputs import MomentumInputs, momentum_inputs
from indexcalc.families.momentum.levels import SharedInputs
from indexcalc.families.momentum.magnitude import CAP_TOLERANCE
from indexcalc.families.momentum.spec import MomentumIndexSpec
from indexcalc.errors import SpecError
from indexcalc.results import IndexResult

__all__ = ["WEIGHTS_COLUMNS", "MomentumInputs", "compute_momentum", "family_weights", "missing_inputs", "momentum_inputs"]

WEIGHTS_COLUMNS = ("date", "effective_date", "root", "magnitude", "signal", "direction", "weight")
"""Columns of the published weights file of every momentum index."""



def compute_momentum(
    specs: list[MomentumIndexSpec],
    market: MarketData,
    series: pl.DataFrame,
    collateral: pl.DataFrame,
) -> dict[str, IndexResult]:
    """Levels and weights of every momentum spec, keyed by index id.

    ``series``: ``date, root, level, ...`` linked ER series of every root (indexcalc.series);
    ``collateral``: ``date, collateral_return`` (TBR_t) over the union of the series' dates.
    The weights frame has :data:`WEIGHTS_COLUMNS` (members only with reconstitution, whose
    choices are the ``universe`` table of the result). The CFTC file of a ``cftc`` magnitude is read
    once per file (the only I/O, at this edge).
    """
    sectors = {root: instrument.sector for root, instrument in market.instruments.items()}
    series_roots = set(series.get_column("root").unique().to_list())
    roots_of = {spec.id: _index_roots(spec, market, series_roots) for spec in specs}
    shared = SharedInputs(market, series, [(spec, roots_of[spec.id]) for spec in specs])

    # indexes sharing roots, magnitude, direction and lag share their inputs and their levels'
    # matrix; within such a group the ER levels of each (family, base value) serve ER and TR
    groups: dict[tuple, list[MomentumIndexSpec]] = {}
    for spec in specs:
        # specs are frozen but hold dicts (fixed weights): key on their canonical JSON
        key = (
            roots_of[spec.id],
            spec.magnitude.model_dump_json(),
            spec.direction.model_dump_json(),
            spec.implementation_lag,
            None if spec.reconstitution is None else spec.reconstitution.model_dump_json(),
        )
        groups.setdefault(key, []).append(spec)

    results: dict[str, IndexResult] = {}
    for (roots, *_), group in groups.items():
        inputs = momentum_inputs(group[0], roots, shared)
        flat_short_sectors = group[0].direction.flat_short_sectors
        weights = {
            family: family_weights(inputs.table, family, sectors, flat_short_sectors)
            for family in dict.fromkeys(spec.family for spec in group)
        }
        excess: dict[tuple[str, float], pl.DataFrame] = {}
        for base_value in dict.fromkeys(spec.base_value for spec in group):
            levels = composite_excess_returns(
                inputs.levels,
                {family: frame.select("effective_date", "root", "weight") for family, frame in weights.items()},
                inputs.base_date,
                base_value,
            )
            excess.update({(family, base_value): frame for family, frame in levels.items()})
        for spec in group:
            excess_levels = excess[(spec.family, spec.base_value)]
            levels = excess_levels
            if spec.return_type == "tr":
                levels = composite_total_return(excess_levels, collateral, spec.base_value)
            tables = {} if inputs.universe is None else {"universe": inputs.universe}
            results[spec.id] = IndexResult(
                spec=spec, levels=levels, weights=weights[spec.family], tables=tables,
                excess=excess_levels if spec.return_type == "tr" else None, axis_roots=tuple(roots),
            )
    return {spec.id: results[spec.id] for spec in specs}


def missing_inputs(spec: MomentumIndexSpec, market: MarketData) -> str | None:
    """Why ``market`` cannot serve ``spec`` (None when it can), for the pipeline to skip it with a
    reason instead of stopping: a sector with fewer roots than the cap allows, or an open-interest
    magnitude on data without any open interest (pysystemtrade). A root missing open interest
    in otherwise complete data is still an error of :func:`compute_momentum`."""
    roots = spec.select_roots(market.instruments)
    cap = spec.magnitude.cap
    if roots and len(roots) * cap < 1.0 - CAP_TOLERANCE:
        return f"magnitude cap {cap:g} cannot hold over its {len(roots)} roots in this market ({', '.join(sorted(roots))})"
    if spec.magnitude.source == "open_interest" and market.prices.get_column("open_interest").null_count() == market.prices.height:
        return "no open interest in the market data (magnitude source 'open_interest'; use 'cftc' or 'fixed')"
    return None


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

