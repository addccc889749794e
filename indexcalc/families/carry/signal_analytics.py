"""Signal analytics: how well a month-end signal predicted next-month returns (docs/design.md section 4).

On pairs ``(s, y)`` = (signal at a month-end, return over the following holding month), pooled
over roots and months:

- Pearson correlation of s and y, and Kendall's tau-b, each with its two-sided p-value
  (``scipy.stats.pearsonr``, ``scipy.stats.kendalltau``);
- accuracy = share of pairs where sign(s) = sign(y);
- balanced accuracy = (hit rate on months with y > 0 + hit rate on months with y < 0) / 2,
  i.e. the mean of the true-positive and true-negative rates, so a signal that is always long
  in a rising market scores 50%, not the share of up months;
- the share of calendar years (of the signal date) whose balanced accuracy exceeds 50%.

Pairs with s = 0 or y = 0 make no sign prediction or have no sign outcome; they count in the
correlations but not in the accuracies. A balanced accuracy needs both outcomes in the sample
(otherwise it is null, and such a year does not count in the share).
"""

from __future__ import annotations

import numpy as np
import polars as pl

ANALYTICS_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "observations": pl.Int64(),
    "pearson": pl.Float64(),
    "pearson_pvalue": pl.Float64(),
    "kendall": pl.Float64(),
    "kendall_pvalue": pl.Float64(),
    "accuracy": pl.Float64(),
    "balanced_accuracy": pl.Float64(),
    "years": pl.Int64(),
    "share_years_balanced_accuracy_above_half": pl.Float64(),
}


def forward_correlations(signal: np.ndarray, target: np.ndarray) -> dict[str, float | None]:
    """Pearson and Kendall (tau-b) correlation of signal with target, with two-sided p-values.

    Null where fewer than 3 pairs or either side is constant."""
    empty = {"pearson": None, "pearson_pvalue": None, "kendall": None, "kendall_pvalue": None}
    if len(signal) < 3 or np.ptp(signal) == 0 or np.ptp(target) == 0:
        return empty
    from scipy import stats  # imported here: scipy.stats takes ~1 s to import

    pearson = stats.pearsonr(signal, target)
    kendall = stats.kendalltau(signal, target)
    return {
        "pearson": float(pearson.statistic),
        "pearson_pvalue": float(pearson.pvalue),
        "kendall": float(kendall.statistic),
        "kendall_pvalue": float(kendall.pvalue),
    }


def sign_accuracy(signal: np.ndarray, target: np.ndarray) -> dict[str, float | None]:
    """Accuracy and balanced accuracy of sign(signal) as a prediction of sign(target).

    ``accuracy = #(sign s = sign y) / n``; ``balanced = (TP / P + TN / N) / 2`` with P, N the
    pairs with y > 0 and y < 0 and TP, TN those predicted with the right sign. Pairs with a
    zero on either side are left out."""
    decided = (signal != 0) & (target != 0)
    predicted_up = signal[decided] > 0
    went_up = target[decided] > 0
    if predicted_up.size == 0:
        return {"accuracy": None, "balanced_accuracy": None}
    accuracy = float(np.mean(predicted_up == went_up))
    ups, downs = went_up.sum(), (~went_up).sum()
    if ups == 0 or downs == 0:
        return {"accuracy": accuracy, "balanced_accuracy": None}
    true_positive_rate = (predicted_up & went_up).sum() / ups
    true_negative_rate = (~predicted_up & ~went_up).sum() / downs
    return {"accuracy": accuracy, "balanced_accuracy": float((true_positive_rate + true_negative_rate) / 2)}


def _yearly(clean: pl.DataFrame, signal: str, target: str) -> pl.DataFrame:
    """Per calendar year: observations, Pearson correlation, accuracy, balanced accuracy (vectorised)."""
    decided = (pl.col(signal) != 0) & (pl.col(target) != 0)
    predicted_up = pl.col(signal) > 0
    went_up = pl.col(target) > 0
    ups = (decided & went_up).sum()
    downs = (decided & ~went_up).sum()
    true_positive_rate = (decided & predicted_up & went_up).sum() / ups
    true_negative_rate = (decided & ~predicted_up & ~went_up).sum() / downs
    return (
        clean.group_by(pl.col("date").dt.year().alias("year"))
        .agg(
            pl.len().cast(pl.Int64).alias("observations"),
            pl.when(pl.len() >= 3).then(pl.corr(signal, target)).alias("pearson"),
            pl.when(decided.sum() > 0)
            .then((decided & (predicted_up == went_up)).sum() / decided.sum())
            .alias("accuracy"),
            pl.when((ups > 0) & (downs > 0))
            .then((true_positive_rate + true_negative_rate) / 2)
            .alias("balanced_accuracy"),
        )
        .sort("year")
        .with_columns(pl.col("pearson").fill_nan(None))
    )


def signal_analytics(pairs: pl.DataFrame, *, signal: str = "signal", target: str = "forward_return") -> pl.DataFrame:
    """Analytics of ``pairs`` (``date, <signal>, <target>``, one row per root and month-end).

    One row ``period = "full"`` over the whole sample, with ``years`` (the calendar years with a
    balanced accuracy) and the share of them whose balanced accuracy is above 50%; then one row
    per calendar year (``period = "2004"``...) with that year's observations, Pearson correlation,
    accuracy and balanced accuracy (the p-values, Kendall and the year share are null there).
    Columns: :data:`ANALYTICS_SCHEMA`.
    """
    clean = pairs.select("date", signal, target).drop_nulls().drop_nans().sort("date")
    signals = clean.get_column(signal).to_numpy()
    targets = clean.get_column(target).to_numpy()
    yearly = _yearly(clean, signal, target)
    scored = yearly.get_column("balanced_accuracy").drop_nulls()
    full = pl.DataFrame(
        [
            {"period": "full", "observations": len(signals)}
            | forward_correlations(signals, targets)
            | sign_accuracy(signals, targets)
            | {
                "years": scored.len(),
                "share_years_balanced_accuracy_above_half": float((scored > 0.5).mean()) if scored.len() else None,
            }
        ],
        schema=ANALYTICS_SCHEMA,
    )
    per_year = yearly.select(
        pl.col("year").cast(pl.String).alias("period"),
        "observations",
        "pearson",
        pl.lit(None, pl.Float64).alias("pearson_pvalue"),
        pl.lit(None, pl.Float64).alias("kendall"),
        pl.lit(None, pl.Float64).alias("kendall_pvalue"),
        "accuracy",
        "balanced_accuracy",
        pl.lit(None, pl.Int64).alias("years"),
        pl.lit(None, pl.Float64).alias("share_years_balanced_accuracy_above_half"),
    )
    return pl.concat([full, per_year.cast(ANALYTICS_SCHEMA)])
