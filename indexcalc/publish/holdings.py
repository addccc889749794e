"""Contract holdings of the composite indexes, for replicating licensees (docs/design.md
sections 2, 3 and 7).

Per composite index, session ``t`` and futures contract: the roll weight held at the close of
``t`` (:func:`indexcalc.rolls.roll_schedule`), the root's index weight at that close and the
number of contracts per 1,000,000 USD of index notional. With ``a`` the last effective date on
or before ``t``, ``C`` the excess-return composite level, ``ER_i`` root ``i``'s linked series
level (forward-filled on the index's date axis), ``w_c`` the roll weights and ``F_c`` the
settlements (the last positive settle on or before ``t``) of the contracts it holds::

    x_{i,t} = W_i * (ER_{i,t} / ER_{i,a}) * C_a / C_t         index weight (fraction, drifted)
    P_{i,t} = sum_c w_{c,t} F_{c,t}                             value of one roll unit (price)
    N_{c,t} = 1,000,000 * x_{i,t} * w_{c,t} / (P_{i,t} * M_i)   contracts per 1,000,000 USD

(``M_i`` the contract multiplier, USD per price unit). Holding ``N_{c,t}`` from the close of
``t`` earns exactly the next excess return of the index (docs/design.md section 3)::

    C_{t+1} / C_t - 1 = sum_c N_{c,t} * M_c * (F_{c,t+1} - F_{c,t}) / 1,000,000

A total-return index holds the futures of its excess-return index per unit of its own notional
and the notional itself in T-bills, so its file is built from its excess-return levels. The rows
of a session also list the contracts held at the previous close (``contracts_per_million`` 0
when no longer held), so each session's file rows carry every settle the next return needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from indexcalc.atomic import atomic_write_csv
from indexcalc.results import IndexResult

NOTIONAL_USD = 1_000_000.0
"""Index notional the contract counts are quoted per (USD)."""

HOLDINGS_SESSIONS = 262
"""Sessions (about a year) of each published holdings file, ending at the last index date."""

HOLDINGS_FOLDER = "holdings"

HOLDINGS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "contract": pl.Int32(),
    "settle": pl.Float64(),
    "multiplier": pl.Float64(),
    "roll_weight": pl.Float64(),
    "index_weight": pl.Float64(),
    "contracts_per_million": pl.Float64(),
}


def index_weights(
    excess_levels: pl.DataFrame, weights: pl.DataFrame, root_levels: pl.DataFrame, first_date: dt.date
) -> pl.DataFrame:
    """``date, root, index_weight``: ``x_{i,t} = W_i (ER_{i,t} / ER_{i,a}) C_a / C_t`` on every
    date ``t >= first_date`` of ``excess_levels`` (``date, level``: the excess-return composite)
    after the first effective date, for the roots with a non-zero weight in the period of ``t``
    (``a`` = the last ``effective_date`` of ``weights`` on or before ``t``). ``root_levels``:
    ``date, root, level``, the linked series, forward-filled to the index dates."""
    composite = excess_levels.select("date", pl.col("level").alias("index_level")).sort("date")
    periods = weights.filter(pl.col("weight") != 0).select("effective_date", "root", "weight")
    anchors = (
        periods.select(pl.col("effective_date").unique().sort())
        .join(composite, left_on="effective_date", right_on="date", how="left")
        .rename({"index_level": "anchor_level"})
    )
    dated = (
        composite.filter(pl.col("date") >= first_date)
        .join_asof(anchors, left_on="date", right_on="effective_date", strategy="backward")
        .drop_nulls("effective_date")
        .join(periods, on="effective_date")
    )
    dated = _asof_root(dated, root_levels, "date").join(
        _asof_root(periods.select("effective_date", "root").unique(), root_levels, "effective_date").rename(
            {"root_level": "anchor_root_level"}
        ),
        on=["effective_date", "root"],
    )
    index_weight = (
        pl.col("weight") * pl.col("root_level") / pl.col("anchor_root_level")
        * pl.col("anchor_level") / pl.col("index_level")
    )
    return dated.select("date", "root", index_weight.alias("index_weight")).sort("date", "root")


def _asof_root(frame: pl.DataFrame, root_levels: pl.DataFrame, on: str) -> pl.DataFrame:
    """``frame`` with ``root_level``: the root's last series level on or before column ``on``
    (:func:`indexcalc.analytics.level_on_or_before_by_root`, a backward as-of lookup by root
    whose sorted keys are prepared once per series frame, not once per index)."""
    from indexcalc.analytics import level_on_or_before_by_root

    looked_up = level_on_or_before_by_root(root_levels, frame.get_column("root"), frame.get_column(on))
    return frame.with_columns(looked_up.alias("root_level"))


@dataclass(frozen=True)
class SettleTable:
    """The positive settles of a market's prices prepared for as-of lookups: ``pairs`` (``root,
    contract, pair``: a code per root and contract) and, sorted by key, the keys ``pair << 32 +
    day number`` and the settles (prepared once per roll rule by :func:`write_holdings`)."""

    pairs: pl.DataFrame
    keys: np.ndarray
    settles: np.ndarray


def settles_by_contract(prices: pl.DataFrame) -> SettleTable:
    """:class:`SettleTable` of the positive settles of ``prices`` (``date, root, contract,
    settle``)."""
    positive = prices.filter(pl.col("settle") > 0).select(
        "root", pl.col("contract").cast(pl.Int32), "date", pl.col("settle").cast(pl.Float64)
    )
    pairs = positive.select("root", "contract").unique().sort("root", "contract").with_row_index("pair")
    coded = positive.join(pairs, on=["root", "contract"], how="left", maintain_order="left")
    keys = (coded.get_column("pair").cast(pl.Int64).to_numpy() << 32) + coded.get_column("date").cast(pl.Int64).to_numpy()
    # stable: among equal keys (a price row repeated) the last row of the prices stays last
    order = np.argsort(keys, kind="stable")
    return SettleTable(pairs.with_columns(pl.col("pair").cast(pl.Int64)), keys[order],
                       coded.get_column("settle").to_numpy()[order])


def _settle_on_or_before(rows: pl.DataFrame, table: SettleTable) -> pl.Series:
    """``settle`` per row of ``rows`` (``date, root, contract``): the last positive settle of
    its contract on or before its date (a backward as-of lookup per root and contract, one
    binary search over the prepared keys); null where there is none."""
    pair = (rows.select("root", "contract").join(table.pairs, on=["root", "contract"], how="left",
                                                 maintain_order="left")
            .get_column("pair").fill_null(-1).to_numpy())
    query = (pair << 32) + rows.get_column("date").cast(pl.Int64).to_numpy()
    position = np.searchsorted(table.keys, query, side="right") - 1
    found = (position >= 0) & (pair >= 0)
    found[found] = (table.keys[position[found]] >> 32) == pair[found]
    values = table.settles[np.clip(position, 0, None)] if table.settles.size else np.full(len(pair), np.nan)
    return pl.select(pl.when(pl.lit(pl.Series(found))).then(pl.lit(pl.Series(values)))).to_series().alias("settle")


def contract_holdings(
    index_weight: pl.DataFrame,
    schedule: pl.DataFrame,
    prices: pl.DataFrame | None,
    multipliers: dict[str, float],
    notional: float = NOTIONAL_USD,
    settles: SettleTable | None = None,
) -> pl.DataFrame:
    """The holdings rows (:data:`HOLDINGS_SCHEMA`) of the module docstring from ``index_weight``
    (``date, root, index_weight``, :func:`index_weights`), the roll ``schedule`` (``date, root,
    contract, weight`` at each of the root's own closes, forward-filled to the index dates) and
    ``prices`` (``date, root, contract, settle``; the last positive settle on or before a date
    is used; ``settles``: :func:`settles_by_contract` of ``prices`` when prepared already).
    Sorted by date, root, contract."""
    sessions = index_weight.select("date").unique().sort("date")
    roots = index_weight.select("root").unique()
    # the schedule date in force at each index date (the root's last own close on or before it)
    in_force = (
        sessions.join(roots, how="cross")
        .sort("date")
        .join_asof(
            schedule.select("root", pl.col("date").alias("schedule_date")).unique().sort("schedule_date"),
            left_on="date", right_on="schedule_date", by="root", strategy="backward",
            check_sortedness=False,
        )
        .drop_nulls("schedule_date")
        .join(schedule.rename({"date": "schedule_date", "weight": "roll_weight"}), on=["root", "schedule_date"])
        .select("date", "root", "contract", "roll_weight")
    )
    held = in_force.join(index_weight, on=["date", "root"])
    previous_date = sessions.with_columns(pl.col("date").shift(-1).alias("next_date")).drop_nulls()
    held_before = (
        held.join(previous_date, on="date")
        .select(pl.col("next_date").alias("date"), "root", "contract")
    )
    rows = (
        pl.concat([held.select("date", "root", "contract"), held_before])
        .unique()
        .join(held, on=["date", "root", "contract"], how="left")
        .with_columns(pl.col("contract").cast(pl.Int32))
        .sort("date")
    )
    if settles is None:
        settles = settles_by_contract(prices)
    rows = rows.with_columns(_settle_on_or_before(rows, settles))
    roll_value = (pl.col("roll_weight") * pl.col("settle")).sum().over("date", "root")
    multiplier = pl.col("root").replace_strict(multipliers, return_dtype=pl.Float64)
    return (
        rows.with_columns(multiplier.alias("multiplier"), roll_value.alias("roll_value"))
        .with_columns(
            pl.col("roll_weight").fill_null(0.0),
            pl.col("index_weight").fill_null(0.0),
            (notional * pl.col("index_weight") * pl.col("roll_weight") / (pl.col("roll_value") * pl.col("multiplier")))
            .fill_null(0.0)
            .alias("contracts_per_million"),
        )
        .select(*HOLDINGS_SCHEMA)
        .cast(HOLDINGS_SCHEMA)
        .sort("date", "root", "contract")
    )


def replicated_returns(holdings: pl.DataFrame, notional: float = NOTIONAL_USD) -> pl.DataFrame:
    """``date, daily_return`` replicated from a holdings file alone:
    ``r_{t+1} = sum_c N_{c,t} M_c (F_{c,t+1} - F_{c,t}) / notional`` over the contracts held at
    the close of the previous session ``t`` of the file (the first session has no return)."""
    sessions = holdings.select("date").unique().sort("date").with_columns(
        pl.col("date").shift(-1).alias("next_date")
    ).drop_nulls()
    held = holdings.filter(pl.col("contracts_per_million") != 0).join(sessions, on="date")
    later = holdings.select(pl.col("date").alias("next_date"), "root", "contract", pl.col("settle").alias("next_settle"))
    pnl = pl.col("contracts_per_million") * pl.col("multiplier") * (pl.col("next_settle") - pl.col("settle"))
    return (
        held.join(later, on=["next_date", "root", "contract"], how="left")
        .group_by("next_date")
        .agg((pnl.sum() / notional).alias("daily_return"))
        .rename({"next_date": "date"})
        .sort("date")
    )


def index_holdings(
    result: IndexResult,
    root_levels: pl.DataFrame,
    schedule: pl.DataFrame,
    prices: pl.DataFrame | None,
    multipliers: dict[str, float],
    sessions: int = HOLDINGS_SESSIONS,
    settles: SettleTable | None = None,
) -> pl.DataFrame:
    """The holdings file of one composite index over its last ``sessions`` index dates (the
    excess-return levels: ``result.excess`` for a total-return index); ``settles`` as in
    :func:`contract_holdings`."""
    excess = excess_levels(result)
    dates = excess.get_column("date").sort()
    first_date = dates[max(0, dates.len() - sessions)]
    weights = index_weights(excess, result.weights, root_levels, first_date)
    return contract_holdings(weights, schedule, prices, multipliers, settles=settles)


def excess_levels(result: IndexResult) -> pl.DataFrame:
    """The excess-return levels a holdings file is built from: ``result.excess`` for a
    total-return index, else its levels (the calculated level where the published one is rounded)."""
    excess = result.excess if result.excess is not None else result.levels
    if "calculated_level" in excess.columns:  # published levels: the official one is rounded
        excess = excess.with_columns(pl.col("calculated_level").alias("level"))
    return excess


def write_holdings(results: dict[str, IndexResult], market, inputs, out_dir: Path,
                   sessions: int = HOLDINGS_SESSIONS) -> list[Path]:
    """Write ``holdings/ID.csv`` for every composite index of ``results`` (``axis_roots`` not
    empty); ``inputs`` is the publication's :class:`indexcalc.publish.PublicationInputs` (the
    series per roll rule). One roll schedule per roll rule, on the prices from
    :data:`SCHEDULE_LOOKBACK_DAYS` before the earliest first session (a schedule at a close
    depends only on its own and the previous month's business days). A total-return index
    whose excess-return levels and weights equal an index's already written (its ER twin)
    gets the same file without computing it again."""
    from indexcalc.rolls import roll_schedule

    composites = {index_id: result for index_id, result in results.items() if result.axis_roots}
    if not composites:
        return []
    multipliers = {root: instrument.multiplier for root, instrument in market.instruments.items()}
    schedules: dict[str, pl.DataFrame] = {}
    settles: dict[str, SettleTable] = {}
    written = []
    made: list[tuple[str, pl.DataFrame, pl.DataFrame, pl.DataFrame]] = []  # rule, excess, weights, holdings
    for index_id, result in composites.items():
        rule, root_levels = inputs.for_index(index_id)
        if rule is None or root_levels is None:
            continue
        key = rule.model_dump_json()
        if key not in schedules:
            roots = sorted(set(root_levels.get_column("root").unique().to_list()) & set(market.roots))
            dates = result.levels.get_column("date").sort()
            start = dates[max(0, dates.len() - sessions)] - dt.timedelta(days=SCHEDULE_LOOKBACK_DAYS)
            schedules[key] = roll_schedule(_from(market, start), rule, roots)
            settles[key] = settles_by_contract(_from(market, schedules[key].get_column("date").min()).prices)
        excess = excess_levels(result)
        holdings = next((frame for rule_key, other_excess, other_weights, frame in made
                         if rule_key == key and other_weights.equals(result.weights) and other_excess.equals(excess)),
                        None)
        if holdings is None:
            holdings = index_holdings(result, root_levels, schedules[key], None, multipliers, sessions,
                                      settles=settles[key])
            made.append((key, excess, result.weights, holdings))
        path = out_dir / HOLDINGS_FOLDER / f"{index_id}.csv"
        atomic_write_csv(path, holdings)
        written.append(path)
    return written


SCHEDULE_LOOKBACK_DAYS = 120
"""Calendar days of prices before a holdings file's first session used for its roll schedule."""


def _from(market, start: dt.date | None):
    """``market`` without the prices (and held contracts) before ``start``."""
    from dataclasses import replace

    if start is None:
        return market
    cut = pl.col("date") >= start
    return replace(market, prices=market.prices.filter(cut),
                   held=None if market.held is None else market.held.filter(cut))
