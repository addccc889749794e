"""Index facts in words (roll rule, rebalance, kind, roots), shared by factsheets and methodology."""

from __future__ import annotations

import polars as pl

from indexcalc.data.instruments import Instrument
from indexcalc.specs import IndexSpecBase, RollRule


def describe_roll(rule: RollRule) -> str:
    """A roll rule in words, every number from the rule."""
    if rule.rule == "window":
        steps = rule.last_day - rule.first_day + 1
        return (f"window roll: business days {rule.first_day} to {rule.last_day} of the month, "
                f"{100 / steps:.0f}% of the position a day, at the close")
    if rule.rule == "before_first_notice":
        return (f"contract {rule.position} of the listed strip, rolled {rule.days_before} business days "
                "before the front contract's first notice day")
    return ("the contract the market data names as held, rolled at the close of the day before it changes, "
            "or at the first later close where that contract has a settlement price")


def describe_rebalance(spec: IndexSpecBase, weights: pl.DataFrame) -> str:
    """The spec's ``rebalance`` field, or the frequency seen in the weights' fixing dates."""
    declared = getattr(spec, "rebalance", None)
    dates = weights.get_column("date").unique().sort() if "date" in weights.columns else pl.Series([], dtype=pl.Date)
    count = f"{dates.len()} rebalances" if dates.len() else "no rebalance yet"
    if declared:
        return f"{declared} ({count})"
    if dates.len() < 2:
        return count
    gap = dates.diff().dt.total_days().drop_nulls().median()
    frequency = "daily" if gap <= 1.5 else "weekly" if gap <= 10 else "monthly" if gap <= 40 else \
        "quarterly" if gap <= 100 else "annual"
    return f"{frequency}, as observed ({count})"


def family_label(spec: IndexSpecBase) -> str:
    """Kind and family in words: ``momentum – long/short``, ``carry basket``."""
    family = getattr(spec, "family", None)
    label = spec.kind.replace("_", " ")
    if family:
        label += " – " + family.replace("_", "/").replace("long/only", "long-only").replace("short/only", "short-only")
    return label


def index_roots(spec: IndexSpecBase, instruments: dict[str, Instrument]) -> list[str]:
    """The roots an index may hold: a single-root strategy's ``root``, else the universe and
    sector filters of the spec."""
    single = getattr(spec, "root", None)
    return [single] if single else spec.select_roots(instruments)
