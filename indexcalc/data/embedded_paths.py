"""Random paths and reference series of the embedded market's generator (docs/design.md
section 1): the simulation grid, seeded random streams, AR(1) noise, anchor interpolation, and
the T-bill, CPI and copper macro series (:func:`_macro`). Used by :mod:`indexcalc.data.embedded`;
the model is described there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from indexcalc.data.calendars import business_days_array, month_business_day
from indexcalc.data.embedded_templates import PathTemplate
from indexcalc.data.market import INFLATION_SCHEMA, MACRO_SCHEMA, RATES_SCHEMA

if TYPE_CHECKING:
    from indexcalc.data.embedded import MarketGeneratorSpec


@dataclass(frozen=True)
class _Grid:
    """The simulation grid: union of the business days of every calendar used."""

    days: np.ndarray  # datetime64[D]
    years: np.ndarray  # decimal years
    per_year: float  # grid days per year


@dataclass(frozen=True)
class _Macro:
    usd_log_change: np.ndarray  # on the grid
    pmi_change: np.ndarray  # on the grid (non-zero on release days)
    stocks_log_change: np.ndarray  # on the grid
    tbill_grid: np.ndarray  # on the grid
    rates: pl.DataFrame
    inflation: pl.DataFrame
    macro: pl.DataFrame


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _grid(calendar_days: dict[str, np.ndarray], spec: MarketGeneratorSpec) -> _Grid:
    days = np.unique(np.concatenate(list(calendar_days.values())))
    years = _decimal_years(days)
    span_years = (np.datetime64(spec.end, "D") - np.datetime64(spec.start, "D")).astype(np.int64) / 365.25
    return _Grid(days=days, years=years, per_year=len(days) / span_years)


def _decimal_years(days: np.ndarray) -> np.ndarray:
    year_start = days.astype("datetime64[Y]")
    next_start = (year_start + 1).astype("datetime64[D]")
    year_length = (next_start - year_start.astype("datetime64[D]")).astype(np.float64)
    elapsed = (days - year_start.astype("datetime64[D]")).astype(np.float64)
    return year_start.astype(np.int64) + 1970 + elapsed / year_length


def _interp(years: np.ndarray, anchors: tuple[tuple[float, float], ...], log: bool) -> np.ndarray:
    knots = np.array([year for year, _ in anchors])
    values = np.array([value for _, value in anchors], dtype=np.float64)
    if log:
        return np.interp(years, knots, np.log(values))
    return np.interp(years, knots, values)


def _ar1(shocks: np.ndarray, persistence: float, initial: float | None = None) -> np.ndarray:
    """x_t = persistence * x_{t-1} + shock_t along axis 0.

    ``initial`` None: x_0 = shock_0 / sqrt(1 - persistence^2) (the stationary law when shocks are
    iid); otherwise x_{-1} = ``initial``.
    """
    from scipy.signal import lfilter  # imported here: scipy.signal takes ~1 s to import

    shocks = np.array(shocks, dtype=np.float64, copy=True)
    if initial is not None:
        return lfilter([1.0], [1.0, -persistence], shocks, axis=0, zi=[persistence * initial])[0]
    if persistence < 1:
        shocks[0] = shocks[0] / math.sqrt(1.0 - persistence**2)
    return lfilter([1.0], [1.0, -persistence], shocks, axis=0)


def _persistence(half_life_periods: float) -> float:
    return math.exp(-math.log(2.0) / half_life_periods)


def _unit_ar1(rng: np.random.Generator, size: tuple[int, ...], persistence: float) -> np.ndarray:
    """An AR(1) with unit stationary variance."""
    return _ar1(rng.standard_normal(size) * math.sqrt(1.0 - persistence**2), persistence)


def _macro(spec: MarketGeneratorSpec, grid: _Grid, calendar_days: dict[str, np.ndarray]) -> _Macro:
    """T-bill, CPI, USD index, China PMI, LME copper stocks (units in :class:`MacroTemplate`)."""
    template = spec.macro
    rng = _rng(spec.seed, 3)
    per_year = grid.per_year
    us_days = calendar_days[template.us_calendar]
    london_days = calendar_days[template.london_calendar]
    n = len(grid.days)

    # T-bill: anchor * exp(relative AR(1) noise) + small absolute noise, floored at 0, 1bp steps.
    tbill = template.tbill
    rel_persistence = _persistence(tbill.half_life_years * per_year)
    relative = _unit_ar1(rng, (n,), rel_persistence) * tbill.volatility * math.sqrt(tbill.half_life_years / 2)
    absolute = _unit_ar1(rng, (n,), rel_persistence) * template.tbill_floor_noise
    tbill_grid = np.round(np.maximum(_interp(grid.years, tbill.anchors, log=False) * np.exp(relative) + absolute,
                                     0.0), tbill.decimals)

    # USD index and LME stocks: log anchor path + AR(1) log deviation.
    usd_log = _log_path(rng, grid, template.usd_index)
    stocks_log = _log_path(rng, grid, template.lme_copper_stocks)
    usd = np.round(np.exp(usd_log), template.usd_index.decimals)
    stocks = np.round(np.exp(stocks_log) / template.stocks_lot) * template.stocks_lot

    # Monthly series: reference months from the month before start, released the next month.
    months = _reference_months(spec)
    month_years = _decimal_years(_first_of_months(months)) + 1.0 / 24.0
    inflation = template.inflation
    month_persistence = _persistence(inflation.half_life_years * 12)
    # CPI = cpi_base at cpi_base_month, grown by the anchor inflation (from that fixed month, so a
    # shorter span sits on the same path) and by AR(1) monthly noise cumulated from the first month.
    base_serial = template.cpi_base_month // 100 * 12 + template.cpi_base_month % 100 - 1
    month_serial = months // 100 * 12 + months % 100 - 1
    path_serial = np.arange(min(base_serial, int(month_serial[0])), int(month_serial[-1]) + 1)
    path_years = (path_serial + 0.5) / 12.0
    anchor_growth = np.cumsum(_interp(path_years, inflation.anchors, log=False) / 12.0)
    anchor_growth = anchor_growth - anchor_growth[base_serial - path_serial[0]]
    noise = np.cumsum(_unit_ar1(rng, (len(months),), month_persistence) * inflation.volatility)
    cpi = np.round(template.cpi_base * np.exp(anchor_growth[month_serial - path_serial[0]] + noise - noise[0]),
                   inflation.decimals)
    # release days may fall after ``end`` (then the value is not yet known and is left out)
    release_days = business_days_array(template.us_calendar, spec.start, date(spec.end.year + 1, 12, 31))
    cpi_release = month_business_day(release_days, _next_months(months), template.cpi_release_business_day)

    pmi_template = template.china_pmi
    pmi_persistence = _persistence(pmi_template.half_life_years * 12)
    pmi = np.round(_interp(month_years, pmi_template.anchors, log=False)
                   + _unit_ar1(rng, (len(months),), pmi_persistence) * pmi_template.volatility,
                   pmi_template.decimals)
    pmi_release = month_business_day(release_days, _next_months(months), template.pmi_release_business_day)

    cpi_keep = cpi_release <= np.datetime64(spec.end, "D")
    pmi_keep = pmi_release <= np.datetime64(spec.end, "D")
    pmi_change = np.zeros(n)
    release_index = np.searchsorted(grid.days, pmi_release[pmi_keep])
    pmi_change[release_index[1:]] = np.diff(pmi[pmi_keep])

    us_index = np.searchsorted(grid.days, us_days)
    london_index = np.searchsorted(grid.days, london_days)
    rates = pl.DataFrame({"date": us_days, "tbill": tbill_grid[us_index]}, schema=RATES_SCHEMA)
    inflation_frame = pl.DataFrame({"date": cpi_release[cpi_keep], "cpi": cpi[cpi_keep]}, schema=INFLATION_SCHEMA)
    macro = pl.concat([
        pl.DataFrame({"date": us_days, "series": "usd_index", "value": usd[us_index]}, schema=MACRO_SCHEMA),
        pl.DataFrame({"date": pmi_release[pmi_keep], "series": "china_pmi", "value": pmi[pmi_keep]},
                     schema=MACRO_SCHEMA),
        pl.DataFrame({"date": london_days, "series": "lme_copper_stocks", "value": stocks[london_index]},
                     schema=MACRO_SCHEMA),
    ]).sort("series", "date")
    return _Macro(
        usd_log_change=np.concatenate([[0.0], np.diff(np.log(usd))]),
        pmi_change=pmi_change,
        stocks_log_change=np.concatenate([[0.0], np.diff(np.log(stocks))]),
        tbill_grid=tbill_grid,
        rates=rates,
        inflation=inflation_frame,
        macro=macro,
    )


def _log_path(rng: np.random.Generator, grid: _Grid, template: PathTemplate) -> np.ndarray:
    """Log anchor path plus an AR(1) deviation whose increments have annualised sd ``volatility``."""
    persistence = _persistence(template.half_life_years * grid.per_year)
    daily = template.volatility / math.sqrt(grid.per_year)
    deviation = _ar1(rng.standard_normal(len(grid.days)) * daily, persistence)
    return _interp(grid.years, template.anchors, log=True) + deviation


def _reference_months(spec: MarketGeneratorSpec) -> np.ndarray:
    first = spec.start.year * 12 + spec.start.month - 2
    last = spec.end.year * 12 + spec.end.month - 1
    serial = np.arange(first, last + 1)
    return (serial // 12) * 100 + serial % 12 + 1


def _next_months(year_months: np.ndarray) -> np.ndarray:
    serial = (year_months // 100) * 12 + year_months % 100 - 1 + 1
    return (serial // 12) * 100 + serial % 12 + 1


def _first_of_months(year_months: np.ndarray) -> np.ndarray:
    return ((year_months // 100 - 1970) * 12 + year_months % 100 - 1).astype("datetime64[M]").astype("datetime64[D]")
