"""The official level: the published level rounded to the index's precision (docs/design.md
section 7).

Each spec declares ``precision``, the decimals of its published level (default
:data:`DEFAULT_PRECISION` = 4, the convention of the large commodity indexes: the Bloomberg
Commodity Index and the S&P GSCI excess-return and spot indexes are quoted to four decimals,
e.g. 78.2463 and 277.1887). The official level is

    official_t = round(level_t, precision)         half away from zero (index points)

The ledger keeps the full-precision level beside the official one; the calculation always
continues from full precision (the next day's level is computed from ``level_t``, never from
``official_t``), so rounding never compounds. Published files, the site and the JSON feed carry
the official level; a restatement is needed only when an official level would change.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

DEFAULT_PRECISION = 4
"""Decimals of the official level unless a spec says otherwise."""

ROUNDING = "half_away_from_zero"


def official(level: pl.Expr, precision: int) -> pl.Expr:
    """``round(level, precision)``, half away from zero."""
    return level.round(precision, mode=ROUNDING)


def official_by_index(level: pl.Expr, index_id: pl.Expr, precisions: Mapping[str, int]) -> pl.Expr:
    """The official level of each row, with the precision of its index (``precisions`` by
    index id; an index not in it gets :data:`DEFAULT_PRECISION`)."""
    by_precision: dict[int, list[str]] = {}
    for name, precision in precisions.items():
        by_precision.setdefault(precision, []).append(name)
    expression = official(level, DEFAULT_PRECISION)
    for precision, names in sorted(by_precision.items()):
        if precision != DEFAULT_PRECISION:
            expression = pl.when(index_id.is_in(names)).then(official(level, precision)).otherwise(expression)
    return expression


def precisions_of(specs) -> dict[str, int]:
    """``{index id: precision}`` of specs (or of results' specs)."""
    return {spec.id: getattr(spec, "precision", DEFAULT_PRECISION) for spec in specs}
