"""ATR risk sizing, carry multiplier and regime filters of the copper strategy (issue 8, steps 3-5).

**True range from settlements.** The market data has daily settlement prices only (no highs and
lows), so the true range of day t is the absolute settle-to-settle change of the contract held
over the day (the contract held at the close of t-1, so a roll never shows up as a range)::

    TR_t = |F_{c,t} - F_{c,t-1}|                 (price units, USD/lb for HG)

This is the classic true range max(H-L, |H-C_{t-1}|, |L-C_{t-1}|) with H = L = C_t.

**Average true range** over n days, one of two documented methods:

    simple (the default):  ATR_t = (TR_{t-n+1} + ... + TR_t) / n
    wilder:                ATR_t = ATR_{t-1} + (TR_t - ATR_{t-1}) / n,
                           seeded with the simple average of the first n ranges

**Contracts** for a risk budget (fraction of equity), a stop ``stop_multiple`` ATRs away and a
carry multiplier m in [0, 1]::

    risk             = risk_budget * equity                          (USD)
    dollar_risk      = stop_multiple * ATR * multiplier               (USD per contract)
    base_contracts   = floor(risk / dollar_risk)
    contracts        = floor(base_contracts * m)

**Carry multiplier.** With the carry spread s = (F_next - F_held) / F_held (positive in contango)
and the position's direction d (+1 long, -1 short), the adverse carry is a = d * s (a long pays
contango, a short pays backwardation). With ascending breakpoints b_1 < ... < b_J and multipliers
m_0..m_J, the multiplier is m_j where j = the number of breakpoints strictly below a.

**Regime filters** (each optional): block when |ln(F_M1 / F_M2)| > spread_max, or when the short
ATR exceeds ratio_max times the long ATR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

ROUNDING_GUARD = 1e-9
"""Added before each floor so that 4.0 computed as 3.9999999999 still gives 4 contracts."""


def true_range(settle: np.ndarray, previous_settle: np.ndarray) -> np.ndarray:
    """``|F_{c,t} - F_{c,t-1}|`` of the contract held over the day (price units)."""
    return np.abs(np.asarray(settle, dtype=float) - np.asarray(previous_settle, dtype=float))


def average_true_range(ranges: np.ndarray, window: int, method: Literal["simple", "wilder"] = "simple") -> np.ndarray:
    """ATR of each day from the true ranges up to and including that day (module docstring).

    NaN until ``window`` consecutive ranges are known; a NaN range makes the simple average NaN
    for the ``window`` days that contain it, and ends the Wilder average (NaN from then on).
    """
    ranges = np.asarray(ranges, dtype=float)
    rows = ranges.size
    result = np.full(rows, np.nan)
    if rows < window:
        return result
    finite = np.isfinite(ranges)
    values = np.where(finite, ranges, 0.0)
    total = np.concatenate([[0.0], np.cumsum(values)])
    known = np.concatenate([[0], np.cumsum(finite)])
    simple = (total[window:] - total[:-window]) / window
    complete = (known[window:] - known[:-window]) == window
    simple = np.where(complete, simple, np.nan)
    if method == "simple":
        result[window - 1 :] = simple
        return result
    first_full = np.flatnonzero(complete)
    if first_full.size == 0:
        return result
    seed_end = first_full[0] + window - 1
    result[seed_end] = simple[first_full[0]]
    rest = ranges[seed_end + 1 :]
    if rest.size:
        decay = 1.0 - 1.0 / window
        from scipy.signal import lfilter  # imported here: scipy.signal takes ~1 s to import

        smoothed, _ = lfilter([1.0 / window], [1.0, -decay], rest, zi=[decay * result[seed_end]])
        result[seed_end + 1 :] = smoothed
    return result


def contracts_for_risk(
    equity: np.ndarray | float,
    atr: np.ndarray | float,
    *,
    risk_budget: float,
    stop_multiple: float,
    multiplier: float,
    carry_multiplier: np.ndarray | float = 1.0,
) -> np.ndarray:
    """``floor(floor(risk_budget * equity / (stop_multiple * ATR * multiplier)) * carry_multiplier)``.

    ``equity`` USD, ``atr`` price units, ``multiplier`` USD per price unit per contract (25,000 for
    HG in USD/lb). Returns int64 contracts (>= 0); 0 where the ATR is missing or not positive.
    """
    equity, atr, carry_multiplier = np.broadcast_arrays(
        np.asarray(equity, dtype=float), np.asarray(atr, dtype=float), np.asarray(carry_multiplier, dtype=float)
    )
    usable = np.isfinite(atr) & (atr > 0) & np.isfinite(equity) & (equity > 0) & np.isfinite(carry_multiplier)
    dollar_risk = stop_multiple * np.where(usable, atr, 1.0) * multiplier
    base = np.floor(risk_budget * np.where(usable, equity, 0.0) / dollar_risk + ROUNDING_GUARD)
    contracts = np.floor(base * np.where(usable, carry_multiplier, 0.0) + ROUNDING_GUARD)
    return np.maximum(contracts, 0.0).astype(np.int64)


def contracts_for_trade(
    equity: float,
    atr: float,
    *,
    risk_budget: float,
    stop_multiple: float,
    multiplier: float,
    carry_multiplier: float = 1.0,
) -> int:
    """:func:`contracts_for_risk` for one trade, in plain floats (the trade simulation calls it
    once per entry; a numpy call per entry would dominate its run time)."""
    if not (atr > 0.0 and equity > 0.0 and math.isfinite(atr) and math.isfinite(equity) and carry_multiplier == carry_multiplier):
        return 0
    base = math.floor(risk_budget * equity / (stop_multiple * atr * multiplier) + ROUNDING_GUARD)
    return max(math.floor(base * carry_multiplier + ROUNDING_GUARD), 0)


def carry_spread(held_settle: np.ndarray, next_settle: np.ndarray) -> np.ndarray:
    """``(F_next - F_held) / F_held``: the spread to the contract the position rolls into, as a
    fraction of the held price (positive in contango)."""
    held_settle = np.asarray(held_settle, dtype=float)
    return (np.asarray(next_settle, dtype=float) - held_settle) / held_settle


def carry_multiplier(
    direction: np.ndarray | int,
    spread: np.ndarray | float,
    thresholds: Sequence[float],
    multipliers: Sequence[float],
) -> np.ndarray:
    """Size multiplier for the position's adverse carry ``a = direction * spread``: ``m_j`` with
    j = number of ``thresholds`` strictly below a. NaN where the spread is unknown; 1 where the
    direction is 0 (no position, nothing to scale)."""
    direction, spread = np.broadcast_arrays(np.asarray(direction, dtype=float), np.asarray(spread, dtype=float))
    adverse = direction * spread
    band = np.searchsorted(np.asarray(thresholds, dtype=float), np.where(np.isfinite(adverse), adverse, 0.0), side="left")
    result = np.asarray(multipliers, dtype=float)[band]
    result = np.where(np.isfinite(spread), result, np.nan)
    return np.where(direction == 0, 1.0, result)


def regime_blocked(
    front_settle: np.ndarray,
    second_settle: np.ndarray,
    short_atr: np.ndarray,
    long_atr: np.ndarray,
    *,
    spread_max: float | None,
    volatility_ratio_max: float | None,
) -> np.ndarray:
    """True on days a regime filter blocks the signal (module docstring). A filter whose inputs
    are unknown on a day (NaN) does not block; a filter set to None is off."""
    front_settle, second_settle, short_atr, long_atr = np.broadcast_arrays(
        *(np.asarray(values, dtype=float) for values in (front_settle, second_settle, short_atr, long_atr))
    )
    blocked = np.zeros(front_settle.shape, dtype=bool)
    if spread_max is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = np.abs(np.log(front_settle / second_settle))
        blocked |= np.isfinite(deviation) & (deviation > spread_max)
    if volatility_ratio_max is not None:
        known = np.isfinite(short_atr) & np.isfinite(long_atr)
        blocked |= known & (short_atr > volatility_ratio_max * np.where(known, long_atr, 0.0))
    return blocked
