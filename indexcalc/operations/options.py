"""The daily run's and the rebuild's stamp and policies (docs/design.md section 7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

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
