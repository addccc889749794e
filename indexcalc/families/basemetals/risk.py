"""Risk monitors and attribution of a long-only basket (base-metals basket): pure functions over
frames and dates x roots panels (:class:`indexcalc.panel.Panel`), in three modules:
:mod:`~indexcalc.families.basemetals.monitors` (correlation and pairs),
:mod:`~indexcalc.families.basemetals.stress` and :mod:`~indexcalc.families.basemetals.attribution`
(risk contribution, attribution); their names are re-exported here.

Units: daily returns and P&L are fractions; volatilities are annualised with ``annualisation``
business days a year (``sigma = std(daily, ddof=1) * sqrt(A)``); correlations are Pearson over
the window's daily returns.

- Correlation monitor: rolling pairwise correlation of daily returns over ``window`` days, the
  average over the ``n(n-1)/2`` pairs, and an alert while that average is below a threshold.
- Pairs monitor: ratio ``q = L_a / L_b`` of two roots' excess-return levels (roll-linked, so
  no roll jumps), ``z = (q - mean_W(q)) / std_W(q)``; a trade opens short the ratio (short a,
  long b) when ``z > entry`` and long the ratio when ``z < -entry``, and closes when ``z`` comes
  back to ``exit`` (``z <= exit`` for a short, ``z >= -exit`` for a long).
- Stress: portfolio P&L of a scenario of total moves ``m_i`` on the current weights held as
  fixed units: ``pnl = sum_i w_i m_i`` (exact for a fully invested basket).
- Risk contribution: ``RC_i = w_i sigma_i rho_{i,p} = w_i (S w)_i / sigma_p``, which sums to
  ``sigma_p = sqrt(w' S w)`` exactly.
- Attribution (per calendar month and since inception): daily contribution
  ``c_i,t = w_i,t-1 r_i,t`` with ``w_i,t-1`` the start-of-day (drifted) weight; over a period
  starting at the close ``s``, ``contribution_i = sum_t (I_{t-1} / I_s) c_i,t``, which sums to
  the index return ``I_end / I_s - 1`` exactly. With ``R_i`` the root's return and ``w_i,s``
  its weight at ``s``: equal-weight return ``R_EW = mean_i R_i``, buy-and-hold return
  ``R_BH = sum_i w_i,s R_i`` (the start weights held as fixed units), selection
  ``sum_i (w_i,s - 1/n)(R_i - R_EW) = R_BH - R_EW`` and timing ``= R - R_BH``, so that
  ``R = R_EW + selection + timing``. The period's risk contribution is
  ``RC_i = cov(c_i, R_p) / std(R_p)`` on the daily contributions (``w sigma rho`` when the
  weights do not move), summing to the realised volatility of the index's daily returns.
"""

from __future__ import annotations

from indexcalc.families.basemetals.attribution import (
    ATTRIBUTION_COLUMNS,
    BASKET,
    INCEPTION,
    attribution,
    daily_contributions,
    risk_contribution,
)
from indexcalc.families.basemetals.monitors import (
    FLAT_TOLERANCE,
    correlation_matrix,
    correlation_monitor,
    pairs_monitor,
    rolling_correlations,
)
from indexcalc.families.basemetals.stress import scenario_moves, stress_pnl

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "BASKET",
    "FLAT_TOLERANCE",
    "INCEPTION",
    "attribution",
    "correlation_matrix",
    "correlation_monitor",
    "daily_contributions",
    "pairs_monitor",
    "risk_contribution",
    "rolling_correlations",
    "scenario_moves",
    "stress_pnl",
]
