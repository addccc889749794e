"""Optimised basket weights (docs/design.md section 8): minimum variance and maximum Sharpe
under the bounds ``lo <= w_i <= hi``, weights fractions of the index notional summing to 1.

- Minimum variance: ``min_w w' S w`` subject to ``sum w = 1``, ``lo <= w_i <= hi``.
- Maximum Sharpe: ``max_w (w' mu) / sqrt(w' S w)`` subject to the same constraints; ``mu`` the
  trailing mean daily excess return (the roots' returns are excess returns already). When no
  bounded portfolio has a positive expected return, the minimum-variance weights.
- Optimiser answers are the exact solution of the KKT system on the optimum's active set (the
  roots on a bound), confirmed by the KKT conditions (sufficient: both are convex problems,
  max-Sharpe after the change of variables ``w = y / k``). The active set is the previous
  re-optimisation's, or a change of it in one or two roots, when one of those is confirmed
  (one batched linear solve), and otherwise the one scipy's SLSQP converges to.

``S`` is the Ledoit-Wolf shrunk covariance of :func:`indexcalc.rules.weights.ledoit_wolf_covariance`.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from indexcalc.errors import DataError

SOLVER_TOLERANCE = 1e-12
"""SLSQP ``ftol`` on the normalised objective (the covariance is scaled to unit mean variance)."""
SOLVER_MAX_ITERATIONS = 500
ACTIVE_TOLERANCE = 1e-7
"""A solver weight this close to a bound is taken to sit on it (the active set)."""
KKT_TOLERANCE = 1e-10
"""Slack allowed in the KKT checks (multiplier signs, bounds) on the normalised problem."""


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
