"""One entry point for every command's ``--data/--format`` options (docs/design.md section 1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from indexcalc.data.calendars import with_exchange_sessions
from indexcalc.data.longformat import read_long
from indexcalc.data.market import MarketData
from indexcalc.data.pysystemtrade import MULTIPLE_PRICES_DIR, read_pysystemtrade
from indexcalc.data.validate import refuse_future_rows
from indexcalc.errors import DataError

DataFormat = Literal["long", "pysystemtrade", "merge"]
DATA_FORMATS: tuple[DataFormat, ...] = ("long", "pysystemtrade", "merge")
MERGE_SPEC_SUFFIX = ".toml"
"""A ``--data`` path ending in .toml is a merge spec (:mod:`indexcalc.data.merge`)."""


def load_market(path: str | Path | None, fmt: DataFormat | None = None, *, not_after: dt.date | None = None) -> MarketData:
    """The validated market at ``path``, with its instruments' exchange sessions
    (:func:`indexcalc.data.calendars.with_exchange_sessions`: the calculation reads no calendar).

    ``path`` None: the embedded default market. Otherwise ``fmt`` chooses the reader; when it
    is None, a directory holding ``multiple_prices_csv/`` is read as pysystemtrade's layout, a
    ``.toml`` file as a merge spec and anything else as the long format (a prices file or a
    directory). A row of data read from ``path`` dated after ``not_after`` (the run's clock,
    :func:`indexcalc.clock.run_today` at the command line) is a DataError naming file and row
    (long format) or key.
    """
    market = _load(path, fmt, not_after)
    if not_after is not None and path is not None:
        # the embedded market is the project's own synthetic data (fixed dates, committed and
        # checked against a fresh generation): not held to the machine's clock
        refuse_future_market(market, not_after)
    # The embedded market (path None) comes with its sessions from its own loader.
    return market if path is None or market.sessions is not None else with_exchange_sessions(market)


def refuse_future_market(market: MarketData, not_after: dt.date) -> None:
    """Refuse a market with a row dated after ``not_after`` (by key: for readers whose rows were
    not checked against the clock with their file position)."""
    source = market.source or "embedded market"
    refuse_future_rows(market.prices, not_after, source, ("root", "date", "contract"))
    for frame, keys in ((market.rates, ("date",)), (market.inflation, ("date",)), (market.macro, ("series", "date"))):
        refuse_future_rows(frame, not_after, source, keys)
    if market.held is not None:
        refuse_future_rows(market.held, not_after, source, ("root", "date"))


def _load(path: str | Path | None, fmt: DataFormat | None, not_after: dt.date | None) -> MarketData:
    if path is None:
        if fmt is not None:
            raise DataError(f"--format {fmt} needs a data path")
        # Imported here: the embedded market is optional for every other reader.
        from indexcalc.data.embedded import load_default_market

        return load_default_market()
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or directory", file=str(path))
    if fmt is None:
        if (path / MULTIPLE_PRICES_DIR).is_dir():
            fmt = "pysystemtrade"
        else:
            fmt = "merge" if path.suffix == MERGE_SPEC_SUFFIX else "long"
    if fmt == "merge":
        from indexcalc.data.merge import read_merged

        return read_merged(path).market
    if fmt == "pysystemtrade":
        if not path.is_dir():
            raise DataError("pysystemtrade data is a directory (with multiple_prices_csv/)", file=str(path))
        return read_pysystemtrade(path)
    if fmt == "long":
        return read_long(path, not_after=not_after)
    raise DataError(f"unknown data format {fmt!r} (expected one of {', '.join(DATA_FORMATS)})", file=str(path))
