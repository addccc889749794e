"""The in-memory market: validated frames every later stage reads (docs/design.md section 1).

Frame schemas (all dates ``pl.Date``, money ``Float64``, contracts ``YYYYMM`` Int32):

- ``prices``: ``date, root, contract, settle, volume, open_interest``; one row per
  (date, root, contract); volume and open interest may be null; sorted by root, date, contract.
- ``rates``: ``date, tbill``: 3-month T-bill discount yield as a fraction (0.05 = 5%).
- ``inflation``: ``date, cpi``: CPI index level, one row per month; ``date`` is the day the
  value becomes known (release date), so as-of joins on it never look ahead.
- ``macro``: ``date, series, value``: other reference series in long form, ``date`` again the
  day the value is known. Series used by the copper strategy: ``usd_index``, ``china_pmi``,
  ``lme_copper_stocks``.
- ``held``: optional ``date, root, contract``: the contract a vendor's data says is held at the
  close of ``date`` (pysystemtrade's PRICE contract); roll rule "data" uses it.
- ``provenance``: optional, a market merged from several sources: the source of each price row
  (:mod:`indexcalc.data.provenance`); no calculation reads it.
- ``sessions``: optional ``calendar, date``: the business days of every instrument's exchange
  calendar (:func:`indexcalc.data.calendars.with_exchange_sessions`, added by the loaders), the
  days the prices cannot show yet (first notice days after the data's last date). The
  calculation reads them here and never builds a calendar itself (docs/design.md section 2).
- ``import_report``: optional, the importer's per-root report (rows, sessions, rows attributed
  to another session ...; :func:`indexcalc.data.sessions.import_report`), shown by ``data check``.

``synthetic`` says the market is generated, not real (the embedded market: set by its generator
and by the reader of its files, from their ``indexcalc.synthetic`` metadata; never guessed from
a path). Everything published from such a market carries the label (docs/design.md section 7).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import polars as pl

from indexcalc.data.instruments import Instrument

PRICES_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "contract": pl.Int32(),
    "settle": pl.Float64(),
    "volume": pl.Float64(),
    "open_interest": pl.Float64(),
}
RATES_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "tbill": pl.Float64()}
INFLATION_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "cpi": pl.Float64()}
MACRO_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "series": pl.String(), "value": pl.Float64()}
HELD_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "root": pl.String(), "contract": pl.Int32()}
SESSIONS_SCHEMA: dict[str, pl.DataType] = {"calendar": pl.String(), "date": pl.Date()}


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class MarketData:
    """Validated market and reference data, plus the instruments it covers."""

    prices: pl.DataFrame
    instruments: dict[str, Instrument]
    rates: pl.DataFrame = field(default_factory=lambda: empty_frame(RATES_SCHEMA))
    inflation: pl.DataFrame = field(default_factory=lambda: empty_frame(INFLATION_SCHEMA))
    macro: pl.DataFrame = field(default_factory=lambda: empty_frame(MACRO_SCHEMA))
    held: pl.DataFrame | None = None
    source: str = ""
    provenance: pl.DataFrame | None = None
    import_report: pl.DataFrame | None = None
    synthetic: bool = False
    sessions: pl.DataFrame | None = None

    @property
    def roots(self) -> list[str]:
        """The sorted roots that have prices."""
        return list(self._roots)

    @functools.cached_property
    def _roots(self) -> tuple[str, ...]:
        # Found once per market (its frames are never changed in place), from the runs of the
        # root column when it is sorted by root (the documented order): a pass over millions
        # of strings per call otherwise adds up across the pipeline and the daily run.
        runs = self.prices.select(pl.col("root").rle().struct.field("value")).to_series()
        if runs.null_count() == 0 and (runs.len() < 2 or (runs.slice(1) > runs.slice(0, runs.len() - 1)).all()):
            return tuple(runs.to_list())
        return tuple(sorted(self.prices.get_column("root").unique().to_list()))

    def up_to(self, last_date) -> "MarketData":
        """The market as it was known at the close of ``last_date`` (nothing later; the exchange
        ``sessions`` are a calendar, known in advance, and kept whole)."""
        cut = pl.col("date") <= last_date
        return replace(
            self,
            prices=self.prices.filter(cut),
            rates=self.rates.filter(cut),
            inflation=self.inflation.filter(cut),
            macro=self.macro.filter(cut),
            held=None if self.held is None else self.held.filter(cut),
            provenance=None if self.provenance is None else self.provenance.filter(cut),
        )

    def macro_series(self, name: str) -> pl.DataFrame:
        """One reference series as ``date, value``."""
        return self.macro.filter(pl.col("series") == name).select("date", "value").sort("date")
