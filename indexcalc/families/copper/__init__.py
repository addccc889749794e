"""The copper macro-factor strategy (docs/design.md section 9): a rolling regression of
copper's return on macro factors (:mod:`.factors`, :mod:`.regression`), a carry filter and ATR
sizing (:mod:`.sizing`), on its own M1/M2/M3 curve; computed by
:func:`.compute.compute_copper_macro`."""

from __future__ import annotations

from pathlib import Path

from indexcalc.families.copper.spec import CopperMacroSpec
from indexcalc.families.family import Family


def missing_inputs(spec: CopperMacroSpec, market) -> str | None:
    """Every macro series of the spec's factors, and a first-notice rule for its roots."""
    known = set(market.macro.get_column("series").unique().to_list())
    absent = [factor.series for factor in spec.factors if factor.series not in known]
    if absent:
        return f"macro series not in the market data: {', '.join(absent)}"
    lacking = [root for root in spec.select_roots(market.instruments)
               if root in market.instruments and market.instruments[root].first_notice_offset is None]
    if lacking:
        return f"no first-notice rule for {', '.join(lacking)}"
    return None


FAMILY = Family(
    kind="copper_macro",
    spec_class=CopperMacroSpec,
    compute="indexcalc.families.copper.compute:compute_copper_macro",
    title="Copper macro-factor strategy",
    folder=Path(__file__).parent,
    missing_inputs=missing_inputs,
    own_curve=True,
    review_threshold=0.05,
)
