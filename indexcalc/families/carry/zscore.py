"""Sequential z-scores around a neutral zero ("zn-scores"), as macrosynergy scores (docs/design.md section 4).

For a panel ``x_{i,t}`` (root i, observation date t; here the month-ends), with the neutral
level zero::

    MAD^pan_t  = sum_{s <= t, j} |x_{j,s}| / #{(j, s): s <= t}      (pooled over the panel)
    MAD^i_t    = sum_{s <= t} |x_{i,s}| / #{s <= t: x_{i,s} observed}   (one root)
    z_{i,t}    = w * x_{i,t} / MAD^pan_t + (1 - w) * x_{i,t} / MAD^i_t,     w = pan_weight
    zn_{i,t}   = min(max(z_{i,t}, -threshold), threshold)               (winsorised)

The scale is the expanding mean absolute deviation from zero, not a standard deviation, and
it is re-estimated at every observation date with the information of that date only. It is
first estimated at the panel's (respectively the root's) ``min_obs``-th date counted from 0,
i.e. once ``min_obs + 1`` dates are observed; before that the score is missing, or, with
``in_sample_initial``, uses that first estimate (in-sample, like macrosynergy's ``iis``).

This is ``macrosynergy.panel.make_zn_scores(df, xcat, neutral="zero", sequential=True,
min_obs=min_obs, iis=in_sample_initial, pan_weight=pan_weight, thresh=threshold,
est_freq=<the observation frequency>)`` on a panel whose dates are the estimation dates (for
the month-end panel: ``est_freq="M"`` with dates stamped at business month-ends). One
difference: a root with a missing date inside its history counts observations, where
macrosynergy counts the panel's rows, towards its own ``min_obs``.
"""

from __future__ import annotations

import polars as pl


def _root_mad(value: str, *, min_obs: int, in_sample_initial: bool) -> pl.Expr:
    """MAD^i_t of one root: expanding mean |value| over its observations (frame sorted by date)."""
    mad = pl.when(pl.int_range(pl.len()) >= min_obs).then(pl.col(value).abs().cum_sum() / pl.col(value).cum_count())
    if in_sample_initial:
        mad = mad.backward_fill()
    return mad.over("root")


def sequential_zn_scores(
    panel: pl.DataFrame,
    *,
    value: str,
    min_obs: int,
    in_sample_initial: bool,
    pan_weight: float,
    threshold: float | None,
) -> pl.DataFrame:
    """Winsorised sequential z-scores: ``date, root, zscore`` for every scored observation.

    ``panel``: ``date, root, <value>``; null values are not observations. See the module
    docstring for the formula. Rows whose scale is not yet estimated are dropped.
    """
    observed = panel.select("date", "root", value).drop_nulls(value).sort("date", "root")
    score = pl.lit(0.0)
    if pan_weight > 0:
        by_date = (
            observed.group_by("date")
            .agg(pl.col(value).abs().sum().alias("abs_sum"), pl.len().alias("count"))
            .sort("date")
            .with_columns(pl.col("abs_sum").cum_sum(), pl.col("count").cum_sum())
            .with_columns(
                pl.when(pl.int_range(pl.len()) >= min_obs)
                .then(pl.col("abs_sum") / pl.col("count"))
                .alias("mad_panel")
            )
        )
        if in_sample_initial:
            by_date = by_date.with_columns(pl.col("mad_panel").backward_fill())
        observed = observed.join(by_date.select("date", "mad_panel"), on="date", how="left")
        score = score + pan_weight * pl.col(value) / pl.col("mad_panel")
    if pan_weight < 1:
        observed = observed.sort("root", "date").with_columns(
            _root_mad(value, min_obs=min_obs, in_sample_initial=in_sample_initial).alias("mad_root")
        )
        score = score + (1.0 - pan_weight) * pl.col(value) / pl.col("mad_root")
    if threshold is not None:
        score = score.clip(-threshold, threshold)
    return (
        observed.select("date", "root", score.alias("zscore"))
        .filter(pl.col("zscore").is_not_null() & pl.col("zscore").is_not_nan())
        .sort("root", "date")
    )
