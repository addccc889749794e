"""A plain pandas implementation of the Long/Short momentum family (docs/design.md section 3).

The second peer of the benchmark suite (``benchmarks/run.py``, ``benchmarks/peers.py``) and an
oracle for the tests (``tests/test_peer_pandas_longshort.py``). It is written from the formulas
of docs/design.md section 3 and the documented conventions of the catalogue, in the style an analyst
would write it with pandas: pivots, group-bys and rolling sums, one small loop over rebalance
dates for the cap. It does not import indexcalc.

Inputs (pandas frames, the same data the indexcalc family receives):

- ``levels``: ``date, root, level``: the linked excess-return level of each root on its own
  business days (index points);
- ``prices``: ``date, root, settle, open_interest``: every contract's settlement and open
  interest (one row per date, root, contract);
- ``multipliers``: root -> contract multiplier; ``sectors``: root -> sector.

Formulas, for an index over roots i with dates t on the union of the roots' dates:

- rebalance date r = the last date of each month that has a later month on the axis; effective
  date a = the date ``lag`` axis days after r;
- trailing window of r: the daily values of the ``W`` calendar months ending with r's month,
  mean = sum of values / number of values; a root's window is full when its first date lies
  before the window's first month;
- DOI_{i,t} = sum_c OI_{c,t} * multiplier_i * F_{c,t}; m_i = avgDOI_i / sum_j avgDOI_j, capped
  (every weight above the cap set to the cap, the excess shared among the others in proportion
  to their weights, repeated until none exceeds it);
- signal_{i,r} = ER_{i,r} / mean(ER_i over the window) - 1; D = +1 above +tol, -1 below -tol,
  else the previous D (0 if none); the family maps D to a direction (energy shorts flat);
- base date = the first rebalance at which every root has full direction and magnitude windows;
- with annual reconstitution (``reconstitution_month`` set): a root is eligible at r when both
  its windows are full and 0 < avgDOI_{i,r} >= ``min_dollar_open_interest``; the chosen roots
  are the eligible ones, the ``max_roots`` largest avgDOI first (ties by name); the base date is
  the first rebalance with at least 1/cap chosen roots; the universe is the choice at the base
  date, replaced by the choice at each later rebalance in the reconstitution month, and m_i is
  normalised and capped over the current universe (0 outside it);
- W_i = m_i * direction_i held from a to the next effective date a':
  C_t = C_a * (1 + sum_i W_i * (ER_{i,t} / ER_{i,a} - 1)) for a < t <= a'; C = base value
  from the base date to the first effective date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

FAMILIES = ("long_short", "long_flat", "short_flat", "long_only", "short_only")


@dataclass(frozen=True)
class LongShortParameters:
    """The spec fields the family uses (defaults: the headline catalogue indexes)."""

    cap: float = 0.10
    direction_window_months: int = 12
    magnitude_window_months: int = 12
    implementation_lag: int = 1
    flat_short_sectors: tuple[str, ...] = ("energy",)
    tie_tolerance: float = 1e-12
    base_value: float = 1000.0
    reconstitution_month: int | None = None
    min_dollar_open_interest: float = 0.0
    max_roots: int | None = None


def family_direction(momentum: pd.DataFrame, family: str, flat_short: pd.Series) -> pd.DataFrame:
    """Direction held by ``family`` for D (rows rebalances, columns roots); ``flat_short`` is a
    boolean per root (its sector's shorts are flat)."""
    long_side = (momentum > 0).astype(float)
    short_side = (momentum < 0).astype(float)
    flat = flat_short.reindex(momentum.columns).to_numpy()
    if family == "long_short":
        return long_side - short_side * (~flat)
    if family == "long_flat":
        return long_side
    if family == "short_flat":
        return -short_side * (~flat)
    if family == "long_only":
        return momentum * 0.0 + 1.0
    if family == "short_only":
        return momentum * 0.0 - 1.0
    raise ValueError(f"unknown family {family!r}")


def cap_row(weights: np.ndarray, cap: float) -> np.ndarray:
    """Normalise one rebalance's weights to sum 1, then cap them by proportional redistribution."""
    weights = weights / weights.sum()
    capped = np.zeros(weights.size, dtype=bool)
    while True:
        over = (weights > cap) & ~capped
        if not over.any():
            return weights
        capped |= over
        free = weights[~capped].sum()
        weights = np.where(capped, cap, weights * (1.0 - cap * capped.sum()) / free)


def monthly_window_mean(daily: pd.DataFrame, window_months: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per calendar month (rows, month periods) and root (columns): the mean of the daily values
    of the ``window_months`` months ending with it, and whether the root's history covers them.

    ``daily``: ``date, root, value`` on each root's own dates."""
    frame = daily.assign(month=daily["date"].dt.to_period("M"))
    sums = frame.pivot_table(index="month", columns="root", values="value", aggfunc="sum", fill_value=0.0)
    counts = frame.pivot_table(index="month", columns="root", values="value", aggfunc="count", fill_value=0)
    months = pd.period_range(sums.index.min(), sums.index.max(), freq="M")
    sums = sums.reindex(months, fill_value=0.0)
    counts = counts.reindex(months, fill_value=0)
    mean = sums.rolling(window_months, min_periods=1).sum() / counts.rolling(window_months, min_periods=1).sum()
    first_month = frame.groupby("root")["date"].min().dt.to_period("M")
    window_start = pd.Series(months - (window_months - 1), index=months)
    # first date before the window's first month <=> first month before it
    full = pd.DataFrame(
        {root: window_start > first for root, first in first_month.items()}, index=months
    )[sums.columns]
    return mean, full


def long_short_levels(
    levels: pd.DataFrame,
    prices: pd.DataFrame,
    multipliers: Mapping[str, float],
    sectors: Mapping[str, str],
    roots: Sequence[str],
    families: Sequence[str] = FAMILIES,
    parameters: LongShortParameters = LongShortParameters(),
) -> dict[str, pd.DataFrame]:
    """Excess-return levels ``date, level`` of each family over ``roots`` (module docstring)."""
    roots = sorted(roots)
    levels = levels[levels["root"].isin(roots)]
    wide = levels.pivot(index="date", columns="root", values="level").sort_index()[roots].ffill()
    axis = wide.index

    # rebalance dates: last axis date of each complete month; effective date lag days later
    month_of_axis = pd.Series(axis.to_period("M"), index=axis)
    is_last = month_of_axis != month_of_axis.shift(-1)
    is_last.iloc[-1] = False
    position = np.flatnonzero(is_last.to_numpy())
    position = position[position + parameters.implementation_lag < len(axis)]
    rebalances = axis[position]
    effective = axis[position + parameters.implementation_lag]
    months = rebalances.to_period("M")

    direction_mean, direction_full = monthly_window_mean(
        levels.rename(columns={"level": "value"}), parameters.direction_window_months
    )
    contracts = prices[prices["root"].isin(roots)]
    dollar_oi = (
        (contracts["open_interest"] * contracts["settle"])
        .groupby([contracts["date"], contracts["root"]])
        .sum()
        .rename("value")
        .reset_index()
    )
    dollar_oi["value"] *= dollar_oi["root"].map(multipliers)
    magnitude_mean, magnitude_full = monthly_window_mean(dollar_oi, parameters.magnitude_window_months)

    signal = wide.loc[rebalances].to_numpy() / direction_mean.reindex(months)[roots].to_numpy() - 1.0
    signal = pd.DataFrame(signal, index=rebalances, columns=roots)
    full = direction_full.reindex(months, fill_value=False)[roots].set_axis(rebalances)
    magnitude_ok = magnitude_full.reindex(months, fill_value=False)[roots].set_axis(rebalances)
    tolerance = parameters.tie_tolerance
    decided = pd.DataFrame(
        np.select([signal > tolerance, signal < -tolerance], [1.0, -1.0], np.nan), index=rebalances, columns=roots
    )
    momentum = decided.where(full).ffill().fillna(0.0).where(full)

    all_averages = magnitude_mean.reindex(months)[roots].set_axis(rebalances)
    if parameters.reconstitution_month is None:
        complete = (full & magnitude_ok).all(axis=1)
        if not complete.any():
            raise ValueError("no rebalance date has full windows for every root")
        base_date = complete.idxmax()
    else:
        chosen = _chosen_roots(all_averages, full & magnitude_ok, parameters)
        viable = chosen.sum(axis=1) * parameters.cap >= 1.0 - 1e-12
        if not viable.any():
            raise ValueError("no rebalance date has enough eligible roots for the cap")
        base_date = viable.idxmax()
    keep = rebalances >= base_date
    rebalances, effective, months, momentum = rebalances[keep], effective[keep], months[keep], momentum[keep]

    averages = all_averages.loc[rebalances].to_numpy()
    if parameters.reconstitution_month is not None:
        chosen = chosen.loc[rebalances]
        selection = (rebalances == base_date) | (rebalances.month == parameters.reconstitution_month)
        for date in rebalances[selection]:
            if chosen.loc[date].sum() * parameters.cap < 1.0 - 1e-12:
                raise ValueError(f"reconstitution on {date.date()}: too few roots for the cap")
        universe = chosen.astype(float).where(np.broadcast_to(np.asarray(selection)[:, None], chosen.shape)).ffill() > 0
        averages = np.where(universe.to_numpy(), averages, 0.0)
    magnitude = np.vstack([cap_row(row, parameters.cap) for row in averages])

    flat_short = pd.Series({root: sectors[root] in parameters.flat_short_sectors for root in roots})
    dates = axis[axis >= base_date]
    # the holding period of each date: the last effective date strictly before it (-1: none yet)
    period = pd.Series(np.searchsorted(effective, dates, side="left") - 1, index=dates)
    held = period[period >= 0]
    periods = held.to_numpy()
    ratio = wide.loc[held.index] / wide.loc[effective].iloc[periods].set_axis(held.index) - 1.0
    closes_period = pd.Series(dates, index=dates).isin(effective[1:])
    results: dict[str, pd.DataFrame] = {}
    for family in families:
        weights = pd.DataFrame(magnitude, index=effective, columns=roots) * family_direction(
            momentum, family, flat_short
        ).to_numpy()
        # outside a reconstituted universe the magnitude is 0 (its D may be undefined)
        weights = weights.where(magnitude != 0.0, 0.0)
        held_weights = weights.iloc[periods].set_axis(held.index)
        period_return = (held_weights * ratio).where(held_weights != 0.0, 0.0).sum(axis=1)
        # C at each effective date after the first: the previous one times the closing return
        closing = 1.0 + period_return[closes_period[held.index]]
        anchor_level = parameters.base_value * pd.Series(
            np.concatenate(([1.0], closing.cumprod().to_numpy()))
        )
        level = pd.Series(parameters.base_value, index=dates)
        level.loc[held.index] = anchor_level.iloc[periods].to_numpy() * (1.0 + period_return)
        results[family] = level.rename("level").rename_axis("date").reset_index()
    return results


def _chosen_roots(averages: pd.DataFrame, full: pd.DataFrame, parameters: LongShortParameters) -> pd.DataFrame:
    """Per rebalance (rows) and root: whether a reconstitution on that date would choose it."""
    eligible = full & (averages > 0) & (averages >= parameters.min_dollar_open_interest)
    chosen = pd.DataFrame(False, index=averages.index, columns=averages.columns)
    for date in averages.index:
        candidates = sorted(
            (root for root in averages.columns if eligible.at[date, root]),
            key=lambda root: (-averages.at[date, root], root),
        )
        chosen.loc[date, candidates[: parameters.max_roots]] = True
    return chosen
