"""Analytics on index levels, weights and contributions (docs/design.md section 5), by job:
return statistics (:mod:`.returns`), drawdowns (:mod:`.drawdown`), risk over trailing windows
(:mod:`.rolling_risk`) and the analytics of a basket's weights (:mod:`.weights`); every public
name is importable from here, where the publisher reads them (``analytics.sharpe_ratio``).

Every function is pure and takes polars frames:

- a *levels* frame ``date, level, daily_return`` sorted by date; its first row is the base date
  (or the first published date). Daily returns are always recomputed from ``level``
  (``r_t = L_t / L_{t-1} - 1``), so the first row contributes no return;
- a *weights* frame ``date, effective_date, root, weight`` (+ family columns such as
  ``direction``): one row per rebalance and root, ``weight`` the signed fraction of the index.

Conventions used throughout (stated once, in the published factsheets too):

- annualisation uses ``periods_per_year`` = 252 business days; N is the number of daily returns;
- Sharpe and Sortino subtract a risk-free daily return only when one is given. An excess-return
  (ER) index is already a return over collateral, so its risk-free rate is 0; a total-return (TR)
  index is compared with its collateral (T-bill) return;
- returns are fractions (0.05 = 5%); ratios are unitless; dates are ``pl.Date``.
"""

from __future__ import annotations

from indexcalc.analytics.returns import (  # noqa: F401
    annualised_return,
    annualised_volatility,
    best_and_worst_month,
    calendar_year_returns,
    daily_returns,
    level_on_or_before,
    monthly_returns,
    months_before,
    period_returns,
    PERIODS,
    return_correlation,
    rolling_return,
    sharpe_ratio,
    sortino_ratio,
    TRADING_DAYS_PER_YEAR,
)
from indexcalc.analytics.drawdown import (  # noqa: F401
    calmar_ratio,
    drawdowns,
    max_drawdown,
    MaxDrawdown,
    worst_drawdowns,
)
from indexcalc.analytics.rolling_risk import (  # noqa: F401
    RISK_WINDOWS_YEARS,
    trailing_levels,
    trailing_risk,
)
from indexcalc.analytics.weights import (  # noqa: F401
    annual_turnover,
    current_weights,
    drift_factors,
    drifted_weights,
    level_on_or_before_by_root,
    return_contribution,
    sector_weights,
    turnover,
    turnover_with_drift,
)
