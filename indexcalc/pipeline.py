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
from indexcalc.families.registry import FAMILIES
from indexcalc.results import IndexResult
from indexcalc.specs import DataRoll, IndexSpecBase


@dataclass(frozen=True)
class Skipped:
    """A catalogue index that cannot be computed on this market, and why."""

    index_id: str
    reason: str


def roll_rule_for(spec: IndexSpecBase, market: MarketData):
    """The spec's roll rule, except on vendor data that names the held contract (data roll)."""
    return DataRoll() if market.held is not None else spec.roll


def _missing_inputs(spec: IndexSpecBase, market: MarketData) -> str | None:
    """What a spec needs beyond prices that the market lacks (None when it has it all): its
    family's :attr:`~indexcalc.families.family.Family.missing_inputs`."""
    return FAMILIES.of(spec).missing_inputs(spec, market)


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
    then, and stops after more than :data:`indexcalc.disruption.MAX_DISRUPTED_SESSIONS` consecutive
    disrupted sessions naming root, contract and dates; "carry_forward" has no such limit;
    "error" stops at the first disrupted session. Specs are grouped by kind and roll rule so
    that each family computes shared inputs once; the linked series are built once per roll
    rule. ``executor`` (:mod:`indexcalc.executors`; default in this process) runs the family
    computations: it shares the market, the series and the collateral once and may split a
    group into chunks of specs, one call each; the results do not depend on it. Specs the
    market cannot serve must be removed beforehand with :func:`computable`.
    """
    from indexcalc.executors import InProcess
    from indexcalc.series import build_series
    from indexcalc.collateral import collateral_returns

    executor = executor or InProcess()
    specs = list(specs)
    groups: dict[tuple[str, str], list[IndexSpecBase]] = {}
    roots_by_rule: dict[str, set[str]] = {}
    available = set(market.roots)
    for spec in specs:
        key = rule_key(spec, market)
        groups.setdefault((spec.kind, key), []).append(spec)
        if not FAMILIES.of(spec).own_curve:
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
        if FAMILIES[kind].own_curve:
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


NAMING_FIELDS = frozenset({"id", "name", "objective", "return_type", "base_value", "precision", "launch_date"})
"""Spec fields that name an index or choose among the outputs of inputs it shares with others
(ER and TR, the base value); a family adds its own (:attr:`Family.naming_fields`: the momentum
family's five directions and sector label)."""


def sharing_key(spec: IndexSpecBase) -> str:
    """The spec without its naming fields, as canonical JSON: specs of a kind with equal keys
    share their family's inputs (an executor keeps them in one call)."""
    naming = NAMING_FIELDS | FAMILIES.of(spec).naming_fields
    return spec.model_dump_json(exclude=set(naming & set(type(spec).model_fields)))


def compute_group(
    kind: str, specs: list[IndexSpecBase], market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame
) -> dict[str, IndexResult]:
    """One family's ``compute_<kind>`` on a group of its specs (what an executor runs)."""
    return FAMILIES[kind].compute_function()(specs, market, series, collateral)
