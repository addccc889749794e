"""The whole calculation: market -> series -> every catalogue index (docs/design.md section 6).

Pure: takes a validated market and specs, returns results; reads and writes nothing. The
rebuild, the publisher and the daily run all call :func:`rebuild_all`, so they share every
line of calculation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.executors import Executor
from indexcalc.results import IndexResult
from indexcalc.specs import DataRoll, IndexSpecBase


@dataclass(frozen=True)
class Skipped:
    """A catalogue index that cannot be computed on this market, and why."""

    index_id: str
    reason: str


_FAMILY_COMPUTERS = {
    "momentum": ("indexcalc.families.momentum", "compute_momentum"),
    "carry_basket": ("indexcalc.families.carry", "compute_carry_basket"),
    "base_metals": ("indexcalc.families.basemetals", "compute_base_metals"),
    "copper_macro": ("indexcalc.families.copper", "compute_copper_macro"),
}
"""Each kind's ``compute_<kind>``, as (module, function): imported on first use, so a run that
computes one family does not import the others (and their scipy modules)."""


def _family_computer(kind: str) -> Callable:
    import importlib

    module, function = _FAMILY_COMPUTERS[kind]
    return getattr(importlib.import_module(module), function)


# Kinds whose compute function builds its own curve from the market and ignores ``series``.
OWN_CURVE_KINDS = frozenset({"copper_macro"})


def roll_rule_for(spec: IndexSpecBase, market: MarketData):
    """The spec's roll rule, except on vendor data that names the held contract (data roll)."""
    return DataRoll() if market.held is not None else spec.roll


def _missing_inputs(spec: IndexSpecBase, market: MarketData) -> str | None:
    """What a spec needs beyond prices that the market lacks (None when it has it all)."""
    if spec.kind == "momentum":
        from indexcalc.families.momentum import missing_inputs

        return missing_inputs(spec, market)
    if spec.kind == "carry_basket":
        if market.inflation.is_empty():
            return "no inflation (CPI) series in the market data; real carry needs it"
        # Real carry needs a year of CPI changes, the seasonal stage seasonal_min_years of
        # month-ends before it, and the z-score min_obs scored month-ends after that.
        needed = spec.inflation_window_months + 12 * spec.seasonal_min_years + spec.zscore_min_obs + 2
        first, last = market.prices.get_column("date").min(), market.prices.get_column("date").max()
        months = (last.year - first.year) * 12 + last.month - first.month
        if months < needed:
            return f"needs about {needed} months of prices for a complete carry signal; the data spans {months}"
    if spec.kind == "copper_macro":
        known = set(market.macro.get_column("series").unique().to_list())
        absent = [factor.series for factor in spec.factors if factor.series not in known]
        if absent:
            return f"macro series not in the market data: {', '.join(absent)}"
        lacking = [root for root in spec.select_roots(market.instruments)
                   if root in market.instruments and market.instruments[root].first_notice_offset is None]
        if lacking:
            return f"no first-notice rule for {', '.join(lacking)}"
    return None


def computable(specs: Iterable[IndexSpecBase], market: MarketData) -> tuple[list[IndexSpecBase], list[Skipped]]:
    """Split specs into those whose named universe the market covers and those it does not."""
    available = set(market.roots)
    keep: list[IndexSpecBase] = []
    skipped: list[Skipped] = []
    for spec in specs:
        roots = spec.select_roots(market.instruments)
        missing = sorted(set(spec.universe or ()) - available)
        if missing:
            skipped.append(Skipped(spec.id, f"roots not in the market data: {', '.join(missing)}"))
        elif not roots:
            skipped.append(Skipped(spec.id, "no root of the market data is in its universe"))
        elif (reason := _missing_inputs(spec, market)) is not None:
            skipped.append(Skipped(spec.id, reason))
        else:
            keep.append(spec)
    return keep, skipped


@dataclass(frozen=True)
class Calculation:
    """What :func:`calculate` produces: the results keyed by index id (in spec order) and the
    linked series they were built on, keyed by roll rule (:func:`rule_key`)."""

    results: dict[str, IndexResult]
    series: dict[str, pl.DataFrame]


def rule_key(spec: IndexSpecBase, market: MarketData) -> str:
    """The canonical JSON of the roll rule ``spec`` uses on ``market`` (:func:`roll_rule_for`):
    specs with equal keys share their series."""
    return roll_rule_for(spec, market).model_dump_json()


def rebuild_all(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    on_step: Callable[[str], None] | None = None,
    disruption: Literal["rules", "carry_forward", "error"] = "rules",
) -> dict[str, IndexResult]:
    """Compute every spec over the market's full history; results keyed by index id, in spec
    order (:func:`calculate` without the series)."""
    return calculate(market, specs, on_step, disruption).results


def calculate(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    on_step: Callable[[str], None] | None = None,
    disruption: Literal["rules", "carry_forward", "error"] = "rules",
    executor: Executor | None = None,
) -> Calculation:
    """Compute every spec over the market's full history: the results and the series.

    ``disruption``: the market-disruption policy of :func:`indexcalc.series.build_series`
    (docs/design.md section 2): "rules" (default) keeps a held contract's last settlement on a
    disrupted session (flagged in the series' ``disrupted`` column), postpones a roll step due
    then, and stops after more than :data:`indexcalc.series.MAX_DISRUPTED_SESSIONS` consecutive
    disrupted sessions naming root, contract and dates; "carry_forward" has no such limit;
    "error" stops at the first disrupted session. Specs are grouped by kind and roll rule so
    that each family computes shared inputs once; the linked series are built once per roll
    rule. ``executor`` (:mod:`indexcalc.executors`; default in this process) runs the family
    computations: it shares the market, the series and the collateral once and may split a
    group into chunks of specs, one call each; the results do not depend on it. Specs the
    market cannot serve must be removed beforehand with :func:`computable`.
    """
    from indexcalc.executors import InProcess
    from indexcalc.series import build_series, collateral_returns

    executor = executor or InProcess()
    specs = list(specs)
    groups: dict[tuple[str, str], list[IndexSpecBase]] = {}
    roots_by_rule: dict[str, set[str]] = {}
    available = set(market.roots)
    for spec in specs:
        key = rule_key(spec, market)
        groups.setdefault((spec.kind, key), []).append(spec)
        if spec.kind not in OWN_CURVE_KINDS:
            roots_by_rule.setdefault(key, set()).update(set(spec.select_roots(market.instruments)) & available)

    if not groups:
        return Calculation({}, {})
    series_by_rule: dict[str, pl.DataFrame] = {}
    shared_series: dict[str, object] = {}
    pending: list[tuple[str, int, list]] = []
    collateral = collateral_returns(market.rates, market.prices.get_column("date").unique().sort())
    shared_market, shared_collateral = executor.share(market), executor.share(collateral)
    for (kind, key), group in groups.items():
        rule = roll_rule_for(group[0], market)
        if kind in OWN_CURVE_KINDS:
            series = executor.share(pl.DataFrame())
        else:
            if key not in series_by_rule:
                if on_step:
                    on_step(f"series ({rule.rule} roll)")
                # Each roll rule's series is built once, for every root any spec using it holds.
                series_by_rule[key] = build_series(
                    market, rule, roots=sorted(roots_by_rule[key]), disruption=disruption
                )
                shared_series[key] = executor.share(series_by_rule[key])
            series = shared_series[key]
        calls = [executor.submit(compute_group, kind, chunk, shared_market, series, shared_collateral)
                 for chunk in executor.chunks(group, sharing_key)]
        pending.append((kind, len(group), calls))
    results: dict[str, IndexResult] = {}
    for kind, count, calls in pending:
        if on_step:
            on_step(f"{kind} ({count} indexes)")
        for chunk_results in executor.gather(calls):
            results.update(chunk_results)
    return Calculation({spec.id: results[spec.id] for spec in specs}, series_by_rule)


NAMING_FIELDS = frozenset({"id", "name", "objective", "family", "return_type", "base_value", "precision",
                           "launch_date", "sector_label"})
"""Spec fields that name an index or choose among the outputs of inputs it shares with others
(the momentum family's five directions, ER and TR, the base value)."""


def sharing_key(spec: IndexSpecBase) -> str:
    """The spec without its :data:`NAMING_FIELDS`, as canonical JSON: specs of a kind with equal
    keys share their family's inputs (an executor keeps them in one call)."""
    return spec.model_dump_json(exclude=set(NAMING_FIELDS & set(type(spec).model_fields)))


def compute_group(
    kind: str, specs: list[IndexSpecBase], market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame
) -> dict[str, IndexResult]:
    """One family's ``compute_<kind>`` on a group of its specs (what an executor runs)."""
    return _family_computer(kind)(specs, market, series, collateral)
