"""The daily run's and the rebuild's stamp, policies and options (docs/design.md section 7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:  # annotations only: the daily plan and the ledger view
    import polars as pl

    from indexcalc.operations.daily import DayPlan

Disruption = Literal["rules", "carry_forward", "error"]
"""The calculation's market-disruption policy (:func:`indexcalc.pipeline.rebuild_all`)."""

CalendarSource = Literal["exchange", "data"]
"""``exchange``: the union of the exchange business days of the roots in use (generated or
exchange-aligned data); ``data``: the dates on which a root in use has prices (imported vendor
data)."""


@dataclass(frozen=True)
class RunStamp:
    """When and as what a run publishes: ``run_time`` (UTC, read by the CLI) and ``run_id``."""

    run_time: dt.datetime
    run_id: str


def day_stamp(stamp: RunStamp, date: dt.date) -> RunStamp:
    """The stamp of one day of a run: the run id suffixed with the date (one ledger part each)."""
    return RunStamp(stamp.run_time, f"{stamp.run_id}-{date:%Y%m%d}")


@dataclass(frozen=True)
class OutputOptions:
    """What the daily run and the rebuild share: ``publish`` False appends to the ledger only
    (the files are rewritten by the next publishing run or rebuild); ``workers`` page-rendering
    processes (:func:`indexcalc.publish.write_publication`); ``disruption`` the calculation's
    market-disruption policy (:func:`indexcalc.pipeline.rebuild_all`; the same for both);
    ``on_step`` called after each progress step."""

    publish: bool = True
    workers: int = 1
    disruption: Disruption = "rules"
    on_step: Callable[[str], None] | None = None

    def step(self, label: str) -> None:
        """Report one progress step (nothing without ``on_step``)."""
        if self.on_step is not None:
            self.on_step(label)


@dataclass(frozen=True)
class RunOptions(OutputOptions):
    """The options of :func:`indexcalc.operations.run_daily`: ``catch_up`` runs the unpublished
    business days before the date first; ``calendar_source`` the index calendar;
    ``hold(view, plan)`` (the review step of :mod:`indexcalc.release`) True appends the day held
    for review and publishes nothing; ``on_total`` receives the number of ``on_step`` calls
    once the days to run are known."""

    catch_up: bool = False
    calendar_source: CalendarSource = "exchange"
    hold: Callable[[pl.DataFrame, DayPlan], bool] | None = None
    on_total: Callable[[int], None] | None = None


@dataclass(frozen=True)
class RebuildOptions(OutputOptions):
    """The options of :func:`indexcalc.operations.rebuild`: ``restate_reason`` publishes the
    moved levels as new versions (None refuses); ``retire`` the ids of published indexes the
    data can no longer compute, retired with ``retire_reason``; ``executor`` where the family
    computations run (:mod:`indexcalc.executors`; None: in this process)."""

    restate_reason: str | None = None
    retire: tuple[str, ...] = ()
    retire_reason: str | None = None
    executor: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "retire", tuple(self.retire))


Options = TypeVar("Options", bound=OutputOptions)


def with_keywords(options: Options, keywords: dict[str, Any]) -> Options:
    """``options`` with the fields given as keywords replaced (the call style
    ``run_daily(..., catch_up=True)``); an unknown keyword is a TypeError."""
    return replace(options, **keywords) if keywords else options
