"""Carry-ranked relative baskets (docs/design.md section 4): real, volatility-adjusted,
seasonally adjusted, normalised and winsorised carry (:mod:`.stages`, :mod:`.zscore`), relative
to all commodities or to the sector group (:mod:`.relative`), proportional or ranked; computed
by :func:`.compute.compute_carry_basket`."""

from __future__ import annotations

from pathlib import Path

from indexcalc.data.instruments import sector_label
from indexcalc.families.carry.spec import CarryBasketSpec
from indexcalc.families.family import Family


def missing_inputs(spec: CarryBasketSpec, market) -> str | None:
    """Real carry needs the CPI series and a year of its changes, the seasonal stage
    ``seasonal_min_years`` of month-ends before it, and the z-score ``zscore_min_obs`` scored
    month-ends after that."""
    if market.inflation.is_empty():
        return "no inflation (CPI) series in the market data; real carry needs it"
    needed = spec.inflation_window_months + 12 * spec.seasonal_min_years + spec.zscore_min_obs + 2
    first, last = market.prices.get_column("date").min(), market.prices.get_column("date").max()
    months = (last.year - first.year) * 12 + last.month - first.month
    if months < needed:
        return f"needs about {needed} months of prices for a complete carry signal; the data spans {months}"
    return None


def rank_scopes(spec: CarryBasketSpec, instruments, roots: list[str]) -> dict:
    """``rank_scopes``: for a ranked basket, each scope (``All commodities``, or each sector
    group) with its number of roots n and the count k held long and short
    (:func:`indexcalc.families.carry.compute.ranked_count`); empty for other constructions."""
    if spec.construction != "ranked":
        return {"rank_scopes": []}
    from indexcalc.families.carry.compute import ranked_count

    if spec.relative_scope == "global":
        groups = {"All commodities": len(roots)}
    else:
        groups = {}
        for root in roots:
            if root in instruments:
                label = sector_label(instruments[root].sector)
                groups[label] = groups.get(label, 0) + 1
    return {"rank_scopes": [{"scope": scope, "count": count, "held": ranked_count(count, spec.rank_fraction)}
                            for scope, count in sorted(groups.items())]}


FAMILY = Family(
    kind="carry_basket",
    spec_class=CarryBasketSpec,
    compute="indexcalc.families.carry.compute:compute_carry_basket",
    title="Carry-ranked baskets",
    folder=Path(__file__).parent,
    missing_inputs=missing_inputs,
    review_threshold=0.03,
    methodology_extras=rank_scopes,
)
