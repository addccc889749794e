"""One momentum index's inputs at its rebalances: base date, signal, D and capped magnitude
per rebalance and member root (:mod:`indexcalc.families.momentum.compute` for the rules)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.errors import SpecError
from indexcalc.families.momentum.direction import momentum_direction, momentum_signal
from indexcalc.families.momentum.levels import SharedInputs
from indexcalc.families.momentum.magnitude import (
    CAP_TOLERANCE,
    cap_weights,
    fixed_magnitude,
    fixed_weights_of,
    impute_unreported,
    magnitude_weights,
    member_magnitude_weights,
)
from indexcalc.families.momentum.reconstitution import eligibility, membership, selection_dates
from indexcalc.families.momentum.spec import MomentumIndexSpec
from indexcalc.panel import Panel
from indexcalc.rules.calendar import rebalance_positions


@dataclass(frozen=True)
class MomentumInputs:
    """What the five families of one (roots, magnitude, direction, lag, reconstitution) share.

    ``levels``: the levels of the index's roots (sorted) on its axis, forward-filled (NaN
    before a root's first level); ``table``: per rebalance from the base date and member root,
    ``date, effective_date, root, magnitude, signal, momentum`` (D); ``universe``: the
    reconstitution choices (None without reconstitution).
    """

    base_date: dt.date
    levels: Panel
    table: pl.DataFrame
    universe: pl.DataFrame | None = None


@dataclass(frozen=True)
class _Rebalances:
    """An index's rebalances x roots matrices (rows: its rebalance dates on its axis, columns:
    its roots): ``signal = ER_r / MA_r - 1`` and whether it is known, whether the level window
    is full, the open-interest ``average`` (None for a fixed magnitude) and whether it is known,
    and ``eligible`` (every window full)."""

    levels: Panel
    rows: np.ndarray
    effective_rows: np.ndarray
    signal: Panel
    has_signal: np.ndarray
    level_full: np.ndarray
    average: np.ndarray | None
    has_average: np.ndarray | None
    eligible: np.ndarray
    open_interest_roots: frozenset[str]

    def since(self, first: int) -> "_Rebalances":
        """The rebalances from row ``first`` on (the base date's)."""
        cut = slice(first, None)
        return _Rebalances(
            self.levels, self.rows[cut], self.effective_rows[cut], self.signal.take(cut), self.has_signal[cut],
            self.level_full[cut], None if self.average is None else self.average[cut],
            None if self.has_average is None else self.has_average[cut], self.eligible[cut], self.open_interest_roots,
        )

    def schedule(self) -> tuple[pl.Series, pl.Series]:
        """The rebalance dates and their effective dates."""
        dates = self.levels.dates
        return dates.gather(self.rows), dates.gather(self.effective_rows)


def _at_rebalances(spec: MomentumIndexSpec, roots: Sequence[str], shared: SharedInputs) -> _Rebalances:
    """The latest level and the trailing-window means at each rebalance row, read from the shared
    tables (no per-index joins), and the signal."""
    levels = shared.aligned_panel(roots)
    dates = levels.dates
    rows, effective_rows = rebalance_positions(dates.to_numpy(), spec.implementation_lag)
    days = dates.to_numpy()[rows]
    latest = levels.values[rows]
    level_mean, has_level_mean, level_full = shared.level_windows(spec.direction.window_months).at(days, roots)
    rebalances = dates.gather(rows)
    signal = momentum_signal(Panel(rebalances, levels.roots, latest), Panel(rebalances, levels.roots, level_mean))
    eligible, average, has_average, columns = level_full, None, None, frozenset()
    magnitude = spec.magnitude
    if magnitude.source != "fixed":
        windows = shared.dollar_oi_windows(magnitude, roots)
        average, has_average, magnitude_full = windows.at(days, roots)
        if magnitude.cftc_fallback is not None:
            reported = np.array([root in magnitude.cftc_markets for root in roots])
            average, has_average, magnitude_full = impute_unreported(average, has_average, magnitude_full, reported)
        eligible = level_full & magnitude_full
        columns = frozenset(windows.columns)
    return _Rebalances(
        levels=levels, rows=rows, effective_rows=effective_rows, signal=signal,
        has_signal=~np.isnan(latest) & has_level_mean, level_full=level_full, average=average, has_average=has_average,
        eligible=eligible, open_interest_roots=columns,
    )


def momentum_inputs(spec: MomentumIndexSpec, roots: Sequence[str], shared: SharedInputs) -> MomentumInputs:
    """Aligned levels, base date, and per-rebalance magnitude, signal and D of one index, on
    rebalances x roots panels: the signal, D (:func:`momentum_direction`) and the capped
    magnitude (:func:`magnitude_weights`) row by row."""
    at = _at_rebalances(spec, roots, shared)
    if spec.reconstitution is None:
        complete = np.flatnonzero(at.eligible.all(axis=1))
        if complete.size == 0:
            raise SpecError(_history_problem(spec, shared.aligned_levels(roots)), key=f"index {spec.id}")
        at = at.since(int(complete[0]))
        table, universe = _fixed_universe_table(spec, roots, shared, at), None
    else:
        averages = _candidate_averages(spec, roots, at)
        candidates = eligibility(
            averages, spec.reconstitution.min_dollar_open_interest, spec.reconstitution.max_roots
        )
        base_date = _first_viable_date(spec, candidates)
        at = at.since(int(np.searchsorted(at.signal.dates.to_numpy(), np.datetime64(base_date, "D"))))
        table, universe = _reconstituted_table(spec, roots, shared, at, averages, candidates)
    base_date = at.levels.dates[int(at.rows[0])]
    return MomentumInputs(base_date=base_date, levels=at.levels, table=table, universe=universe)


def _direction(spec: MomentumIndexSpec, at: _Rebalances) -> np.ndarray:
    """D at the rebalances (int8; 0 where the level window is not full)."""
    return momentum_direction(at.signal, at.has_signal, at.level_full, spec.direction.tie_tolerance).values


def _fixed_universe_table(
    spec: MomentumIndexSpec, roots: Sequence[str], shared: SharedInputs, at: _Rebalances
) -> pl.DataFrame:
    """The table without reconstitution: every root at every rebalance; a root whose data has
    ended by a rebalance (:mod:`indexcalc.rules.ended`) has magnitude 0 there, the others'
    re-normalised and capped."""
    magnitude_spec = spec.magnitude
    rebalances, effective = at.schedule()
    gone = _cells(shared.ended_at(roots, rebalances), rebalances, roots)
    if magnitude_spec.source == "fixed":
        magnitude = fixed_magnitude(magnitude_spec.fixed_weights, roots, rebalances, magnitude_spec.cap).values
        if gone.any():
            magnitude = cap_weights(np.where(gone, 0.0, magnitude), magnitude_spec.cap)
    else:
        averages = Panel(rebalances, at.levels.roots, np.where(gone, 0.0, at.average))
        magnitude = magnitude_weights(averages, magnitude_spec.cap).values
    count = len(roots)
    root_series = at.levels.roots
    return pl.DataFrame(
        {
            "date": rebalances.gather(np.repeat(np.arange(at.rows.size), count)),
            "effective_date": effective.gather(np.repeat(np.arange(at.rows.size), count)),
            "root": root_series.gather(np.tile(np.arange(count), at.rows.size)) if at.rows.size * count else root_series.clear(),
            "magnitude": pl.Series(magnitude.ravel(), dtype=pl.Float64),
            "signal": _nullable(at.signal.values, at.has_signal & at.level_full),
            "momentum": _nullable(_direction(spec, at), at.level_full, pl.Int8),
        }
    )


def _candidate_averages(spec: MomentumIndexSpec, roots: Sequence[str], at: _Rebalances) -> pl.DataFrame:
    """``date, root, average, full_window`` of the reconstitution's candidates at every
    rebalance. A ``fixed`` magnitude has no open interest: its fixed weights stand in for the
    averages (threshold 0, no ``max_roots``: the spec allows nothing else), so a root is
    eligible once its windows are full, and the members share the fixed weights, re-normalised
    and capped. Otherwise the roots of the open-interest table only are candidates (with a
    ``cftc_fallback``, an unreported root is a candidate on its imputed average)."""
    magnitude_spec = spec.magnitude
    if magnitude_spec.source == "fixed":
        kept = np.ones(len(roots), dtype=bool)
        per_root = np.array(fixed_weights_of(magnitude_spec.fixed_weights, roots), dtype=np.float64)
        average = np.tile(per_root, (at.rows.size, 1))
        has_average = np.ones(average.shape, dtype=bool)
    else:
        fallback = magnitude_spec.cftc_fallback is not None
        kept = np.array([root in at.open_interest_roots or fallback for root in roots])
        average, has_average = at.average, at.has_average
    candidate_roots = [root for root, keep in zip(roots, kept) if keep]
    return pl.DataFrame(
        {
            "date": at.signal.dates.gather(np.repeat(np.arange(at.rows.size), len(candidate_roots))),
            "root": pl.Series(candidate_roots, dtype=pl.String).gather(
                np.tile(np.arange(len(candidate_roots)), at.rows.size)
            ),
            "average": _nullable(average[:, kept], has_average[:, kept]),
            "full_window": at.eligible[:, kept].ravel(),
        }
    )


def _reconstituted_table(
    spec: MomentumIndexSpec,
    roots: Sequence[str],
    shared: SharedInputs,
    at: _Rebalances,
    averages: pl.DataFrame,
    candidates: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The table and the universe with reconstitution: the members chosen at each selection date
    (less those whose data has ended), their magnitudes over the members only."""
    rebalances, effective = at.schedule()
    base_date = rebalances[0]
    selections = selection_dates(rebalances, base_date, spec.reconstitution.month)
    universe = candidates.filter(pl.col("date").is_in(selections.implode()))
    _check_universe(spec, universe)
    members = membership(universe, rebalances).join(shared.ended_at(roots, rebalances), on=["date", "root"], how="anti")
    magnitude = member_magnitude_weights(averages.filter(pl.col("date") >= base_date), members, spec.magnitude.cap)
    signals = pl.DataFrame(
        {
            "date": rebalances.gather(np.repeat(np.arange(at.rows.size), len(roots))),
            "root": at.levels.roots.gather(np.tile(np.arange(len(roots)), at.rows.size)),
            "signal": _nullable(at.signal.values, at.has_signal & at.level_full),
            "momentum": pl.Series(_direction(spec, at).ravel(), dtype=pl.Int8),
        }
    ).filter(pl.Series(at.level_full.ravel()))
    table = (
        pl.DataFrame({"date": rebalances, "effective_date": effective})
        .join(magnitude, on="date", how="inner")
        .join(signals, on=["date", "root"], how="left")
        .select("date", "effective_date", "root", "magnitude", "signal", "momentum")
        .sort("date", "root")
    )
    return table, universe


def _cells(frame: pl.DataFrame, dates: pl.Series, roots: Sequence[str]) -> np.ndarray:
    """A dates x roots boolean matrix, true at the ``date, root`` pairs of ``frame``."""
    marks = frame.select("date", "root", pl.lit(1.0).alias("cell"))
    panel = Panel.from_long(marks, "cell", dates=dates, roots=pl.Series("root", list(roots), dtype=pl.String), fill=0.0)
    return panel.values > 0.0


def _nullable(values: np.ndarray, valid: np.ndarray, dtype: pl.DataType = pl.Float64) -> pl.Series:
    """``values`` (any shape, flattened) as a polars Series, null where ``valid`` is false."""
    series = pl.Series(values.ravel(), dtype=dtype)
    invalid = np.flatnonzero(~valid.ravel())
    return series.scatter(invalid, None) if invalid.size else series



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

