"""A panel: one value per date and root, held as a dates x roots array (issue 18).

The formulas over several roots (the composite, the base-metals risk and attribution, the
momentum direction and magnitude) each have one implementation over a :class:`Panel`; a frame
``date, root, value`` becomes a panel with :meth:`Panel.from_long` and back with
:meth:`Panel.to_long`. ``values[t, n]`` is the value of ``roots[n]`` on ``dates[t]``; a cell
without one holds the ``fill`` it was built with (NaN unless said otherwise).

The array keeps whatever memory layout it was built with. numpy's reductions along an axis
(``mean``, ``sum``) can differ in the last bit between a row-major and a column-major array,
so a formula whose published figures must not move fixes the layout it reduces over (see
:func:`indexcalc.families.basemetals.monitors.rolling_correlations`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.errors import DataError


@dataclass(frozen=True, eq=False)
class Panel:
    """``values`` (``len(dates) x len(roots)``) of ``roots`` on ``dates`` (sorted, unique).

    ``roots`` are unique, in any order the caller chose (sorted when built from a frame). Frozen:
    the methods return new panels; the array is shared, not copied, where nothing changes.
    """

    dates: pl.Series
    roots: pl.Series
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.shape != (self.dates.len(), self.roots.len()):
            raise ValueError(f"panel values {self.values.shape} do not fit {self.dates.len()} dates x {self.roots.len()} roots")

    @classmethod
    def from_long(
        cls,
        frame: pl.DataFrame,
        value: str,
        *,
        on: str = "date",
        dates: pl.Series | None = None,
        roots: pl.Series | None = None,
        fill: float = np.nan,
    ) -> "Panel":
        """``frame``'s ``value`` column (rows keyed by ``on``, ``root``) as a panel.

        ``dates``: the axis (sorted, unique; default: every ``on`` of ``frame``, sorted);
        ``roots``: the columns (default: every root of ``frame``, sorted). Rows of other dates or
        roots are left out; a cell without a row, or with a null value, holds ``fill``.
        """
        keys = frame.get_column(on)
        if dates is None:
            dates = keys.unique().sort()
        if roots is None:
            roots = frame.get_column("root").unique().sort()
        axis = dates.to_physical().to_numpy()
        frame_days = keys.to_physical().to_numpy()
        rows = np.minimum(np.searchsorted(axis, frame_days), max(axis.size - 1, 0))
        columns = _run_positions(frame.get_column("root"), roots)
        keep = (columns >= 0) & (axis[rows] == frame_days) if axis.size else np.zeros(frame.height, bool)
        values = np.full((dates.len(), roots.len()), fill)
        cells = frame.get_column(value).fill_null(fill).to_numpy()
        values[rows[keep], columns[keep]] = cells[keep]
        return cls(dates, roots, values)

    def to_long(self, value: str) -> pl.DataFrame:
        """``root, date, <value>``: one row per root and date, sorted by root then date (the
        order of the series frames), NaN cells as null."""
        count, width = self.dates.len(), self.roots.len()
        return pl.DataFrame(
            {
                "root": self.roots.gather(np.repeat(np.arange(width), count)),
                "date": self.dates.alias("date").gather(np.tile(np.arange(count), width)),
                value: pl.Series(value, self.values.T.ravel()).fill_nan(None),
            }
        )

    def columns(self, roots: pl.Series, fill: float | None = np.nan) -> "Panel":
        """The panel of ``roots`` in that order: a root the panel does not have is a column of
        ``fill``, or a :class:`DataError` naming it when ``fill`` is None."""
        position = positions(self.roots, roots)
        if fill is None and (position < 0).any():
            absent = roots.filter(pl.Series(position < 0)).to_list()
            raise DataError(f"no values for roots {absent}")
        if (position >= 0).all():
            return Panel(self.dates, roots, self.values[:, position])
        values = np.where(position[None, :] >= 0, self.values[:, np.maximum(position, 0)], fill)
        return Panel(self.dates, roots, values)

    def since(self, date: dt.date) -> "Panel":
        """The rows from ``date`` on."""
        start = int(self.dates.search_sorted(date, side="left"))
        return Panel(self.dates.slice(start), self.roots, self.values[start:])

    def take(self, rows: np.ndarray | slice) -> "Panel":
        """The rows ``rows`` (positions, ascending, or a slice) of the panel."""
        index = np.arange(self.dates.len())[rows]
        return Panel(self.dates.gather(index), self.roots, self.values[index])

    def rows(self, dates: pl.Series) -> np.ndarray:
        """Row numbers of ``dates`` (each a date of the panel)."""
        return np.searchsorted(self.dates.to_physical().to_numpy(), dates.to_physical().to_numpy())

    def forward_filled(self) -> "Panel":
        """Each root's column with a missing (NaN) cell holding the root's last value above it
        (NaN before its first value)."""
        observed = ~np.isnan(self.values)
        last = np.maximum.accumulate(np.where(observed, np.arange(self.dates.len())[:, None], -1), axis=0)
        values = np.where(last >= 0, self.values[np.maximum(last, 0), np.arange(self.roots.len())], np.nan)
        return Panel(self.dates, self.roots, values)


def root_positions(roots: pl.Series, wanted: pl.Series) -> np.ndarray:
    """Position of each of ``wanted`` in the sorted ``roots`` (-1 for one not there): a binary
    search in polars, then a check that the root found is the one wanted."""
    if not roots.len():
        return np.full(wanted.len(), -1, dtype=np.int64)
    position = np.minimum(roots.search_sorted(wanted).to_numpy().astype(np.int64), roots.len() - 1)
    return np.where((roots.gather(position) == wanted).to_numpy(), position, -1)


def positions(roots: pl.Series, wanted: pl.Series) -> np.ndarray:
    """:func:`root_positions` for ``roots`` in any order."""
    if roots.is_sorted():
        return root_positions(roots, wanted)
    order = roots.arg_sort()
    found = root_positions(roots.gather(order), wanted)
    return np.where(found >= 0, order.to_numpy().astype(np.int64)[np.maximum(found, 0)], -1)


def _run_positions(root: pl.Series, roots: pl.Series) -> np.ndarray:
    """Position of each row's root in ``roots`` (-1 if absent), resolved once per run of equal
    consecutive roots (long frames come grouped by root, so a handful of lookups)."""
    runs = root.rle().struct.unnest()
    return np.repeat(positions(roots, runs.get_column("value")), runs.get_column("len").to_numpy())
