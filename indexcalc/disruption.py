"""Market disruption of the single-commodity series: which sessions are disrupted, the roll
steps they postpone and the limit on consecutive ones (docs/design.md section 2).

As the large commodity index methodologies state it, a session t of a root is *disrupted* when
a contract held at the close of t-1 (weight > 0), or a contract the roll schedule gives a
weight at the close of t, has no settlement on t (zero and negative settlements are prices,
:mod:`indexcalc.series`). Then:

- the held contract keeps its last settlement for t (so F_{c,t} = F_{c,s}, s its last
  priced date) and the row of t is flagged ``disrupted``;
- the weights do not change at the close of t: a roll step due on t is postponed to the next
  session that is not disrupted, which then moves to the weights the schedule gives it
  (``w_t = w^sched_{g(t)}``, g(t) = the last session on or before t that is not disrupted; with
  the 20%/day window roll, a step missed on one day is made together with the next day's).
  The data roll follows a vendor's file that has already left the old contract: there only
  the contract rolled into must have a settlement (it always has: :func:`indexcalc.data_roll.
  data_roll_targets`), and an old contract without one is valued at its last settlement;
- more than ``max_disrupted_sessions`` consecutive disrupted sessions of one root stop the run
  with a DataError naming root, contract and the dates (first disrupted session to the session
  over the limit).

The ``disruption`` policy chooses the limit (:func:`disruption_limit`): ``"rules"`` (default) ``max_disrupted_sessions``
(:data:`MAX_DISRUPTED_SESSIONS`), ``"carry_forward"`` none, ``"error"`` 0 (the first disrupted
session stops the run, naming root, contract and date). A root's first date is never disrupted
(nothing is held before it); a contract held at its close without a settlement there has no
price to keep, which stops the run under every policy.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from indexcalc.errors import DataError, SpecError
from indexcalc.keyed_prices import KEY_SCALE, lookup_settle


Disruption = Literal["rules", "carry_forward", "error"]
DISRUPTION_POLICIES: tuple[str, ...] = ("rules", "carry_forward", "error")


MAX_DISRUPTED_SESSIONS = 5
"""Consecutive disrupted sessions of one root carried under the default policy ("rules"); one
more stops the run. Five sessions is the span after which the large commodity index
methodologies stop applying their mechanical rule (keep the last settlement, postpone the roll)
and have the index sponsor determine a price: a calculator cannot make that decision, so it
stops and names the root, contract and dates (docs/design.md section 2)."""


def disruption_limit(disruption: str, max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS) -> int | None:
    """Consecutive disrupted sessions a policy carries: "rules" ``max_disrupted_sessions``,
    "carry_forward" no limit (None), "error" 0."""
    if disruption not in DISRUPTION_POLICIES:
        raise SpecError(f"disruption must be one of {', '.join(DISRUPTION_POLICIES)}, got {disruption!r}")
    if max_disrupted_sessions < 0:
        raise SpecError(f"max_disrupted_sessions must be 0 or more, got {max_disrupted_sessions}")
    return {"rules": max_disrupted_sessions, "carry_forward": None, "error": 0}[disruption]


def schedule_days(schedule: pl.DataFrame) -> pl.DataFrame:
    """``root, date, day_key, previous_date``: one row per day of a roll schedule with
    ``day_key`` (its order), ``previous_date`` the root's previous day (null on its first)."""
    first_of_day = (pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)
    same_root_as_previous = pl.col("day_key").shift(1) // KEY_SCALE == pl.col("day_key") // KEY_SCALE
    return (
        schedule.filter(first_of_day)
        .select("root", "date", "day_key")
        .with_columns(pl.when(same_root_as_previous).then(pl.col("date").shift(1)).alias("previous_date"))
    )


def _day_numbers(schedule: pl.DataFrame) -> pl.Series:
    """Position of each schedule row's day among the schedule's days (0, 1, ...)."""
    return schedule.select(
        ((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True).cum_sum() - 1).alias("day")
    ).to_series()


def _unpriced_per_day(rows: pl.DataFrame, indexed: pl.DataFrame, days: int) -> pl.Series:
    """Per day 0..days-1: the smallest contract of ``rows`` (``day, day_key, contract``: the
    contracts to price on that day) without a settle on that day (zero and negative settles are
    prices); null if none."""
    keys = rows.select(pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64)).to_series()
    unpriced = rows.filter(lookup_settle(indexed, keys).is_null())
    return (
        pl.DataFrame({"day": pl.int_range(days, eager=True, dtype=pl.Int64)})
        .join(unpriced.group_by("day").agg(pl.col("contract").min()).cast({"day": pl.Int64}), on="day", how="left")
        .sort("day")
        .get_column("contract")
    )


def disrupted_sessions(
    schedule: pl.DataFrame, days: pl.DataFrame, indexed: pl.DataFrame, postpone_when_held_unpriced: bool = True
) -> pl.DataFrame:
    """Which days of the schedule are disrupted sessions (module doc, docs/design.md section 2).

    ``schedule``: roll weights with ``day_key`` (:func:`indexcalc.rolls.schedule_from_prices`),
    ``days`` its :func:`schedule_days`, ``indexed`` the prices (:func:`indexcalc.keyed_prices.indexed_prices`).
    Returns, per day in ``days`` order: ``root, date, day_key, disrupted`` (bool), ``contract``
    (the smallest contract without a settlement that makes it disrupted; null otherwise),
    ``postponed`` (the weights do not change at its close) and ``source_day`` (position of g(t),
    the last day on or before it whose weights are not postponed: its scheduled weights are
    the ones held at the close of t).

    With w_{t-1} the weights held at the close of t-1 (the schedule's at g(t-1)):

        disrupted_t = some c with w_{c,t-1} > 0 or w^sched_{c,t} > 0 has no settle_{c,t}
                      (false on a root's first day)
        postponed_t = disrupted_t (the index rolls: neither leg of a roll step trades without a
                      settlement); with ``postpone_when_held_unpriced`` False (the data roll,
                      which follows a vendor's file that has already left the old contract)
                      only a scheduled contract without a settlement postpones
        g(t)        = t if not postponed_t, else g(t-1)

    w_{t-1} depends on the flags before t, so the flags are found by repeating one vectorised
    pass (flags -> g -> flags) until they no longer change: a fixed point satisfies the
    recursion on every day, which determines the flags, and each pass settles at least one
    more day of every run of postponed days (so the passes are a few more than the longest run).
    """
    n = days.height
    if n == 0:
        return days.select("root", "date", "day_key").with_columns(
            pl.lit(False).alias("disrupted"),
            pl.lit(None, pl.Int32).alias("contract"),
            pl.lit(False).alias("postponed"),
            pl.lit(None, pl.Int64).alias("source_day"),
        )
    day = _day_numbers(schedule)
    rows = schedule.select("day_key", "contract").with_columns(day.alias("day").cast(pl.Int64))
    scheduled_unpriced = _unpriced_per_day(rows, indexed, n)
    position = pl.int_range(n, eager=True, dtype=pl.Int64)
    first = days.get_column("previous_date").is_null()
    day_keys = days.get_column("day_key")
    postponed = pl.Series([False] * n)
    for _ in range(n + 1):
        source = pl.select(
            pl.when(postponed).then(None).otherwise(position).forward_fill().alias("source")
        ).to_series()
        # the weights held at the close of t-1: the schedule's at g(t-1), priced on t
        held_from = pl.DataFrame({"day": position, "day_key": day_keys, "from_day": source.shift(1)}).filter(~first)
        held = held_from.join(rows.select(pl.col("day").alias("from_day"), "contract"), on="from_day").select(
            "day", "day_key", "contract"
        )
        held_unpriced = _unpriced_per_day(held, indexed, n)
        contract = pl.select(pl.min_horizontal(scheduled_unpriced, held_unpriced).alias("contract")).to_series()
        postponing = contract if postpone_when_held_unpriced else scheduled_unpriced
        now = pl.select((postponing.is_not_null() & ~first).alias("postponed")).to_series()
        if now.equals(postponed):
            break
        postponed = now
    disrupted = pl.select((contract.is_not_null() & ~first).alias("disrupted")).to_series()
    return days.select("root", "date", "day_key").with_columns(
        disrupted,
        pl.when(disrupted).then(contract).alias("contract"),
        postponed.alias("postponed"),
        source.alias("source_day"),
    )


def check_disruption_limit(sessions: pl.DataFrame, limit: int | None, source: str) -> None:
    """Stop (DataError naming root, contract and dates) where a root has more than ``limit``
    consecutive disrupted sessions (:func:`disrupted_sessions`); the earliest such session over
    all roots is reported (then root, then contract). ``limit`` None: no limit; 0: the first
    disrupted session stops, naming its date (module doc)."""
    if limit is None or not sessions.get_column("disrupted").any():
        return
    root_position = pl.col("day_key") // KEY_SCALE
    run_start = pl.col("disrupted") & ~(
        pl.col("disrupted").shift(1).fill_null(False) & (root_position.shift(1) == root_position).fill_null(False)
    )
    runs = sessions.with_columns(run_start.cum_sum().alias("run")).filter(pl.col("disrupted"))
    runs = runs.with_columns(
        pl.col("date").first().over("run").alias("first_date"),
        pl.col("contract").first().over("run").alias("first_contract"),
        pl.int_range(pl.len()).over("run").alias("count"),
    )
    over = runs.filter(pl.col("count") == limit).sort("date", "root", "first_contract")
    if over.height == 0:
        return
    root, date, first_date, contract = over.select("root", "date", "first_date", "first_contract").row(0)
    if limit == 0:
        raise DataError(
            "market disruption: held contract has no settlement",
            file=source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )
    raise DataError(
        f"market disruption on {limit + 1} consecutive sessions (more than {limit}): held contract "
        "has no settlement",
        file=source or None,
        key=f"root {root}, contract {contract}, dates {first_date} to {date}",
    )


def postponed_schedule(schedule: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """The weights held at each close: the schedule's weights of g(t) (:func:`disrupted_sessions`),
    so the weights do not change at the close of a disrupted session and a postponed roll step
    is made at the next session that is not disrupted. Same columns and order as ``schedule``."""
    if not sessions.get_column("postponed").any():
        return schedule
    rows = schedule.with_columns(_day_numbers(schedule).cast(pl.Int64).alias("source_day"))
    return (
        sessions.select("root", "date", "day_key", "source_day")
        .join(rows.select("source_day", "contract", "weight"), on="source_day")
        .sort(pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64))
        .select(schedule.columns)
    )
