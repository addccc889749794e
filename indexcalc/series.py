"""Linked single-commodity series: excess return, total return, carry (DESIGN.md section 2).

Owned by the roll-engine work (issue 3). Interface:

    build_series(market: MarketData, rule: RollRule = WindowRoll(), roots: list[str] | None = None,
                 disruption: Literal["error", "carry_forward"] = "error") -> pl.DataFrame
        columns ``date, root, level, daily_return, tr_level, carry, held_contracts, disrupted``:
        ``level`` the linked excess-return level (100 on each root's first date),
        ``daily_return`` ER_ret (fraction), ``tr_level`` the total-return level (100 on the first
        date), ``carry`` annualised roll yield (fraction, positive in backwardation),
        ``held_contracts`` e.g. "202403:0.6 202405:0.4" (weights held at that close),
        ``disrupted`` True where a price was carried forward. Sorted by root, date.

    collateral_returns(rates: pl.DataFrame, dates: pl.Series) -> pl.DataFrame
        ``date, collateral_return``: TBR_t = (1 / (1 - 91/360 * TB_{t-1}))^(days(t-1,t)/91) - 1
        on the given dates (0 on the first).
"""

from __future__ import annotations
