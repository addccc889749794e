"""Roll schedules as data: contract weights per root and date (DESIGN.md section 2).

Owned by the roll-engine work (issue 3). Interface:

    roll_schedule(market: MarketData, rule: RollRule, roots: list[str] | None = None) -> pl.DataFrame
        columns ``date, root, contract, weight``: the weights held at the close of ``date``
        (per root and date they sum to 1; weights in [0, 1]).
"""

from __future__ import annotations
