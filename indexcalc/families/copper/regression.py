"""Rolling OLS forecast with no look-ahead (issue 8, step 2).

For each business day ``t`` (row index), the coefficients are estimated by ordinary least squares
on the complete rows ``s`` of the window ``t - window <= s <= t - 1`` (rows *before* t only)::

    y_s = alpha + sum_k beta_k * f_{k,s} + e_s
    b_t = (X'X)^{-1} X'y     over that window, X = [1, f_1, ..., f_K]

and the forecast for ``t`` uses the factors known at the close of ``t``::

    forecast_t = alpha_t + sum_k beta_{k,t} * f_{k,t}

Vectorised: the window sums of X'X and X'y are differences of cumulative sums (prefix sums over
rows, a complete row contributing its outer product, an incomplete one zero), and the K+1 x K+1
systems of all days are solved in one batched ``numpy.linalg.solve``. A window with fewer than
``min_observations`` complete rows, or whose X'X is numerically singular (condition number above
:data:`MAX_CONDITION`), has no coefficients and no forecast (null).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

MAX_CONDITION = 1e12
"""X'X with a larger condition number counts as singular (no estimate that day)."""


def rolling_coefficients(
    target: np.ndarray, regressors: np.ndarray, window: int, min_observations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(n, K+1)`` = ``[alpha, beta_1..beta_K]`` for every row t from rows
    ``[t - window, t - 1]``, and the number of complete rows used ``(n,)``.

    ``target``: ``(n,)`` dependent variable; ``regressors``: ``(n, K)`` factors; NaN marks a
    missing value (the row is left out). Rows without an estimate are NaN.
    """
    target = np.asarray(target, dtype=float)
    regressors = np.asarray(regressors, dtype=float)
    if regressors.ndim == 1:
        regressors = regressors[:, None]
    rows, _ = regressors.shape
    design = np.column_stack([np.ones(rows), regressors])
    complete = np.isfinite(target) & np.isfinite(design).all(axis=1)
    design = np.where(complete[:, None], design, 0.0)
    response = np.where(complete, target, 0.0)

    # prefix[j] = sum over rows < j, so the window [t - window, t - 1] is prefix[t] - prefix[t - window].
    def prefix(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])

    cross = prefix(design[:, :, None] * design[:, None, :])
    moment = prefix(design * response[:, None])
    count = prefix(complete.astype(float))
    end = np.arange(rows)
    start = np.maximum(end - window, 0)
    xtx = cross[end] - cross[start]
    xty = moment[end] - moment[start]
    observations = (count[end] - count[start]).round().astype(np.int64)

    coefficients = np.full((rows, design.shape[1]), np.nan)
    eligible = np.flatnonzero(observations >= min_observations)
    if eligible.size:
        condition = np.linalg.cond(xtx[eligible])
        eligible = eligible[np.isfinite(condition) & (condition < MAX_CONDITION)]
    if eligible.size:
        coefficients[eligible] = np.linalg.solve(xtx[eligible], xty[eligible][:, :, None])[:, :, 0]
    return coefficients, observations


def rolling_forecast(
    frame: pl.DataFrame,
    target: str,
    factors: Sequence[str],
    window: int,
    min_observations: int,
) -> pl.DataFrame:
    """``date, alpha, beta_<factor>..., observations, forecast`` for every row of ``frame``.

    ``frame`` has ``date``, the ``target`` column (e.g. the front-month log-return) and the
    ``factors`` columns, one row per business day; it is sorted by date here. The coefficients
    of row t use rows before t only; the forecast of t uses the factors of t (module docstring).
    Nulls where there is no estimate or a factor of t is missing.
    """
    frame = frame.sort("date")
    target_values = frame.get_column(target).cast(pl.Float64).fill_null(np.nan).to_numpy()
    factor_values = (
        frame.select(pl.col(name).cast(pl.Float64).fill_null(np.nan) for name in factors).to_numpy()
        if factors
        else np.empty((frame.height, 0))
    )
    coefficients, observations = rolling_coefficients(target_values, factor_values, window, min_observations)
    design = np.column_stack([np.ones(frame.height), factor_values])
    forecast = (coefficients * design).sum(axis=1)
    names = ["alpha", *(f"beta_{name}" for name in factors)]
    return pl.DataFrame(
        {
            "date": frame.get_column("date"),
            **{name: coefficients[:, position] for position, name in enumerate(names)},
            "observations": observations,
            "forecast": forecast,
        }
    ).with_columns(pl.col(names + ["forecast"]).fill_nan(None))
