"""Checks shared by the momentum family's real-data tests (in-process and through the CLI)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def assert_equal_weight_long_only_is_the_mean_of_root_period_returns(
    levels: pl.DataFrame, anchors: pl.Series, series: pl.DataFrame, roots: Sequence[str]
) -> int:
    """An equal-weight Long-Only ER index holds fixed contract units between rebalances, so from
    one effective date (``anchors``) to the next its return is the plain mean of the roots'
    returns over that period (docs/design.md section 3 composite with ``W_i = 1/n``). ``levels``:
    ``date, level`` of the index; ``series``: the linked series ``date, root, level``. Returns the
    number of periods compared."""
    # independently: each root's last ER level on or before each anchor, then the equal-weighted
    # mean of the roots' returns from one anchor to the next
    anchors = anchors.unique().sort()
    own = series.select("date", "root", "level").sort("date")
    at_anchor = (
        pl.DataFrame({"root": list(roots)})
        .join(pl.DataFrame({"date": anchors}), how="cross")
        .sort("date")
        .join_asof(own, on="date", by="root", check_sortedness=False)
        .sort("root", "date")
        .with_columns((pl.col("level").shift(-1) / pl.col("level") - 1.0).over("root").alias("root_return"))
        .drop_nulls("root_return")
    )
    assert at_anchor.get_column("level").null_count() == 0
    expected = at_anchor.group_by("date").agg(pl.col("root_return").mean().alias("expected")).sort("date")
    by_date = dict(levels.select("date", "level").iter_rows())
    actual = [by_date[end] / by_date[start] - 1.0 for start, end in zip(anchors, anchors[1:])]
    assert len(actual) == expected.height
    np.testing.assert_allclose(actual, expected.get_column("expected").to_numpy(), rtol=0, atol=1e-12)
    return len(actual)
