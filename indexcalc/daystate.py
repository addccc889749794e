"""The daily run's stored state: continuing the composite indexes from their last date
(docs/design.md section 7, "the daily run for D appends D's levels from stored state").

Between two effective dates a composite index (the momentum family, the carry baskets, the
base-metals baskets; :mod:`indexcalc.composite`) holds fixed positions, so its level on its
next index date t after its last date s follows from numbers fixed at the anchor ``a`` (the
last effective date) and the day's series alone::

    ER_{i,t} = ER_{i,s_i} * (1 + ER_ret_{i,t})      root i priced on t (s_i its last series date)
    ER_{i,t} = ER_{i,s_i}                           root i not priced on t (its exchange closed)
    C_t      = C_a * (1 + sum_i W_i * (ER_{i,t} / ER_{i,a} - 1))
    CTR_t    = CTR_s * (C_t / C_s + TBR_(s,t])       (total return)

with ``ER_ret`` from the series of a short window of prices (:data:`WINDOW_DAYS`; the roll
schedule at a close depends only on its own and the previous month's business days) and
``TBR_(s,t]`` the collateral return accrued over the collateral dates in ``(s, t]``. These are
the expressions of the full calculation in the same order (:func:`indexcalc.composite.contributions`,
:func:`~indexcalc.composite.continued_excess_levels`,
:func:`~indexcalc.composite.continued_total_level`; the linked series and the total-return
levels are multiplied in sequence from their base), so a continued level equals the full
calculation's to the bit.

**State** (:class:`DayState`, built by :func:`state_from_calculation` from a full
calculation, advanced by :func:`continue_day`): its date (``as_of``, the last published date),
the input hash of the data up to it, the disruption policy, a fingerprint of the instruments and
the code (:func:`reference_fingerprint`); per index (:class:`IndexState`) the
anchor date and level, the weights and the anchor ER levels, its last date with its excess-
return and published levels, its axis roots; per roll rule and root the last series date and
ER level.

**When the state cannot continue** (:class:`Discontinued`; the daily run then computes the
whole history, which is always correct):

- D is after an index's ``valid_through``. Rebalances are fixed at month-ends and recognised
  only once a date of the next month is on the axis (:func:`indexcalc.rules.calendar.rebalance_dates`),
  so positions can change only in a new month: ``valid_through`` is the last calendar day of the
  state's month when the anchor is in that month, and the state's date itself (no continuation)
  when the anchor is older (a rebalance fixed at the last month-end is not effective yet).
- A drift trigger (base metals): the weights drifted to on D breach the threshold (that fixes a
  rebalance); an index whose weights breached on a date after its anchor has a drift rebalance
  pending and is not continued.
- A root has a series row between its last date and D (a date the run calendar lacks), or the
  window's series cannot be built (say a price to carry forward lies before the window). A price
  carried forward inside the window is the one the full calculation carries: the contract's
  last settle on or before the day, and the window holds every day up to D.
- An index of the calculation is not a composite with an anchor yet, unless it builds its own
  curve (the copper strategy, recomputed in full every day: its position is path-dependent daily).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from indexcalc.composite import (
    accrued_collateral,
    continued_excess_levels,
    continued_total_level,
    contributions,
    root_positions,
)
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError
from indexcalc.ledger import methodology_version
from indexcalc.families.registry import FAMILIES
from indexcalc.pipeline import Calculation, roll_rule_for, rule_key
from indexcalc.rules.weights import drift_breaches, drifted_weights
from indexcalc.specs import IndexSpecBase

WINDOW_DAYS = 120
"""Calendar days of prices before the state's date from which the day's series are built (from
the first of that month, and at least back to every root's and index's last date)."""

DAY_LEVEL_SCHEMA: dict[str, pl.DataType] = {
    "index_id": pl.String(),
    "date": pl.Date(),
    "level": pl.Float64(),
    "daily_return": pl.Float64(),
}


class Discontinued(Exception):
    """The state cannot continue to the day (the reason is the message): compute in full."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")


class SeriesState(_Frozen):
    """Per root of one roll rule's series (sorted roots): its last series date and its linked
    excess-return level then."""

    roots: tuple[str, ...]
    dates: tuple[dt.date, ...]
    levels: tuple[float, ...]


class IndexState(_Frozen):
    """What continues one composite index (module docstring)."""

    methodology: str
    """:func:`indexcalc.ledger.methodology_version` of the spec the state was computed with."""
    rule: str
    """The roll rule of its series (:func:`indexcalc.pipeline.rule_key`)."""
    axis_roots: tuple[str, ...]
    roots: tuple[str, ...]
    """The composite's columns (every root ever weighted, sorted), in the calculation's order."""
    weights: tuple[float, ...]
    """``W_i`` of the period opened at ``anchor_date`` (0 for a root without a weight)."""
    anchor_er: tuple[float, ...]
    """``ER_{i,a}`` on the root's index axis (forward-filled)."""
    anchor_date: dt.date
    anchor_level: float
    """``C_a``: the excess-return composite level on the anchor date."""
    last_date: dt.date
    last_excess: float
    """``C_s`` on the index's last date."""
    last_level: float
    """The published level on the last date (``C_s``, or ``CTR_s`` for total return)."""
    total_return: bool
    drift_threshold: float | None
    valid_through: dt.date


class DayState(_Frozen):
    """The stored state of the daily run as of ``as_of`` (module docstring)."""

    as_of: dt.date
    input_hash: str
    disruption: str
    reference: str
    """:func:`reference_fingerprint` of the instruments and code the state was computed with."""
    series: dict[str, SeriesState]
    """Per roll rule (:func:`indexcalc.pipeline.rule_key`)."""
    indexes: dict[str, IndexState]


# --- building the state from a full calculation ---------------------------------------------------


def reference_fingerprint(market: MarketData) -> str:
    """SHA-256 (hex, 16 characters) of the package version, the instrument definitions and the
    market's exchange sessions (``market.sessions``, loaded at the edge): what the calculation
    depends on besides the specs and the dated market frames (a changed multiplier or hold
    cycle, or another calendar, moves the series, so a state computed before cannot continue).
    The sessions enter as ``sessions:<SHA-256 of each calendar code and its day numbers>``."""
    from indexcalc import __version__

    instruments = [market.instruments[root].model_dump_json() for root in sorted(market.instruments)]
    parts = [__version__, *instruments]
    if market.sessions is not None:
        parts.append(f"sessions:{_sessions_digest(market.sessions)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _sessions_digest(sessions: pl.DataFrame) -> str:
    """SHA-256 (hex) of ``calendar, date`` sorted: each code, then its days as int32 numbers."""
    digest = hashlib.sha256()
    for (code,), days in sessions.sort("calendar", "date").group_by("calendar", maintain_order=True):
        digest.update(f"{code}:{days.height}".encode())
        digest.update(days.get_column("date").to_physical().cast(pl.Int32).to_numpy().astype("<i4").tobytes())
    return digest.hexdigest()



@dataclass(frozen=True)
class _History:
    """A rule's series up to the state's date as sorted (root, day) keys: ``levels[k]`` is the
    ER level of root ``roots[k // KEY]`` on day ``k % KEY`` (day numbers since 1970)."""

    roots: pl.Series
    keys: np.ndarray
    levels: np.ndarray

    @classmethod
    def of(cls, series: pl.DataFrame, as_of: dt.date) -> "_History":
        frame = series.filter(pl.col("date") <= as_of).select("root", "date", "level").sort("root", "date")
        roots = frame.get_column("root").unique().sort()
        codes = roots.search_sorted(frame.get_column("root")).to_numpy().astype(np.int64)
        keys = codes * _KEY + frame.get_column("date").to_physical().to_numpy().astype(np.int64)
        return cls(roots, keys, frame.get_column("level").to_numpy())

    def codes(self, roots: Sequence[str]) -> np.ndarray:
        """Positions of ``roots`` in the history's roots (-1 for a root it lacks)."""
        return root_positions(self.roots, pl.Series(list(roots), dtype=pl.String))

    def level_on(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The level of each root code on or before each day (broadcast; NaN before a root's
        first level or for code -1): the aligned (forward-filled) level of the index axis."""
        codes, days = np.broadcast_arrays(codes, days)
        row = np.searchsorted(self.keys, codes * _KEY + days, side="right") - 1
        found = (codes >= 0) & (row >= 0) & (self.keys[np.maximum(row, 0)] // _KEY == codes)
        return np.where(found, self.levels[np.maximum(row, 0)], np.nan)

    def last(self) -> SeriesState:
        """Each root's last date and level."""
        ends = np.flatnonzero(np.append(np.diff(self.keys // _KEY) != 0, True)) if self.keys.size else np.zeros(0, int)
        return SeriesState(
            roots=tuple(self.roots.to_list()),
            dates=tuple((self.keys[ends] % _KEY).astype("datetime64[D]").tolist()),
            levels=tuple(self.levels[ends].tolist()),
        )

    def days_between(self, codes: np.ndarray, first: dt.date, last: dt.date) -> np.ndarray:
        """The sorted days in ``(first, last]`` on which one of the roots ``codes`` has a level."""
        wanted = np.isin(self.keys // _KEY, codes[codes >= 0])
        days = self.keys[wanted] % _KEY
        return np.unique(days[(days > _day(first)) & (days <= _day(last))])


_KEY = 1 << 32
"""Day numbers are below it: ``root code * _KEY + day`` orders by root, then day."""


def _day(date: dt.date) -> int:
    return (date - _EPOCH).days


_EPOCH = dt.date(1970, 1, 1)


def _month_end(date: dt.date) -> dt.date:
    return date.replace(day=calendar.monthrange(date.year, date.month)[1])


def index_state(
    spec: IndexSpecBase,
    calculation: Calculation,
    market: MarketData,
    as_of: dt.date,
    histories: dict[str, _History],
) -> IndexState | None:
    """The state of one composite index of ``calculation`` as of ``as_of`` (None when it is not
    a composite or has no anchor yet)."""
    result = calculation.results[spec.id]
    if not result.axis_roots or result.weights.is_empty():
        return None
    key = rule_key(spec, market)
    history = histories[key]
    weights = result.weights.select("effective_date", "root", "weight")
    anchor = weights.get_column("effective_date").max()
    roots = weights.get_column("root").unique().sort()
    current = weights.filter(pl.col("effective_date") == anchor)
    vector = np.zeros(roots.len())
    vector[roots.search_sorted(current.get_column("root")).to_numpy()] = current.get_column("weight").to_numpy()
    codes = history.codes(roots.to_list())
    anchor_er = history.level_on(codes, np.int64(_day(anchor)))
    excess = result.excess if result.excess is not None else result.levels
    anchor_level = excess.filter(pl.col("date") == anchor).get_column("level")
    if anchor_level.len() != 1 or np.isnan(anchor_er[vector != 0.0]).any():
        return None
    threshold = getattr(spec, "drift_threshold", None)
    valid_through = _month_end(as_of) if (anchor.year, anchor.month) == (as_of.year, as_of.month) else as_of
    last_date = result.levels.item(-1, "date")
    if threshold is not None:
        # a breach on an axis date after the anchor fixed a drift rebalance not yet effective
        days = history.days_between(history.codes(result.axis_roots), anchor, last_date)
        drifted = drifted_weights(history.level_on(codes[None, :], days[:, None]), anchor_er, vector)
        if days.size and drift_breaches(drifted, vector, threshold).any():
            valid_through = as_of
    return IndexState(
        methodology=methodology_version(spec),
        rule=key,
        axis_roots=tuple(result.axis_roots),
        roots=tuple(roots.to_list()),
        weights=tuple(vector.tolist()),
        anchor_er=tuple(anchor_er.tolist()),
        anchor_date=anchor,
        anchor_level=float(anchor_level.item()),
        last_date=last_date,
        last_excess=float(excess.item(-1, "level")),
        last_level=float(result.levels.item(-1, "level")),
        total_return=result.excess is not None,
        drift_threshold=threshold,
        valid_through=valid_through,
    )


def state_from_calculation(
    calculation: Calculation,
    specs: Sequence[IndexSpecBase],
    market: MarketData,
    as_of: dt.date,
    input_hash: str,
    disruption: str,
) -> DayState:
    """The state as of ``as_of`` of a full calculation on ``market`` (the data up to ``as_of``,
    whose :func:`indexcalc.ledger.input_hash` is ``input_hash``)."""
    histories = {key: _History.of(series, as_of) for key, series in calculation.series.items()}
    indexes = {}
    for spec in specs:
        state = index_state(spec, calculation, market, as_of, histories)
        if state is not None:
            indexes[spec.id] = state
    used_rules = {state.rule for state in indexes.values()}
    series = {key: history.last() for key, history in histories.items() if key in used_rules}
    return DayState(as_of=as_of, input_hash=input_hash, disruption=disruption,
                    reference=reference_fingerprint(market), series=series, indexes=indexes)


# --- continuing the state one day ------------------------------------------------------------------


def continued_specs(state: DayState, specs: Sequence[IndexSpecBase]) -> tuple[list[IndexSpecBase], list[IndexSpecBase]]:
    """Split ``specs`` into those the state continues and those computed in full every day
    (own-curve kinds); raises :class:`Discontinued` when another spec has no state."""
    continued, full = [], []
    for spec in specs:
        if spec.id in state.indexes:
            continued.append(spec)
        elif FAMILIES.of(spec).own_curve:
            full.append(spec)
        else:
            raise Discontinued(f"{spec.id} has no stored state (no anchor yet, or not in the last calculation)")
    return continued, full


def _window(market: MarketData, start: dt.date, date: dt.date) -> MarketData:
    inside = pl.col("date").is_between(start, date)
    return replace(
        market,
        prices=market.prices.filter(inside),
        held=None if market.held is None else market.held.filter(inside),
    )


def _day_series(
    state: DayState, market: MarketData, specs: Sequence[IndexSpecBase], date: dt.date, start: dt.date
) -> dict[str, tuple[SeriesState, np.ndarray]]:
    """Per rule: the series state after ``date`` (a root priced on ``date`` moves on by its
    day's ER return, ``ER_{i,D} = ER_{i,s_i} (1 + ER_ret_{i,D})``; the others keep theirs) and
    which of its roots are priced on ``date``."""
    from indexcalc.series import build_series

    rules = {rule_key(spec, market): roll_rule_for(spec, market) for spec in specs}
    window = _window(market, start, date)
    advanced: dict[str, tuple[SeriesState, np.ndarray]] = {}
    for key, last in state.series.items():
        if key not in rules:
            continue  # no index of the run uses it
        try:
            frame = build_series(window, rules[key], roots=list(last.roots), disruption=state.disruption)
        except DataError as error:  # the full calculation reports it if it is not an edge of the window
            raise Discontinued(f"the window's series: {error}") from None
        roots = pl.Series(last.roots, dtype=pl.String)
        codes = roots.search_sorted(frame.get_column("root")).to_numpy()
        days = frame.get_column("date").to_physical().to_numpy()
        last_days = np.array(last.dates, dtype="datetime64[D]").astype(np.int64)
        new = days > last_days[codes]
        if (new & (days != _day(date))).any():
            row = int(np.flatnonzero(new & (days != _day(date)))[0])
            raise Discontinued(f"{frame.item(row, 'root')} has a series row on {frame.item(row, 'date')}, "
                               f"between its last date and {date}")
        levels = np.array(last.levels)
        moved = codes[new]
        levels[moved] = levels[moved] * (1.0 + frame.get_column("daily_return").to_numpy()[new])
        priced = np.zeros(len(last.roots), dtype=bool)
        priced[moved] = True
        dates = np.where(priced, _day(date), last_days).astype("datetime64[D]")
        advanced[key] = (SeriesState(roots=last.roots, dates=tuple(dates.tolist()), levels=tuple(levels.tolist())),
                         priced)
    return advanced


def continue_day(
    state: DayState, market: MarketData, specs: Sequence[IndexSpecBase], date: dt.date
) -> tuple[pl.DataFrame, DayState]:
    """``index_id, date, level, daily_return`` on ``date`` of every index of ``state`` whose axis
    has ``date`` (module docstring), and the state as of ``date`` (its input hash is left for the
    caller to set). ``market``: the data up to ``date``; ``specs``: the specs to continue (each
    needs a state; the state's other indexes are left out of the result and the new state).
    Raises :class:`Discontinued` when the state cannot continue to ``date``."""
    from indexcalc.collateral import collateral_returns

    if date <= state.as_of:
        raise Discontinued(f"{date} is not after the state's date {state.as_of}")
    wanted = {spec.id for spec in specs}
    missing = sorted(wanted - set(state.indexes))
    if missing:
        raise Discontinued(f"{missing[0]} has no stored state")
    # indexes no longer in the run leave the state
    state = state.model_copy(update={"indexes": {key: value for key, value in state.indexes.items() if key in wanted}})
    expired = [index_id for index_id, index in state.indexes.items() if date > index.valid_through]
    if expired:
        raise Discontinued(f"a rebalance may change the positions of {expired[0]} (new month or pending rebalance)")
    last_dates = [day for series in state.series.values() for day in series.dates]
    last_dates += [index.last_date for index in state.indexes.values()]
    # from the first of a month: a root's business days are counted from its first date in a month
    start = min([state.as_of - dt.timedelta(days=WINDOW_DAYS), *last_dates]).replace(day=1)
    series = _day_series(state, market, specs, date, start)
    dates = market.prices.filter(pl.col("date").is_between(start, date)).get_column("date").unique().sort()
    collateral = collateral_returns(market.rates, dates)
    rows: list[tuple[str, dt.date, float, float]] = []
    indexes: dict[str, IndexState] = {}
    for index_id, index in state.indexes.items():  # a loop over indexes; each step is on arrays of roots
        rule_series, priced = series[index.rule]
        series_roots = pl.Series(rule_series.roots, dtype=pl.String)
        axis = root_positions(series_roots, pl.Series(index.axis_roots, dtype=pl.String))
        if not priced[axis[axis >= 0]].any():
            indexes[index_id] = index  # not an index date: nothing moves
            continue
        columns = root_positions(series_roots, pl.Series(index.roots, dtype=pl.String))
        er = np.where(columns >= 0, np.array(rule_series.levels)[np.maximum(columns, 0)], np.nan)
        weights, anchor_er = np.array(index.weights), np.array(index.anchor_er)
        if index.drift_threshold is not None and drift_breaches(
            drifted_weights(er, anchor_er, weights), weights, index.drift_threshold
        ):
            raise Discontinued(f"the weights of {index_id} drift past the threshold on {date}")
        period_return = contributions(weights[None, :], anchor_er[None, :], er[None, :]).sum(axis=1)
        excess = float(continued_excess_levels(index.anchor_level, period_return)[0])
        level = excess
        if index.total_return:
            accruing = collateral.filter(pl.col("date").is_between(index.last_date, date, closed="right"))
            returns = accruing.get_column("collateral_return").drop_nulls().to_numpy()
            if not accruing.height or returns.size != accruing.height:
                raise Discontinued(f"no collateral return for {index_id} between {index.last_date} and {date}")
            level = continued_total_level(index.last_level, index.last_excess, excess, accrued_collateral(returns))
        if not np.isfinite(level):
            raise Discontinued(f"{index_id} has no finite level on {date}")
        rows.append((index_id, date, level, level / index.last_level - 1.0))
        indexes[index_id] = index.model_copy(update={"last_date": date, "last_excess": excess, "last_level": level})
    levels = pl.DataFrame(rows, schema=DAY_LEVEL_SCHEMA, orient="row")
    used = {index.rule for index in indexes.values()}
    return levels, DayState(
        as_of=date, input_hash="", disruption=state.disruption, reference=state.reference,
        series={key: advanced for key, (advanced, _) in series.items() if key in used}, indexes=indexes,
    )
