"""Base-metals baskets (docs/design.md section 8): inverse-volatility, equal or optimised
weights with a monthly rebalance and a drift trigger, an optional momentum tilt
(:mod:`.momentum_tilt`), and the risk monitors (:mod:`.risk`); computed by
:func:`.compute.compute_base_metals`."""

from __future__ import annotations

from pathlib import Path

from indexcalc.families.basemetals.spec import BaseMetalsSpec
from indexcalc.families.family import Family

FAMILY = Family(
    kind="base_metals",
    spec_class=BaseMetalsSpec,
    compute="indexcalc.families.basemetals.compute:compute_base_metals",
    title="Base-metals baskets",
    folder=Path(__file__).parent,
    review_threshold=0.04,
)
