"""Data-quality report: coverage, gaps and suspicious jumps per root (docs/design.md section 1).

Not validation: nothing here stops a run. The report shows a user where the data is thin
(long gaps between trading days) or doubtful (a contract's price moving far more in one step
than its root usually moves).
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from indexcalc.data.market import MarketData

DAYS_PER_YEAR = 365.25
MAD_TO_SIGMA = 1.4826
"""Median absolute deviation x 1.4826 = standard deviation for normal data (robust scale)."""


class QualitySpec(BaseModel):
    """Thresholds of the quality report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jump_sigmas: float = Field(8.0, gt=0, description="a jump exceeds this many robust sigmas of the root")
    jump_fraction: float = Field(0.25, gt=0, description="or moves the price by more than this fraction")
    max_gap_days: int = Field(7, ge=1, description="calendar days between trading days counted as a gap")


def coverage(prices: pl.DataFrame) -> pl.DataFrame:
    """Per root: ``root, first, last, years, rows, contracts, trading_days``.

    years = (last - first) in calendar days / 365.25; trading_days = distinct dates with a price.
    """
    return (
        prices.group_by("root")
        .agg(
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
            pl.len().alias("rows"),
            pl.col("contract").n_unique().alias("contracts"),
            pl.col("date").n_unique().alias("trading_days"),
        )
        .with_columns(years=((pl.col("last") - pl.col("first")).dt.total_days() / DAYS_PER_YEAR))
        .select("root", "first", "last", "years", "rows", "contracts", "trading_days")
        .sort("root")
    )


def gaps(prices: pl.DataFrame, spec: QualitySpec = QualitySpec()) -> pl.DataFrame:
    """Per root: ``longest_gap_days`` (calendar days between consecutive trading days),
    ``longest_gap_end`` (the trading day that ends it) and ``gaps`` (how many exceed
    ``spec.max_gap_days``)."""
    ordered = _by_root_and_date(prices).select("root", "date")
    new_day = (pl.col("date") != pl.col("date").shift(1)) | (pl.col("root") != pl.col("root").shift(1))
    days = ordered.filter(new_day.fill_null(True))
    steps = days.with_columns(gap=(pl.col("date") - pl.col("date").shift(1)).over("root").dt.total_days())
    return (
        steps.group_by("root")
        .agg(
            pl.col("gap").max().fill_null(0).alias("longest_gap_days"),
            pl.col("date").filter(pl.col("gap") == pl.col("gap").max()).first().alias("longest_gap_end"),
            (pl.col("gap") > spec.max_gap_days).sum().alias("gaps"),
        )
        .sort("root")
    )


def jumps(prices: pl.DataFrame, spec: QualitySpec = QualitySpec()) -> pl.DataFrame:
    """Every suspicious step of a contract's settle: ``root, date, contract, change, sigma``.

    change = ln(settle_t / settle_prev) between consecutive observations of the same contract;
    sigma = robust standard deviation of all such changes of the root (1.4826 x median absolute
    deviation). Suspicious if |change| > ``jump_sigmas`` x sigma or |exp(change) - 1| >
    ``jump_fraction``. Zero and negative settles have no logarithm: a step from a positive
    settle to one at or below zero has change -inf (shown as a -100% jump), a step back above
    zero +inf; both are always suspicious and left out of sigma; a step between two settles at
    or below zero has no change.
    """
    settle, previous = pl.col("settle"), pl.col("settle").shift(1).over("root", "contract")
    change = (
        pl.when((settle > 0) & (previous > 0))
        .then(settle.log() - previous.log())
        .when((previous > 0) & (settle <= 0))
        .then(float("-inf"))
        .when((previous <= 0) & (settle > 0))
        .then(float("inf"))
    )
    steps = _by_root_and_date(prices).select("root", "contract", "date", change.alias("change")).drop_nulls("change")
    finite = pl.col("change").filter(pl.col("change").is_finite())
    deviation = (finite - finite.median()).abs().median()
    scaled = steps.with_columns(sigma=(MAD_TO_SIGMA * deviation).over("root"))
    suspicious = (pl.col("change").abs() > spec.jump_sigmas * pl.col("sigma")) | (
        (pl.col("change").exp() - 1).abs() > spec.jump_fraction
    )
    found = scaled.filter(suspicious).select("root", "date", "contract", "change", "sigma")
    return found.sort("root", "date", "contract")


def quality_report(market: MarketData, spec: QualitySpec = QualitySpec()) -> pl.DataFrame:
    """Per root: coverage (:func:`coverage`), gaps (:func:`gaps`), and jumps (:func:`jumps`):
    ``jumps`` (count), ``worst_jump_date``, ``worst_jump_contract``, ``worst_jump`` (the
    largest |log change|, the earliest of equal ones, as a fraction exp(change) - 1)."""
    found = jumps(market.prices, spec)
    worst = found.group_by("root").agg(
        pl.len().alias("jumps"),
        pl.col("date").sort_by(pl.col("change").abs(), pl.col("date"), descending=[True, False]).first().alias("worst_jump_date"),
        pl.col("contract").sort_by(pl.col("change").abs(), pl.col("date"), descending=[True, False]).first().alias("worst_jump_contract"),
        (pl.col("change").sort_by(pl.col("change").abs(), pl.col("date"), descending=[True, False]).first().exp() - 1).alias("worst_jump"),
    )
    return (
        coverage(market.prices)
        .join(gaps(market.prices, spec), on="root", how="left")
        .join(worst, on="root", how="left")
        .with_columns(pl.col("jumps").fill_null(0).cast(pl.UInt32))
        .sort("root")
    )


def _by_root_and_date(prices: pl.DataFrame) -> pl.DataFrame:
    """``prices`` in (root, date) order; MarketData prices already are, so usually no sort."""
    roots = sorted(prices.get_column("root").unique().to_list())
    key = prices.select(
        pl.col("root").cast(pl.Enum(roots)).to_physical().cast(pl.Int64) * 1_000_000 + pl.col("date").cast(pl.Int64)
    ).to_series()
    return prices if key.is_sorted() else prices.sort("root", "date", maintain_order=True)
