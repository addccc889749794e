"""Basket weights: inverse volatility, equal, minimum variance, maximum Sharpe, and the drift
trigger that rebalances a long-only basket between scheduled dates (base-metals basket).

Units: daily returns are fractions; volatilities are annualised (``std(daily) * sqrt(A)``, A
business days a year, a spec parameter); weights are fractions of the index notional summing to 1.

- Inverse volatility: ``w_i = (1/sigma_i) / sum_j (1/sigma_j)``.
- Equal: ``w_i = 1/n``.
- Minimum variance and maximum Sharpe under bounds: :mod:`indexcalc.rules.optimised_weights`.
- ``S`` is the Ledoit-Wolf shrunk covariance (shrinkage towards ``m * I``, ``m`` the mean sample
  variance; Ledoit and Wolf 2004, "A well-conditioned estimator for large-dimensional covariance
  matrices"), computed here in numpy.
- Drift (docs/design.md section 3: positions are fixed units between rebalances): with target ``w``
  set at the anchor (effective date) ``a``,
  ``w_i,t = w_i * (ER_i,t / ER_i,a) / sum_j w_j * (ER_j,t / ER_j,a)``; a rebalance back to the
  target is fixed at the close of the first day ``t`` with ``|w_i,t - w_i| > threshold * w_i``
  for some ``i`` (the threshold is relative to the target weight, not percentage points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from indexcalc.errors import DataError



# --- volatility and simple weights ------------------------------------------------------------


def trailing_volatility(returns: np.ndarray, ends: np.ndarray, window: int, annualisation: int) -> np.ndarray:
    """Annualised volatility of the ``window`` daily returns ending at each position of ``ends``.

    ``returns``: (days, roots) daily returns (fraction); ``ends``: positions (inclusive window
    end, each ``>= window - 1``). ``sigma = std(r, ddof=1) * sqrt(annualisation)``; shape
    (len(ends), roots).
    """
    ends = np.asarray(ends, dtype=np.int64)
    windows = sliding_window_view(returns, window, axis=0)[ends - window + 1]
    return windows.std(axis=-1, ddof=1) * np.sqrt(annualisation)


def inverse_volatility_weights(volatility: np.ndarray) -> np.ndarray:
    """``w_i = (1/sigma_i) / sum_j (1/sigma_j)`` along the last axis (any positive units)."""
    inverse = 1.0 / np.asarray(volatility, dtype=float)
    return inverse / inverse.sum(axis=-1, keepdims=True)


def inverse_volatility(volatility: pl.DataFrame) -> pl.DataFrame:
    """Frame form: ``date, root, volatility`` -> ``date, root, volatility, weight``, per date.

    A zero, negative or missing volatility cannot be inverted: DataError naming root and date.
    """
    bad = volatility.filter(pl.col("volatility").is_null() | ~(pl.col("volatility") > 0.0))
    if bad.height:
        row = bad.row(0, named=True)
        raise DataError(
            f"volatility {row['volatility']} cannot be inverted (needs a positive volatility)",
            key=f"{row['root']} {row['date']}",
        )
    inverse = 1.0 / pl.col("volatility")
    return volatility.with_columns((inverse / inverse.sum().over("date")).alias("weight"))


def equal_weights(count: int) -> np.ndarray:
    """``w_i = 1/n``."""
    return np.full(count, 1.0 / count)


# --- shrunk covariance ------------------------------------------------------------------------


def ledoit_wolf_covariance(returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ledoit-Wolf shrunk covariance of ``returns`` (..., days, roots); returns (cov, shrinkage).

    With X the demeaned returns (T days, n roots), ``S = X'X / T`` (biased sample covariance),
    ``m = trace(S) / n``, ``d2 = ||S - m I||_F^2 / n``,
    ``b2 = min(d2, (sum_t ||x_t x_t' - S||_F^2 / T^2) / n)``, shrinkage ``s = b2 / d2`` (0 if
    b2 = 0) and ``S* = (1 - s) S + s m I``. Batched over leading axes (one window per rebalance).
    Same estimator as scikit-learn's ``LedoitWolf`` (the tests use it as an oracle).
    """
    x = np.asarray(returns, dtype=float)
    days, count = x.shape[-2:]
    x = x - x.mean(axis=-2, keepdims=True)
    sample = np.swapaxes(x, -1, -2) @ x / days
    squared = x**2
    mean_variance = np.trace(sample, axis1=-2, axis2=-1) / count
    # sum_t ||x_t x_t'||^2 = sum_t (sum_i x_ti^2)^2; sum_t ||x_t x_t' - S||^2 / T^2
    # = (that / T - ||S||^2) / T.
    fourth = (squared.sum(axis=-1) ** 2).sum(axis=-1)
    sample_norm = (sample**2).sum(axis=(-2, -1))
    beta = (fourth / days - sample_norm) / (count * days)
    delta = (sample_norm - count * mean_variance**2) / count
    beta = np.minimum(beta, delta)
    shrinkage = np.divide(beta, delta, out=np.zeros_like(delta), where=delta > 0)
    identity = np.eye(count)
    shrunk = (1.0 - shrinkage)[..., None, None] * sample + (shrinkage * mean_variance)[..., None, None] * identity
    return shrunk, shrinkage


def scale_to_bounds(weights: np.ndarray, min_weight: float, max_weight: float) -> np.ndarray:
    """``w_i = clip(c * v_i, lo, hi)`` with the scale ``c`` that makes ``sum w = 1`` (exact).

    The excess above a cap (or the shortfall below a floor) is shared among the unbounded
    weights in proportion to their weights, as the cap of docs/design.md section 3. ``v >= 0`` (a
    zero stays at the floor); the bounds must admit a solution (``n * lo <= 1 <= n * hi``).
    """
    values = np.asarray(weights, dtype=float)
    # sum_i clip(c v_i, lo, hi) is piecewise linear and nondecreasing in c, with kinks where
    # some c v_i reaches a bound: find the segment that reaches 1 and solve it.
    positive = values[values > 0.0]  # a zero weight stays at the floor whatever the scale
    kinks = np.sort(np.concatenate([min_weight / positive, max_weight / positive]))
    totals = np.clip(kinks[:, None] * values, min_weight, max_weight).sum(axis=1)
    if totals[-1] < 1.0 - 1e-12 or totals[0] > 1.0 + 1e-12:
        raise ValueError(f"bounds [{min_weight}, {max_weight}] cannot sum to 1 over {len(values)} weights")
    # n * max_weight may fall short of 1 by a rounding error: then every weight is at the cap
    segment = int(np.searchsorted(totals, min(1.0, totals[-1])))
    if segment == 0:
        scale = kinks[0]
    else:
        slope = (totals[segment] - totals[segment - 1]) / (kinks[segment] - kinks[segment - 1])
        scale = kinks[segment - 1] + (1.0 - totals[segment - 1]) / slope
    return np.clip(scale * values, min_weight, max_weight)


# --- drift trigger ----------------------------------------------------------------------------


def drifted_weights(levels: np.ndarray, anchor_levels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``w_i,t = w_i (L_i,t / L_i,a) / sum_j w_j (L_j,t / L_j,a)`` for each row t of ``levels``."""
    held = weights * (levels / anchor_levels)
    return held / held.sum(axis=-1, keepdims=True)


def drift_breaches(drifted: np.ndarray, target: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: ``any_i |w_i,t - target_i| > threshold * target_i`` (relative threshold)."""
    return (np.abs(drifted - target) > threshold * target).any(axis=-1)


@dataclass(frozen=True)
class Rebalance:
    """One rebalance on the index axis: positions of the fixing and effective dates, the weights
    set (the target, which drift is measured against), and why."""

    fixing: int
    effective: int
    weights: np.ndarray
    reason: str
    drifted: np.ndarray | None = None
    """Weights the basket had drifted to at the close of the fixing date (None on the first)."""


def rebalance_with_drift(
    levels: np.ndarray, scheduled: Sequence[Rebalance], threshold: float | None, lag: int
) -> list[Rebalance]:
    """Scheduled rebalances plus the drift-triggered ones, in order (module docstring).

    ``levels``: (days, roots) excess-return levels on the index axis; ``scheduled``: the
    monthly / re-optimisation rebalances (fixing and effective positions, sorted). Between the
    effective date ``a`` of one rebalance and the fixing date of the next scheduled one, the
    first day ``t`` whose drifted weights breach the threshold fixes a drift rebalance back to
    the same target, effective ``lag`` days later (``t + lag`` must be on the axis); the search
    then restarts from that effective date.

    The drift from the scheduled anchors is computed for every day at once; only the periods
    where it breaches the threshold are walked sequentially (a trigger moves the anchor).
    """
    days = len(levels)
    if not scheduled:
        return []
    effectives = np.array([rebalance.effective for rebalance in scheduled])
    fixings = np.array([rebalance.fixing for rebalance in scheduled])
    targets = np.stack([rebalance.weights for rebalance in scheduled])
    day = np.arange(days)
    # period k holds from the close of A_k: day t belongs to the last k with A_k < t
    period = np.searchsorted(effectives, day, side="left") - 1
    held = period >= 0
    period_or_first = np.maximum(period, 0)
    drift = drifted_weights(levels, levels[effectives[period_or_first]], targets[period_or_first])
    breached_periods: set[int] = set()
    if threshold is not None:
        next_fixing = np.append(fixings[1:], days)[period_or_first]
        breach = held & (day < next_fixing) & drift_breaches(drift, targets[period_or_first], threshold)
        breached_periods = set(np.unique(period[breach]).tolist())

    events: list[Rebalance] = []
    anchor_moved = False
    for position, rebalance in enumerate(scheduled):
        if events:
            if anchor_moved:
                # positions held at the close of the fixing date: the last rebalance effective by then
                previous = next(event for event in reversed(events) if event.effective <= rebalance.fixing)
                drifted = drifted_weights(levels[rebalance.fixing], levels[previous.effective], previous.weights)
            else:
                drifted = drift[rebalance.fixing]
            rebalance = Rebalance(rebalance.fixing, rebalance.effective, rebalance.weights, rebalance.reason, drifted)
        events.append(rebalance)
        anchor_moved = False
        if position not in breached_periods:
            continue
        stop = fixings[position + 1] if position + 1 < len(scheduled) else days
        anchor, target = rebalance.effective, rebalance.weights
        while anchor + 1 < stop:
            window = drifted_weights(levels[anchor + 1 : stop], levels[anchor], target)
            breaches = np.flatnonzero(drift_breaches(window, target, threshold))
            if not breaches.size:
                break
            fixing = anchor + 1 + int(breaches[0])
            if fixing + lag >= days:
                break
            events.append(Rebalance(fixing, fixing + lag, target, "drift", window[breaches[0]]))
            anchor, anchor_moved = fixing + lag, True
    return events
