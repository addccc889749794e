"""Work shared by the momentum indexes of one calculation: the roots' aligned levels as a
panel and the monthly trailing-window means of ER levels and dollar open interest
(:mod:`indexcalc.families.momentum.compute` for the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.composite import align_levels
from indexcalc.data.market import MarketData
from indexcalc.families.momentum.magnitude import (
    cftc_dollar_open_interest,
    dollar_open_interest,
    read_cftc_open_interest,
)
from indexcalc.families.momentum.spec import MagnitudeSpec, MomentumIndexSpec
from indexcalc.panel import Panel
from indexcalc.rules.calendar import monthly_totals, window_table
from indexcalc.rules.ended import ended_at


@dataclass(frozen=True)
class Windows:
    """A :func:`window_table` as roots x months matrices: ``mean`` (NaN where null), whether it
    has a mean, and ``full_window``; ``columns`` maps a root to its row, ``first_month`` is the
    first month's number (numpy months since 1970)."""

    columns: dict[str, int]
    first_month: int
    mean: np.ndarray
    has_mean: np.ndarray
    full_window: np.ndarray

    @classmethod
    def of(cls, table: pl.DataFrame) -> "Windows":
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


class SharedInputs:
    """Work shared by every index of one :func:`~indexcalc.families.momentum.compute.compute_momentum` call, done once on first use:
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
        self._windows: dict[tuple, Windows] = {}
        self._daily_dollar_oi: pl.DataFrame | None = None
        self._reports: dict[str, pl.DataFrame] = {}
        self._priced_days: pl.DataFrame | None = None
        self._ended: dict[tuple, pl.DataFrame] = {}

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
            roots = pl.Series("root", self._roots, dtype=pl.String)
            aligned = Panel.from_long(self._levels, "level", roots=roots).forward_filled()
            rows = Panel.from_long(self._levels.with_columns(pl.lit(1.0).alias("row")), "row", roots=roots, fill=0.0)
            # column-major, as the composite and the rules have always read these levels
            self._matrix = (aligned.dates, np.asfortranarray(aligned.values), rows.values > 0.0)
        axis, matrix, present = self._matrix
        columns = np.searchsorted(np.array(self._roots), np.array(list(roots)))
        rows = np.flatnonzero(present[:, columns].any(axis=1))
        return Panel(axis.gather(rows), pl.Series("root", list(roots), dtype=pl.String), matrix[np.ix_(rows, columns)])

    def ended_at(self, roots: Sequence[str], rebalances: pl.Series) -> pl.DataFrame:
        """``date, root``: the rebalances at which a root of ``roots`` has ended
        (:func:`indexcalc.rules.ended.ended_at`: no settlement for more than the stated number
        of business days of its exchange, judged on its own prices up to each rebalance). A
        root's priced days are the dates of its linked series (a series row is a day with a
        settlement). Computed once per distinct (roots, rebalances): the variants of a grid
        that differ only in their weights share it."""
        key = (tuple(roots), tuple(rebalances.to_list()))
        if key not in self._ended:
            if self._priced_days is None:
                self._priced_days = self._levels.select("root", "date")
            self._ended[key] = ended_at(
                self._priced_days.filter(pl.col("root").is_in(list(roots))),
                self._market.instruments,
                rebalances,
                sessions=self._market.sessions,
            )
        return self._ended[key]

    def level_windows(self, window_months: int) -> Windows:
        """Trailing-window means of the ER levels of every root, every month."""
        key = ("level", window_months)
        if key not in self._windows:
            self._windows[key] = Windows.of(
                window_table(monthly_totals(self._levels, "level"), window_months, self._last_date)
            )
        return self._windows[key]

    def dollar_oi_windows(self, magnitude: MagnitudeSpec, roots: Sequence[str]) -> Windows:
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
            self._windows[key] = Windows.of(
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
