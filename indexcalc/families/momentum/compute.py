"""The Long/Short momentum family: Long/Short, Long/Flat, Short/Flat, Long-Only, Short-Only
(docs/design.md section 3), in excess-return and total-return versions, whole universe or a sector.

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

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.composite import align_levels, composite_excess_returns, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.errors import SpecError
from indexcalc.panel import Panel
from indexcalc.results import IndexResult
from indexcalc.rules.calendar import monthly_totals, rebalance_positions, window_table
from indexcalc.families.momentum.direction import family_direction, momentum_direction_matrix
from indexcalc.families.momentum.magnitude import (
    CAP_TOLERANCE,
    cap_weights,
    cftc_dollar_open_interest,
    dollar_open_interest,
    fixed_weights_of,
    impute_unreported,
    magnitude_matrix,
    member_magnitude_weights,
    read_cftc_open_interest,
)
from indexcalc.rules.ended import ended_at
from indexcalc.families.momentum.reconstitution import eligibility, membership, selection_dates
from indexcalc.families.momentum.spec import MagnitudeSpec, MomentumIndexSpec

WEIGHTS_COLUMNS = ("date", "effective_date", "root", "magnitude", "signal", "direction", "weight")
"""Columns of the published weights file of every momentum index."""


@dataclass(frozen=True)
class MomentumInputs:
    """What the five families of one (roots, magnitude, direction, lag, reconstitution) share.

    ``levels``: the levels of the index's roots (sorted) on its axis, forward-filled (NaN
    before a root's first level); ``table``: per rebalance from the
    base date and member root, ``date, effective_date, root, magnitude, signal, momentum`` (D);
    ``universe``: the reconstitution choices (None without reconstitution).
    """

    base_date: dt.date
    levels: Panel
    table: pl.DataFrame
    universe: pl.DataFrame | None = None


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
    shared = _Shared(market, series, [(spec, roots_of[spec.id]) for spec in specs])

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


def momentum_inputs(spec: MomentumIndexSpec, roots: Sequence[str], shared: "_Shared") -> MomentumInputs:
    """Aligned levels, base date, and per-rebalance magnitude, signal and D of one index.

    Computed on rebalances x roots matrices read from the shared tables (no per-index joins):
    the latest level and the trailing-window means at each rebalance row, then the signal,
    D (:func:`momentum_direction_matrix`) and the capped magnitude row by row."""
    panel = shared.aligned_panel(roots)
    dates, level_matrix = panel.dates, panel.values
    rebalance_rows, effective_rows = rebalance_positions(dates.to_numpy(), spec.implementation_lag)
    rebalance_days = dates.to_numpy()[rebalance_rows]
    latest = level_matrix[rebalance_rows]
    level_mean, has_level_mean, level_full = shared.level_windows(spec.direction.window_months).at(
        rebalance_days, roots
    )
    has_signal = ~np.isnan(latest) & has_level_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = latest / level_mean - 1.0
    eligible = level_full
    magnitude_spec = spec.magnitude
    if magnitude_spec.source != "fixed":
        windows = shared.dollar_oi_windows(magnitude_spec, roots)
        average, has_average, magnitude_full = windows.at(rebalance_days, roots)
        if magnitude_spec.cftc_fallback is not None:
            reported = np.array([root in magnitude_spec.cftc_markets for root in roots])
            average, has_average, magnitude_full = impute_unreported(average, has_average, magnitude_full, reported)
        eligible = level_full & magnitude_full

    reconstitution = spec.reconstitution
    if reconstitution is None:
        complete = np.flatnonzero(eligible.all(axis=1))
        if complete.size == 0:
            raise SpecError(_history_problem(spec, shared.aligned_levels(roots)), key=f"index {spec.id}")
        first = int(complete[0])
    else:
        if magnitude_spec.source == "fixed":
            # no open interest: the fixed weights stand in for the averages (threshold 0, no
            # max_roots: the spec allows nothing else), so a root is eligible once its windows
            # are full, and the members share the fixed weights, re-normalised and capped
            candidate_roots, kept = list(roots), np.ones(len(roots), dtype=bool)
            per_root = np.array(fixed_weights_of(magnitude_spec.fixed_weights, roots), dtype=np.float64)
            average = np.tile(per_root, (rebalance_rows.size, 1))
            has_average = np.ones(average.shape, dtype=bool)
        else:
            # the roots of the open-interest table only: a root without open interest is no candidate
            # (with a cftc_fallback, an unreported root is a candidate on its imputed average)
            fallback = magnitude_spec.cftc_fallback is not None
            kept = np.array([root in windows.columns or fallback for root in roots])
            candidate_roots = [root for root, keep in zip(roots, kept) if keep]
        averages = pl.DataFrame(
            {
                "date": dates.gather(np.repeat(rebalance_rows, len(candidate_roots))),
                "root": pl.Series(candidate_roots, dtype=pl.String).gather(
                    np.tile(np.arange(len(candidate_roots)), rebalance_rows.size)
                ),
                "average": _nullable(average[:, kept], has_average[:, kept]),
                "full_window": eligible[:, kept].ravel(),
            }
        )
        candidates = eligibility(averages, reconstitution.min_dollar_open_interest, reconstitution.max_roots)
        base_date = _first_viable_date(spec, candidates)
        first = int(np.searchsorted(rebalance_days, np.datetime64(base_date, "D")))
    base_date = dates[int(rebalance_rows[first])]
    rebalance_rows, effective_rows = rebalance_rows[first:], effective_rows[first:]
    momentum = momentum_direction_matrix(
        signal[first:], has_signal[first:], level_full[first:], spec.direction.tie_tolerance
    )
    root_series = pl.Series("root", list(roots), dtype=pl.String)

    universe = None
    # roots whose data has ended by a rebalance (indexcalc.rules.ended) leave the index there
    ended = shared.ended_at(roots, dates.gather(rebalance_rows))
    if reconstitution is None:
        rebalances = dates.gather(rebalance_rows)
        gone = _cells(ended, rebalances, roots)
        if magnitude_spec.source == "fixed":
            per_root = cap_weights(fixed_weights_of(magnitude_spec.fixed_weights, roots), magnitude_spec.cap)
            magnitude = np.tile(per_root, (rebalance_rows.size, 1))
            if gone.any():
                magnitude = cap_weights(np.where(gone, 0.0, magnitude), magnitude_spec.cap)
        else:
            magnitude = magnitude_matrix(
                np.where(gone, 0.0, average[first:]), has_average[first:] | gone, rebalances, roots, magnitude_spec.cap
            )
        cells = rebalance_rows.size * len(roots)
        column = np.tile(np.arange(len(roots)), rebalance_rows.size)
        table = pl.DataFrame(
            {
                "date": dates.gather(np.repeat(rebalance_rows, len(roots))),
                "effective_date": dates.gather(np.repeat(effective_rows, len(roots))),
                "root": root_series.gather(column) if cells else root_series.clear(),
                "magnitude": pl.Series(magnitude.ravel(), dtype=pl.Float64),
                "signal": _nullable(signal[first:], has_signal[first:] & level_full[first:]),
                "momentum": _nullable(momentum, level_full[first:], pl.Int8),
            }
        )
    else:
        schedule = pl.DataFrame({"date": dates.gather(rebalance_rows), "effective_date": dates.gather(effective_rows)})
        rebalances = schedule.get_column("date")
        selections = selection_dates(rebalances, base_date, reconstitution.month)
        universe = candidates.filter(pl.col("date").is_in(selections.implode()))
        _check_universe(spec, universe)
        members = membership(universe, rebalances).join(ended, on=["date", "root"], how="anti")
        magnitude = member_magnitude_weights(
            averages.filter(pl.col("date") >= base_date), members, magnitude_spec.cap
        )
        full = level_full[first:].ravel()
        signals = pl.DataFrame(
            {
                "date": dates.gather(np.repeat(rebalance_rows, len(roots))),
                "root": root_series.gather(np.tile(np.arange(len(roots)), rebalance_rows.size)),
                "signal": _nullable(signal[first:], has_signal[first:] & level_full[first:]),
                "momentum": pl.Series(momentum.ravel(), dtype=pl.Int8),
            }
        ).filter(pl.Series(full))
        table = (
            schedule.join(magnitude, on="date", how="inner")
            .join(signals, on=["date", "root"], how="left")
            .select("date", "effective_date", "root", "magnitude", "signal", "momentum")
            .sort("date", "root")
        )
    return MomentumInputs(
        base_date=base_date, levels=Panel(dates, root_series, level_matrix), table=table, universe=universe
    )


def _cells(frame: pl.DataFrame, dates: pl.Series, roots: Sequence[str]) -> np.ndarray:
    """A dates x roots boolean matrix, true at the ``date, root`` pairs of ``frame``."""
    cells = np.zeros((dates.len(), len(roots)), dtype=bool)
    if frame.height:
        row = dates.search_sorted(frame.get_column("date")).to_numpy()
        column = {root: position for position, root in enumerate(roots)}
        cells[row, [column[root] for root in frame.get_column("root").to_list()]] = True
    return cells


def _nullable(values: np.ndarray, valid: np.ndarray, dtype: pl.DataType = pl.Float64) -> pl.Series:
    """``values`` (any shape, flattened) as a polars Series, null where ``valid`` is false."""
    series = pl.Series(values.ravel(), dtype=dtype)
    invalid = np.flatnonzero(~valid.ravel())
    return series.scatter(invalid, None) if invalid.size else series


@dataclass(frozen=True)
class _Windows:
    """A :func:`window_table` as roots x months matrices: ``mean`` (NaN where null), whether it
    has a mean, and ``full_window``; ``columns`` maps a root to its row, ``first_month`` is the
    first month's number (numpy months since 1970)."""

    columns: dict[str, int]
    first_month: int
    mean: np.ndarray
    has_mean: np.ndarray
    full_window: np.ndarray

    @classmethod
    def of(cls, table: pl.DataFrame) -> "_Windows":
        # window_table rows: every root x month, sorted by root then month
        roots = table.get_column("root").unique(maintain_order=True).to_list()
        shape = (len(roots), table.height // max(len(roots), 1))
        months = table.get_column("month").to_numpy().astype("datetime64[M]").astype(np.int64)
        mean = table.get_column("mean")
        return cls(
            columns={root: row for row, root in enumerate(roots)},
            first_month=int(months[0]) if months.size else 0,
            mean=mean.to_numpy().astype(np.float64).reshape(shape),
            has_mean=mean.is_not_null().to_numpy().reshape(shape),
            full_window=table.get_column("full_window").to_numpy().astype(bool).reshape(shape),
        )

    def at(self, days: np.ndarray, roots: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``mean, has_mean, full_window`` as rebalances x roots matrices: the rows of the months
        of ``days`` (:func:`indexcalc.rules.calendar.at_rebalances`: NaN, False, False for a
        month or root the table does not have)."""
        month = days.astype("datetime64[M]").astype(np.int64) - self.first_month
        inside = (month >= 0) & (month < self.mean.shape[1])
        column = np.array([self.columns.get(root, -1) for root in roots], dtype=np.int64)
        known = inside[:, None] & (column >= 0)[None, :]
        at_month = np.where(inside, month, 0)[:, None]
        at_root = np.maximum(column, 0)[None, :]
        return (
            np.where(known, self.mean[at_root, at_month], np.nan),
            known & self.has_mean[at_root, at_month],
            known & self.full_window[at_root, at_month],
        )


class _Shared:
    """Work shared by every index of one :func:`compute_momentum` call, done once on first use:
    the levels aligned on the union axis of all roots as a dates x roots matrix (a sub-index
    takes its roots' columns on its own axis, the dates where one of them has a level:
    forward-filled values are the same), and the monthly trailing-window means of ER levels and
    of dollar open interest per window length and source (an index reads its roots at its
    rebalance months)."""

    def __init__(
        self, market: MarketData, series: pl.DataFrame, indexes: Sequence[tuple[MomentumIndexSpec, Sequence[str]]]
    ) -> None:
        self._market = market
        self._roots = sorted({root for _, roots in indexes for root in roots})
        self._open_interest_roots = sorted(
            {root for spec, roots in indexes if spec.magnitude.source == "open_interest" for root in roots}
        )
        self._levels = series.filter(pl.col("root").is_in(self._roots)).select("date", "root", "level")
        self._last_date = self._levels.get_column("date").max()
        self._aligned: pl.DataFrame | None = None
        self._matrix: tuple[pl.Series, np.ndarray, np.ndarray] | None = None
        self._windows: dict[tuple, _Windows] = {}
        self._daily_dollar_oi: pl.DataFrame | None = None
        self._reports: dict[str, pl.DataFrame] = {}
        self._priced_days: pl.DataFrame | None = None

    def aligned_levels(self, roots: Sequence[str]) -> pl.DataFrame:
        """``date, root, level`` of ``roots`` on the union of their own dates, forward-filled."""
        if self._aligned is None:
            self._aligned = align_levels(self._levels)
        if list(roots) == self._roots:
            return self._aligned
        selected = pl.col("root").is_in(list(roots))
        axis = self._levels.filter(selected).get_column("date").unique()
        return self._aligned.filter(selected & pl.col("date").is_in(axis.implode()))

    def aligned_panel(self, roots: Sequence[str]) -> Panel:
        """The levels of ``roots`` on their axis (the dates where one of them has a row),
        forward-filled (:func:`align_levels`; NaN before a root's first level; columns in
        ``roots`` order)."""
        if self._matrix is None:
            aligned = self.aligned_levels(self._roots)  # every root x axis date, by root then date
            n_roots = len(self._roots)
            axis = aligned.get_column("date").head(aligned.height // max(n_roots, 1))
            matrix = aligned.get_column("level").to_numpy().astype(np.float64).reshape(n_roots, -1).T
            present = np.zeros(matrix.shape, dtype=bool)
            row = np.searchsorted(axis.to_physical().to_numpy(), self._levels.get_column("date").to_physical().to_numpy())
            column = pl.Series(self._roots, dtype=pl.String).search_sorted(self._levels.get_column("root")).to_numpy()
            present[row, column] = True
            self._matrix = (axis, matrix, present)
        axis, matrix, present = self._matrix
        columns = np.searchsorted(np.array(self._roots), np.array(list(roots)))
        rows = np.flatnonzero(present[:, columns].any(axis=1))
        return Panel(axis.gather(rows), pl.Series("root", list(roots), dtype=pl.String), matrix[np.ix_(rows, columns)])

    def ended_at(self, roots: Sequence[str], rebalances: pl.Series) -> pl.DataFrame:
        """``date, root``: the rebalances at which a root of ``roots`` has ended
        (:func:`indexcalc.rules.ended.ended_at`: no settlement for more than the stated number
        of business days of its exchange, judged on its own prices up to each rebalance). A
        root's priced days are the dates of its linked series (a series row is a day with a
        settlement)."""
        if self._priced_days is None:
            self._priced_days = self._levels.select("root", "date")
        return ended_at(
            self._priced_days.filter(pl.col("root").is_in(list(roots))),
            self._market.instruments,
            rebalances,
            sessions=self._market.sessions,
        )

    def level_windows(self, window_months: int) -> _Windows:
        """Trailing-window means of the ER levels of every root, every month."""
        key = ("level", window_months)
        if key not in self._windows:
            self._windows[key] = _Windows.of(
                window_table(monthly_totals(self._levels, "level"), window_months, self._last_date)
            )
        return self._windows[key]

    def dollar_oi_windows(self, magnitude: MagnitudeSpec, roots: Sequence[str]) -> _Windows:
        """Trailing-window means of the dollar open interest of the magnitude's source, every month
        (every open-interest root of the call at once; a CFTC source per index's roots)."""
        if magnitude.source == "cftc" and magnitude.cftc_fallback is not None:
            roots = [root for root in roots if root in magnitude.cftc_markets]  # the others are imputed
        if magnitude.source == "cftc":
            key: tuple = ("cftc", magnitude.cftc_file, tuple(sorted(magnitude.cftc_markets.items())),
                          magnitude.cftc_release_lag_days, tuple(roots), magnitude.window_months)
        else:
            key = ("open_interest", magnitude.window_months)
        if key not in self._windows:
            daily = self._dollar_oi(magnitude, roots)
            self._windows[key] = _Windows.of(
                window_table(monthly_totals(daily, "dollar_open_interest"), magnitude.window_months, self._last_date)
            )
        return self._windows[key]

    def _dollar_oi(self, magnitude: MagnitudeSpec, roots: Sequence[str]) -> pl.DataFrame:
        market = self._market
        if magnitude.source == "cftc":
            if magnitude.cftc_file not in self._reports:
                self._reports[magnitude.cftc_file] = read_cftc_open_interest(magnitude.cftc_file)
            return cftc_dollar_open_interest(
                self._reports[magnitude.cftc_file],
                magnitude.cftc_markets,
                market.prices,
                market.instruments,
                roots,
                magnitude.cftc_release_lag_days,
            )
        # one pass over the prices for every root of the call's open-interest indexes
        if self._daily_dollar_oi is None:
            self._daily_dollar_oi = dollar_open_interest(market.prices, market.instruments, self._open_interest_roots)
        return self._daily_dollar_oi


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


def _history_problem(spec: MomentumIndexSpec, levels: pl.DataFrame) -> str:
    latest = levels.drop_nulls("level").group_by("root").agg(pl.col("date").min()).sort("date").row(-1, named=True)
    magnitude_months = spec.magnitude.window_months if spec.magnitude.source != "fixed" else 0
    return (
        f"no rebalance date (with its effective date) at which every root has "
        f"{max(spec.direction.window_months, magnitude_months)} months of price and open-interest history "
        f"(latest series start: root {latest['root']} on {latest['date']})"
    )


def _members_needed(cap: float) -> int:
    """The fewest members a magnitude cap can hold over: ceil(1 / cap)."""
    return math.ceil(1.0 / cap - CAP_TOLERANCE)


def _threshold_text(spec: MomentumIndexSpec) -> str:
    reconstitution = spec.reconstitution
    limit = "" if reconstitution.max_roots is None else f", at most {reconstitution.max_roots} kept"
    return (
        f"full {max(spec.direction.window_months, spec.magnitude.window_months)}-month windows and an average "
        f"dollar open interest of at least {reconstitution.min_dollar_open_interest:,.0f} USD{limit}"
    )


def _first_viable_date(spec: MomentumIndexSpec, candidates: pl.DataFrame) -> dt.date:
    """The base date with reconstitution: the first rebalance whose eligible roots (after
    ``max_roots``) are enough for the cap."""
    cap = spec.magnitude.cap
    counts = candidates.group_by("date").agg(pl.col("member").sum().alias("members")).sort("date")
    viable = counts.filter(pl.col("members") * cap >= 1.0 - CAP_TOLERANCE)
    if viable.height:
        return viable.item(0, "date")
    most = counts.sort("members", "date", descending=[True, False])
    found = f"the most: {most.item(0, 'members')} on {most.item(0, 'date')}" if most.height else "no rebalance date"
    raise SpecError(
        f"no rebalance date at which the {_members_needed(cap)} roots that magnitude cap {cap:g} needs have "
        f"{_threshold_text(spec)} ({found})",
        key=f"index {spec.id}",
    )


def _check_universe(spec: MomentumIndexSpec, universe: pl.DataFrame) -> None:
    """A :class:`SpecError` at the first reconstitution whose members are too few for the cap."""
    cap = spec.magnitude.cap
    members = (
        universe.filter(pl.col("member"))
        .group_by("date")
        .agg(pl.col("root").sort().alias("roots"))
        .join(universe.select("date").unique(), on="date", how="right")
        .with_columns(pl.col("roots").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .filter(pl.col("roots").list.len() * cap < 1.0 - CAP_TOLERANCE)
        .sort("date")
    )
    if members.height:
        date, roots = members.item(0, "date"), members.item(0, "roots").to_list()
        raise SpecError(
            f"reconstitution on {date}: {len(roots)} root(s) ({', '.join(roots) or 'none'}) have "
            f"{_threshold_text(spec)}; magnitude cap {cap:g} needs at least {_members_needed(cap)}",
            key=f"index {spec.id}",
        )
