"""Basket weights: inverse volatility, equal, minimum variance, maximum Sharpe, and the drift
trigger that rebalances a long-only basket between scheduled dates (base-metals basket).

Units: daily returns are fractions; volatilities are annualised (``std(daily) * sqrt(A)``, A
business days a year, a spec parameter); weights are fractions of the index notional summing to 1.

- Inverse volatility: ``w_i = (1/sigma_i) / sum_j (1/sigma_j)``.
- Equal: ``w_i = 1/n``.
- Minimum variance: ``min_w w' S w`` subject to ``sum w = 1``, ``lo <= w_i <= hi``.
- Maximum Sharpe: ``max_w (w' mu) / sqrt(w' S w)`` subject to the same constraints; ``mu`` the
  trailing mean daily excess return (the roots' returns are excess returns already). When no
  bounded portfolio has a positive expected return, the minimum-variance weights.
- Optimiser answers are the exact solution of the KKT system on the optimum's active set (the
  roots on a bound), confirmed by the KKT conditions (sufficient: both are convex problems,
  max-Sharpe after the change of variables ``w = y / k``). The active set is the previous
  re-optimisation's, or a change of it in one or two roots, when one of those is confirmed
  (one batched linear solve), and otherwise the one scipy's SLSQP converges to.
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
from typing import Iterator, Sequence

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from indexcalc.errors import DataError

SOLVER_TOLERANCE = 1e-12
"""SLSQP ``ftol`` on the normalised objective (the covariance is scaled to unit mean variance)."""
SOLVER_MAX_ITERATIONS = 500
ACTIVE_TOLERANCE = 1e-7
"""A solver weight this close to a bound is taken to sit on it (the active set)."""
KKT_TOLERANCE = 1e-10
"""Slack allowed in the KKT checks (multiplier signs, bounds) on the normalised problem."""


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


# --- optimisers -------------------------------------------------------------------------------


def _solve(
    objective, gradient, count: int, min_weight: float, max_weight: float, what: str, start: np.ndarray | None
) -> tuple[np.ndarray, object]:
    """SLSQP on ``sum w = 1`` and the bounds: the (clipped, renormalised) weights and scipy's result."""
    constraint = {"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(count)}
    from scipy.optimize import minimize  # imported here: scipy.optimize takes ~0.9 s to import

    result = minimize(
        objective,
        np.full(count, 1.0 / count) if start is None else start,
        jac=gradient,
        method="SLSQP",
        bounds=[(min_weight, max_weight)] * count,
        constraints=[constraint],
        options={"ftol": SOLVER_TOLERANCE, "maxiter": SOLVER_MAX_ITERATIONS},
    )
    if not np.all(np.isfinite(result.x)):
        raise DataError(f"{what} optimisation failed: {result.message}")
    weights = np.clip(result.x, min_weight, max_weight)
    return weights / weights.sum(), result


def _polished(weights: np.ndarray, result, exact: np.ndarray | None, what: str) -> np.ndarray:
    """The KKT-confirmed weights on SLSQP's active set; SLSQP's own weights if that active set
    is not confirmed but SLSQP converged; an error if neither."""
    if exact is not None:
        return exact
    if not result.success:
        raise DataError(f"{what} optimisation failed: {result.message}")
    return weights


def _normalised(covariance: np.ndarray, what: str) -> np.ndarray:
    covariance = np.asarray(covariance, dtype=float)
    if not np.all(np.isfinite(covariance)):
        raise DataError(f"{what}: covariance has missing or infinite values")
    scale = np.mean(np.diag(covariance))
    if not scale > 0:
        raise DataError(f"{what}: covariance has no variance (prices did not move)")
    return covariance / scale


FREE, LOWER, UPPER = 0, 1, 2
"""States of a weight in an active set: strictly inside its bounds, on the floor, on the cap."""


def bound_states(weights: np.ndarray, min_weight: float, max_weight: float) -> np.ndarray:
    """The active set of ``weights``: LOWER / UPPER where a weight is within ACTIVE_TOLERANCE of
    its floor / cap, FREE elsewhere."""
    states = np.full(len(weights), FREE)
    states[weights >= max_weight - ACTIVE_TOLERANCE] = UPPER
    states[weights <= min_weight + ACTIVE_TOLERANCE] = LOWER
    return states


def neighbour_states(states: np.ndarray) -> Iterator[np.ndarray]:
    """Candidate active sets near ``states``, in two batches (the second built only if asked
    for): ``states`` itself and every active set differing from it in one root (1 + 2n rows),
    then those differing in two roots (4 n(n-1)/2 rows)."""
    count = len(states)
    shifts = np.array([1, 2])
    roots = np.arange(count).repeat(2)
    single = np.tile(states, (2 * count + 1, 1))
    single[np.arange(1, 2 * count + 1), roots] = (states[roots] + np.tile(shifts, count)) % 3
    yield single
    first, second = np.triu_indices(count, k=1)
    first, second = first.repeat(4), second.repeat(4)
    double = np.tile(states, (len(first), 1))
    rows = np.arange(len(first))
    double[rows, first] = (states[first] + np.tile(shifts.repeat(2), len(first) // 4)) % 3
    double[rows, second] = (states[second] + np.tile(shifts, len(first) // 2)) % 3
    yield double


def _kkt_points(
    hessian: np.ndarray,
    equalities: np.ndarray,
    equality_values: np.ndarray,
    inequalities: np.ndarray,
    inequality_values: np.ndarray,
    active: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``active`` (candidates x inequalities, bool): the minimiser of
    ``x' H x / 2`` s.t. ``E x = e`` and the active inequalities ``G x >= g`` held as equalities,
    and whether the multipliers confirm it.

    Solves ``[[H, A'], [A, 0]] [x; nu] = [0; b]`` with ``A = [E; G_active]``, batched: an
    inactive inequality keeps a zero row and ``nu_j = 0``. Stationarity reads
    ``H x = -A' nu``, so the multiplier of an active inequality is ``-nu_j``, which must be
    ``>= 0``. Candidates whose system is singular are reported not confirmed.
    """
    size, equality_count, inequality_count = len(hessian), len(equalities), len(inequalities)
    total = size + equality_count + inequality_count
    candidates = len(active)
    mask = active.astype(float)
    system = np.zeros((candidates, total, total))
    system[:, :size, :size] = hessian
    system[:, :size, size : size + equality_count] = equalities.T
    system[:, size : size + equality_count, :size] = equalities
    system[:, :size, size + equality_count :] = inequalities.T[None, :, :] * mask[:, None, :]
    system[:, size + equality_count :, :size] = inequalities[None, :, :] * mask[:, :, None]
    inactive = np.arange(inequality_count)
    system[:, size + equality_count + inactive, size + equality_count + inactive] = 1.0 - mask
    right = np.zeros((candidates, total))
    right[:, size : size + equality_count] = equality_values
    right[:, size + equality_count :] = inequality_values * mask
    # an active set with more constraints than unknowns cannot be solved: leave it out
    solvable = equality_count + active.sum(axis=1) <= size
    solutions = np.full((candidates, total), np.nan)
    rows = np.flatnonzero(solvable)
    try:
        solutions[rows] = np.linalg.solve(system[rows], right[rows][..., None])[..., 0]
    except np.linalg.LinAlgError:
        # one singular candidate fails the whole batch: solve them one by one
        for row in rows:
            try:
                solutions[row] = np.linalg.solve(system[row], right[row])
            except np.linalg.LinAlgError:
                continue
    multipliers = solutions[:, size + equality_count :]
    confirmed = np.isfinite(solutions).all(axis=1) & ~(multipliers > KKT_TOLERANCE).any(axis=1)
    return solutions[:, :size], confirmed


def _bound_inequalities(count: int, extra_columns: int) -> np.ndarray:
    """Rows ``e_i`` (floors, ``w_i >= lo``) then ``-e_i`` (caps, ``-w_i >= -hi``), padded with
    ``extra_columns`` zero columns."""
    identity = np.hstack([np.eye(count), np.zeros((count, extra_columns))])
    return np.vstack([identity, -identity])


def _first_feasible(
    weights: np.ndarray, confirmed: np.ndarray, min_weight: float, max_weight: float
) -> np.ndarray | None:
    feasible = confirmed & np.all(weights >= min_weight - KKT_TOLERANCE, axis=1)
    feasible &= np.all(weights <= max_weight + KKT_TOLERANCE, axis=1)
    hits = np.flatnonzero(feasible)
    return np.clip(weights[hits[0]], min_weight, max_weight) if hits.size else None


def minimum_variance_on_active_sets(
    scaled: np.ndarray, min_weight: float, max_weight: float, states: np.ndarray
) -> np.ndarray | None:
    """The minimum-variance weights if one of the candidate active sets ``states`` (candidates
    x roots, FREE / LOWER / UPPER) is the optimum's, confirmed by the KKT conditions (which
    prove optimality for this convex QP), else None."""
    count = len(scaled)
    active = np.hstack([states == LOWER, states == UPPER])
    weights, confirmed = _kkt_points(
        2.0 * scaled,
        np.ones((1, count)),
        np.ones(1),
        _bound_inequalities(count, 0),
        np.concatenate([np.full(count, min_weight), np.full(count, -max_weight)]),
        active,
    )
    return _first_feasible(weights, confirmed, min_weight, max_weight)


def minimum_variance_weights(
    covariance: np.ndarray, min_weight: float, max_weight: float, start: np.ndarray | None = None
) -> np.ndarray:
    """``argmin w' S w`` s.t. ``sum w = 1``, ``min_weight <= w_i <= max_weight``.

    The answer is the exact solution of the KKT system on the optimum's active set (which
    roots sit on a bound), confirmed by the KKT conditions, so it depends neither on a start
    nor on a solver tolerance. The active set of ``start`` (the previous re-optimisation, or
    equal weights) and its one- and two-root neighbours are tried first (one batched solve); otherwise
    SLSQP finds the active set. The covariance is scaled to unit mean variance first (same
    argmin, better conditioned).
    """
    scaled = _normalised(covariance, "minimum variance")
    count = len(scaled)
    guess = np.full(count, 1.0 / count) if start is None else start
    for candidates in neighbour_states(bound_states(guess, min_weight, max_weight)):
        exact = minimum_variance_on_active_sets(scaled, min_weight, max_weight, candidates)
        if exact is not None:
            return exact
    weights, result = _solve(
        lambda w: w @ scaled @ w, lambda w: 2.0 * scaled @ w, count, min_weight, max_weight, "minimum variance", start
    )
    exact = minimum_variance_on_active_sets(
        scaled, min_weight, max_weight, bound_states(weights, min_weight, max_weight)[None, :]
    )
    return _polished(weights, result, exact, "minimum variance")


def highest_return_weights(expected_returns: np.ndarray, min_weight: float, max_weight: float) -> np.ndarray:
    """The bounded weights with the highest ``w' mu``: every root at ``min_weight``, then the
    rest given to the roots in decreasing order of ``mu`` up to ``max_weight`` (ties by order)."""
    expected = np.asarray(expected_returns, dtype=float)
    order = np.argsort(-expected, kind="stable")
    room = np.full(len(expected), max_weight - min_weight)
    remaining = 1.0 - min_weight * len(expected)
    # cumulative room in the order of mu: each root takes what is left, up to its room
    taken = np.clip(remaining - (np.cumsum(room) - room), 0.0, room)
    weights = np.full(len(expected), min_weight)
    weights[order] += taken
    return weights


def maximum_sharpe_on_active_sets(
    scaled: np.ndarray, expected: np.ndarray, min_weight: float, max_weight: float, states: np.ndarray
) -> np.ndarray | None:
    """The maximum-Sharpe weights if one of the candidate active sets ``states`` is the
    optimum's, else None. With ``w = y / k`` the problem is the convex QP ``min y' S y`` s.t.
    ``mu' y = 1``, ``sum y = k``, ``lo k <= y_i <= hi k`` (valid where some bounded portfolio
    has ``w' mu > 0``), solved on each active set and confirmed by its KKT conditions."""
    count = len(scaled)
    hessian = np.zeros((count + 1, count + 1))
    hessian[:count, :count] = 2.0 * scaled
    equalities = np.vstack([np.append(expected, 0.0), np.append(np.ones(count), -1.0)])
    # y_i - lo k >= 0 (floors), hi k - y_i >= 0 (caps)
    inequalities = _bound_inequalities(count, 1)
    inequalities[:count, count] = -min_weight
    inequalities[count:, count] = max_weight
    active = np.hstack([states == LOWER, states == UPPER])
    solutions, confirmed = _kkt_points(
        hessian, equalities, np.array([1.0, 0.0]), inequalities, np.zeros(2 * count), active
    )
    scale = solutions[:, count]
    confirmed &= scale > 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = solutions[:, :count] / scale[:, None]
    return _first_feasible(weights, confirmed, min_weight, max_weight)


def maximum_sharpe_weights(
    covariance: np.ndarray,
    expected_returns: np.ndarray,
    min_weight: float,
    max_weight: float,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """``argmax (w' mu) / sqrt(w' S w)`` s.t. ``sum w = 1``, bounds.

    ``mu`` and ``S`` in the same period units (daily here); both are rescaled by positive
    constants before solving, which leaves the argmax unchanged. As for the minimum variance,
    the answer is the exact KKT solution on the optimum's active set
    (:func:`maximum_sharpe_on_active_sets`): the active sets near ``start`` are tried first,
    otherwise SLSQP (analytic gradient) finds it. Where some bounded portfolio has a positive
    expected return the Sharpe ratio is quasi-concave there, so SLSQP starts from a point with
    a positive ratio (``start`` if it has one, otherwise :func:`highest_return_weights`) and
    finds the global maximum. Where none has (every ``mu`` too low), maximising a negative
    ratio would favour volatility: the weights are then the minimum-variance weights.
    """
    scaled = _normalised(covariance, "maximum Sharpe")
    expected = np.asarray(expected_returns, dtype=float)
    if not np.all(np.isfinite(expected)):
        raise DataError("maximum Sharpe: expected returns have missing values")
    size = np.max(np.abs(expected))
    expected = expected / size if size > 0 else expected
    highest = highest_return_weights(expected, min_weight, max_weight)
    if not highest @ expected > 0.0:
        return minimum_variance_weights(covariance, min_weight, max_weight, start)
    if start is None or not start @ expected > 0.0:
        start = highest
    for candidates in neighbour_states(bound_states(start, min_weight, max_weight)):
        exact = maximum_sharpe_on_active_sets(scaled, expected, min_weight, max_weight, candidates)
        if exact is not None:
            return exact

    def negative_sharpe(weights: np.ndarray) -> float:
        return -(weights @ expected) / np.sqrt(weights @ scaled @ weights)

    def gradient(weights: np.ndarray) -> np.ndarray:
        variance = weights @ scaled @ weights
        volatility = np.sqrt(variance)
        excess = weights @ expected
        return -(expected * volatility - excess * (scaled @ weights) / volatility) / variance

    weights, result = _solve(negative_sharpe, gradient, len(scaled), min_weight, max_weight, "maximum Sharpe", start)
    exact = maximum_sharpe_on_active_sets(
        scaled, expected, min_weight, max_weight, bound_states(weights, min_weight, max_weight)[None, :]
    )
    return _polished(weights, result, exact, "maximum Sharpe")


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
