"""``data check``: every check the calculation runs, reported per root (docs/design.md sections
1 and 2).

    check_market(market: MarketData, rule: RollRule, disruption: str = "rules",
                 max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS) -> MarketCheck

The checks are the calculation's own functions, not a second implementation: the series are
built with the run's policy (:func:`indexcalc.series.build_series`: the problem that stops
``series``/``rebuild`` is the one reported, with the same root, contract and date), and the
counts come from the same roll and disruption steps without a limit
(:func:`indexcalc.series.disruption_diagnostics`). Per root (:data:`TABLE_COLUMNS`):

- ``rows``, ``contracts``, ``sessions``: price rows, contracts, calculation days;
- the importer's own per-root report, when the market carries one (``market.import_report``: a
  frame with a ``root`` column, such as rows re-attributed to another session), column by column;
- ``disrupted``: sessions where a held (or rolled-into) contract has no settlement, its last one
  kept; ``longest_run``: the most consecutive ones (more than the limit stops the run);
  ``first_disrupted``: the first such date;
- ``late_rolls``: closes where a roll step waited (the weights held differ from the roll rule's:
  for the data roll, the file's next contract had no settlement yet);
- ``never_priced``: contracts the roll rule holds (for the data roll: the file's held contract)
  that have no settlement on any day they are held, ``first_never_priced`` the first
  of them (``contract@date``): the calculation skips them (data roll) or carries over them;
- ``ends_early``: the root's last date when it is before the market's last date;
- ``problem``: the root's own error when its series cannot be computed under the policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import IndexCalcError
from indexcalc.disruption import MAX_DISRUPTED_SESSIONS
from indexcalc.series import build_series, disruption_diagnostics
from indexcalc.specs.base import RollRule

TABLE_COLUMNS = (
    "root",
    "first",
    "last",
    "rows",
    "contracts",
    "sessions",
    "disrupted",
    "longest_run",
    "first_disrupted",
    "late_rolls",
    "never_priced",
    "first_never_priced",
    "ends_early",
)
"""The per-root columns (the importer's report columns, if any, go after ``sessions``)."""


@dataclass(frozen=True)
class MarketCheck:
    """What ``data check`` found: the per-root ``table`` (:data:`TABLE_COLUMNS` and
    ``problem``), the ``error`` that stops ``series``/``rebuild`` on this market under the
    policy (None if they compute) and the market's ``first``/``last`` dates."""

    table: pl.DataFrame
    error: IndexCalcError | None
    first: dt.date
    last: dt.date

    @property
    def problems(self) -> pl.DataFrame:
        """``root, problem`` for the roots whose series stop."""
        return self.table.filter(pl.col("problem").is_not_null()).select("root", "problem")

    def as_json(self) -> dict:
        """The check as JSON-ready values (dates as ISO strings)."""
        rows = self.table.with_columns(
            pl.col(name).cast(pl.String) for name, dtype in self.table.schema.items() if dtype == pl.Date
        ).to_dicts()
        return {
            "ok": self.error is None,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "roots": rows,
            "error": None if self.error is None else str(self.error),
        }


def check_market(
    market: MarketData,
    rule: RollRule,
    disruption: str = "rules",
    max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS,
) -> MarketCheck:
    """Run the calculation's checks on ``market`` with roll ``rule`` and the disruption policy
    (module doc). The market-wide ``error`` is the one ``build_series`` raises on the whole
    market (the earliest over all roots); each root's own problem is in the table."""
    prices = market.prices
    error = None
    try:
        build_series(market, rule, disruption=disruption, max_disrupted_sessions=max_disrupted_sessions)
    except IndexCalcError as found:
        error = found
    problems = _root_problems(market, rule, disruption, max_disrupted_sessions) if error else {}
    last = prices.get_column("date").max()
    table = (
        _coverage(prices)
        .join(_disruption_counts(market, rule), on="root", how="left")
        .with_columns(pl.when(pl.col("last") < last).then(pl.col("last")).alias("ends_early"))
        .select(TABLE_COLUMNS)
        .sort("root")
    )
    table = _with_import_report(table, getattr(market, "import_report", None))
    table = table.with_columns(
        pl.col("root").replace_strict(problems, default=None, return_dtype=pl.String).alias("problem")
    )
    return MarketCheck(table=table, error=error, first=prices.get_column("date").min(), last=last)


def _root_problems(market: MarketData, rule: RollRule, disruption: str, limit: int) -> dict[str, str]:
    """Each root's own error under the policy (its series alone: a root's series depends on
    its own prices only)."""
    problems = {}
    for root in market.roots:
        try:
            build_series(market, rule, roots=[root], disruption=disruption, max_disrupted_sessions=limit)
        except IndexCalcError as found:
            problems[root] = str(found)
    return problems


def _coverage(prices: pl.DataFrame) -> pl.DataFrame:
    return prices.group_by("root").agg(
        pl.col("date").min().alias("first"),
        pl.col("date").max().alias("last"),
        pl.len().alias("rows"),
        pl.col("contract").n_unique().alias("contracts"),
    )


def _disruption_counts(market: MarketData, rule: RollRule) -> pl.DataFrame:
    """``root, sessions, disrupted, longest_run, first_disrupted, late_rolls, never_priced,
    first_never_priced`` from the calculation's own steps (no limit)."""
    days = disruption_diagnostics(market, rule)
    new_run = pl.col("disrupted") & ~pl.col("disrupted").shift(1).over("root").fill_null(False)
    runs = (
        days.with_columns(new_run.cum_sum().alias("run"))
        .filter(pl.col("disrupted"))
        .group_by("root", "run")
        .agg(pl.len().alias("length"))
        .group_by("root")
        .agg(pl.col("length").max().alias("longest_run"))
    )
    counts = days.group_by("root").agg(
        pl.len().alias("sessions"),
        pl.col("disrupted").sum().alias("disrupted"),
        pl.col("date").filter(pl.col("disrupted")).min().alias("first_disrupted"),
        pl.col("postponed").sum().alias("late_rolls"),
    )
    held = (
        days.select("root", "date", pl.col("rule_contracts").str.split(" ").alias("contract"))
        .explode("contract")
        .drop_nulls("contract")
        .with_columns(pl.col("contract").cast(pl.Int32))
    )
    priced = market.prices.filter(pl.col("settle").is_not_null()).select("root", "date", "contract", pl.lit(True).alias("priced"))
    never = (
        held.join(priced, on=["root", "date", "contract"], how="left")
        .group_by("root", "contract")
        .agg(pl.col("priced").any().alias("priced"), pl.col("date").min().alias("from"))
        .filter(~pl.col("priced").fill_null(False))
        .sort("root", "from")
        .group_by("root", maintain_order=True)
        .agg(
            pl.len().alias("never_priced"),
            pl.concat_str(pl.col("contract").cast(pl.String), pl.lit("@"), pl.col("from").cast(pl.String))
            .first()
            .alias("first_never_priced"),
        )
    )
    return (
        counts.join(runs, on="root", how="left")
        .join(never, on="root", how="left")
        .with_columns(pl.col("longest_run").fill_null(0), pl.col("never_priced").fill_null(0))
    )


def _with_import_report(table: pl.DataFrame, report: object) -> pl.DataFrame:
    """``table`` with the importer's per-root report columns after ``sessions`` (none when the
    market has no report frame with a ``root`` column)."""
    if not isinstance(report, pl.DataFrame) or "root" not in report.columns:
        return table
    extra = [name for name in report.columns if name != "root" and name not in table.columns]
    if not extra:
        return table
    joined = table.join(report.select("root", *extra), on="root", how="left")
    at = list(TABLE_COLUMNS).index("sessions") + 1
    return joined.select(*TABLE_COLUMNS[:at], *extra, *TABLE_COLUMNS[at:])
