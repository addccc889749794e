"""The embedded default market: a deterministic, seeded SYNTHETIC generator (DESIGN.md section 1).

Nothing here is real market data. :func:`generate_market` turns a :class:`MarketGeneratorSpec`
into contract-level daily settlements, volume and open interest for every root of the instrument
catalogue, plus a T-bill rate, CPI and the copper macro factors, all in the frame schemas of
:mod:`indexcalc.data.market`. The same spec (seed included) always gives identical frames.

Price model (per root ``i``, grid day ``t``, contract ``c`` with last trade ``T_c``, time to
last trade ``tau`` in years, all logs natural)::

    ln F_{c,t} = L_t + D_t * exp(-kappa * tau) + g_t * tau + A * cos(2 pi (month(c) - peak) / 12)

- ``L_t = a_t + e_t``: the long-term level: ``a_t`` log-linear interpolation of the template's
  anchor prices (a stylised 1995-2026 history in the instrument's ``price_unit``), ``e_t`` an
  AR(1) deviation with half-life ``long_half_life_years``.
- ``D_t``: the short-term deviation (Schwartz-Smith), AR(1) with half-life
  ``short_half_life_years`` around a regime target ``+regime_level`` (backwardation) or
  ``-regime_level`` (contango); regimes alternate with gamma-distributed durations.
  ``kappa = ln 2 / short_half_life_years``. Front carry is about ``kappa * D_t - g_t``.
- ``g_t = carry_drift + rate_loading * tbill_t``: the long-end slope per year (storage and
  financing: gold's contango follows the T-bill rate).
- ``A, peak``: seasonal curve by delivery month (natural gas and heating oil winter premium,
  grains old-crop/new-crop).

Shocks: ``sigma_i * m_{i,t} * z_{i,t}`` with ``z = sqrt(common) f_common + sqrt(sector) f_sector
+ sqrt(1 - common - sector) u_i`` (unit variance, so within-sector correlation of shocks is about
``common + sector``), split between ``L`` (share ``1 - short_share`` of the variance) and ``D``;
``m = exp(h - vol_of_vol^2)`` a volatility multiplier whose log ``h`` is an AR(1) mix of common,
sector and own components (volatility clustering) plus stress episodes. Copper's ``L`` also takes
``usd_beta * dln(usd_index) + pmi_beta * d(china_pmi) + stocks_beta * dln(lme_copper_stocks)``.

Open interest of a contract is the root's total (``open_interest`` times a common growth path
times slow noise) shared across the live contracts by a hump in months to last trade; volume is
``turnover`` times the total shared by a hump nearer the front, scaled by the volatility
multiplier. Both are integers. Settles are rounded to the template's tick and kept >= one tick.

All random numbers come from ``numpy.random.Generator(PCG64)`` streams keyed by
``SeedSequence(seed, spawn_key=...)``: common factors, one stream per sector, one per root and
clone, one for reference series, so the 23 default roots do not change when clones are added.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import typing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from indexcalc.data.calendars import business_days_array, month_business_day
from indexcalc.data.instruments import DEFAULT_INSTRUMENTS_PATH, Instrument, Sector, load_instruments
from indexcalc.data.market import (
    INFLATION_SCHEMA,
    MACRO_SCHEMA,
    PRICES_SCHEMA,
    RATES_SCHEMA,
    MarketData,
)
from indexcalc.errors import DataError, SpecError

DEFAULT_MARKET_DIR = Path(__file__).resolve().parents[2] / "data" / "market"
"""Where the committed embedded market lives (``data/market/*.parquet``)."""

MARKET_FILES: dict[str, str] = {
    "prices": "prices.parquet",
    "rates": "rates.parquet",
    "inflation": "inflation.parquet",
    "macro": "macro.parquet",
}
INSTRUMENTS_FILE = "instruments.toml"
"""Written beside the Parquet files only when the market has roots beyond the default catalogue."""

SYNTHETIC_LABEL = "SYNTHETIC embedded market (indexcalc.data.embedded, not real data)"

Anchors = tuple[tuple[float, float], ...]
"""(decimal year, value) knots, interpolated log-linearly (linearly for rates and PMI)."""

_SECTORS: tuple[str, ...] = typing.get_args(Sector)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_anchors(anchors: Anchors, name: str) -> None:
    years = [year for year, _ in anchors]
    if not anchors or any(later <= earlier for earlier, later in zip(years, years[1:])):
        raise ValueError(f"{name}: anchor years must be non-empty and strictly increasing")


class PriceTemplate(_Frozen):
    """Generator parameters of one root (units: fractions per year unless stated)."""

    root: str
    anchors: Anchors = Field(description="(decimal year, price in the instrument's price_unit), positive")
    volatility: float = Field(gt=0, description="annualised volatility of front-month log returns")
    common_loading: float = Field(ge=0, le=1, description="variance share of the common commodity factor")
    sector_loading: float = Field(ge=0, le=1, description="variance share of the sector factor")
    short_share: float = Field(0.3, ge=0, le=1, description="variance share of the short-term factor D")
    short_half_life_years: float = Field(0.4, gt=0)
    long_half_life_years: float = Field(0.6, gt=0, description="reversion of L to the anchor path")
    regime_level: float = Field(0.04, ge=0, description="target of D in backwardation (+) / contango (-), log")
    regime_years: float = Field(1.5, gt=0, description="mean length of a contango+backwardation cycle / 2")
    backwardation_share: float = Field(0.4, gt=0, lt=1, description="long-run share of time in backwardation")
    carry_drift: float = Field(0.02, description="long-end log slope per year before rates (storage)")
    rate_loading: float = Field(0.5, ge=0, description="weight of the T-bill rate in the long-end slope")
    seasonal_amplitude: float = Field(0.0, ge=0, description="log amplitude of the delivery-month curve")
    seasonal_peak_month: int = Field(1, ge=1, le=12)
    tick: float = Field(gt=0, description="settle rounding, price_unit")
    listing_months: int = Field(15, ge=13, le=36, description="months a contract trades before its expiry month")
    open_interest: float = Field(gt=0, description="whole-curve open interest at growth 1, contracts")
    turnover: float = Field(0.25, gt=0, description="whole-curve daily volume / open interest")
    usd_beta: float = Field(0.0, description="loading on daily log returns of usd_index")
    pmi_beta: float = Field(0.0, description="loading on changes of china_pmi (per index point)")
    stocks_beta: float = Field(0.0, description="loading on daily log changes of lme_copper_stocks")

    @model_validator(mode="after")
    def _valid(self) -> "PriceTemplate":
        _check_anchors(self.anchors, self.root)
        if any(value <= 0 for _, value in self.anchors):
            raise ValueError(f"{self.root}: anchor prices must be positive")
        if self.common_loading + self.sector_loading > 1:
            raise ValueError(f"{self.root}: common_loading + sector_loading must not exceed 1")
        return self


class PathTemplate(_Frozen):
    """A reference series: anchor path plus AR(1) noise (log for levels, absolute for rates)."""

    anchors: Anchors
    volatility: float = Field(ge=0, description="annualised sd of the noise increments")
    half_life_years: float = Field(gt=0)
    decimals: int = Field(ge=0, le=8)

    @model_validator(mode="after")
    def _valid(self) -> "PathTemplate":
        _check_anchors(self.anchors, "path")
        return self


class StressEpisode(_Frozen):
    """A stretch of higher volatility for every root: log volatility multiplier raised by ``log_vol``."""

    start: date
    end: date
    log_vol: float = Field(ge=0)


class MacroTemplate(_Frozen):
    """Rates, CPI and copper macro factors (units in each field)."""

    tbill: PathTemplate = Field(description="3-month T-bill discount yield, fraction; noise relative to level")
    tbill_floor_noise: float = Field(0.0002, ge=0, description="absolute daily noise sd near zero, fraction")
    inflation: PathTemplate = Field(description="annual CPI inflation anchors, fraction; noise monthly sd")
    cpi_base: float = Field(gt=0, description="CPI level of the reference month cpi_base_month")
    cpi_base_month: int = Field(199412, description="YYYYMM whose CPI is cpi_base")
    cpi_release_business_day: int = Field(10, ge=1, le=20, description="release day in the following month")
    usd_index: PathTemplate
    china_pmi: PathTemplate = Field(description="monthly; volatility = monthly sd of the AR(1) part, points")
    pmi_release_business_day: int = Field(1, ge=1, le=5)
    lme_copper_stocks: PathTemplate = Field(description="tonnes")
    stocks_lot: float = Field(25.0, gt=0, description="stocks rounded to this many tonnes")
    us_calendar: str = "CMES"
    london_calendar: str = "XLON"


class LiquidityTemplate(_Frozen):
    """How open interest and volume spread across the curve and grow over time."""

    growth: Anchors = Field(description="(decimal year, multiple of open_interest) common growth path")
    level_noise: float = Field(0.15, ge=0, description="sd of the slow log noise of total open interest")
    level_half_life_years: float = Field(1.0, gt=0)
    oi_peak_months: float = Field(1.6, gt=0, description="months to last trade where a contract's OI peaks")
    oi_shape: float = Field(1.5, gt=0)
    oi_tail: float = Field(0.06, ge=0, description="relative OI kept by far contracts")
    oi_tail_months: float = Field(8.0, gt=0)
    oi_noise: float = Field(0.03, ge=0, description="sd of daily log noise per contract")
    volume_peak_months: float = Field(0.9, gt=0)
    volume_shape: float = Field(1.5, gt=0)
    volume_tail: float = Field(0.02, ge=0)
    volume_noise: float = Field(0.25, ge=0)

    @model_validator(mode="after")
    def _valid(self) -> "LiquidityTemplate":
        _check_anchors(self.growth, "growth")
        return self


def _t(root: str, anchors: Anchors, **fields) -> PriceTemplate:
    return PriceTemplate(root=root, anchors=anchors, **fields)


_ENERGY = dict(listing_months=18, short_half_life_years=0.35, long_half_life_years=0.6, regime_level=0.06,
               regime_years=1.5, backwardation_share=0.45, carry_drift=0.02, rate_loading=0.5)
_BASE = dict(listing_months=14, short_share=0.2, short_half_life_years=0.5, long_half_life_years=0.6,
             regime_level=0.025, regime_years=2.0, backwardation_share=0.3, carry_drift=0.015, rate_loading=0.8)
_PRECIOUS = dict(listing_months=14, short_share=0.005, short_half_life_years=0.5, long_half_life_years=0.8,
                 regime_level=0.0, backwardation_share=0.5, carry_drift=-0.004, rate_loading=1.0)
_GRAINS = dict(listing_months=15, short_share=0.4, short_half_life_years=0.4, long_half_life_years=0.6,
               regime_level=0.05, regime_years=1.5, backwardation_share=0.35, carry_drift=0.04, rate_loading=0.5)
_SOFTS = dict(listing_months=15, short_share=0.35, short_half_life_years=0.4, long_half_life_years=0.6,
              regime_level=0.05, regime_years=1.5, backwardation_share=0.4, carry_drift=0.03, rate_loading=0.5)

DEFAULT_PRICE_TEMPLATES: tuple[PriceTemplate, ...] = (
    _t("CL", ((1995.0, 18), (1998.9, 11.5), (2000.7, 32), (2001.9, 20), (2003.2, 32), (2004.8, 50),
              (2006.6, 74), (2007.0, 58), (2008.5, 133), (2008.97, 42), (2011.3, 105), (2012.5, 85),
              (2014.5, 103), (2016.1, 31), (2018.8, 74), (2019.5, 58), (2020.3, 22), (2021.0, 50),
              (2022.4, 112), (2023.4, 72), (2024.3, 83), (2025.3, 63), (2026.8, 62)),
       volatility=0.35, common_loading=0.12, sector_loading=0.75, short_share=0.45, tick=0.01,
       open_interest=1_700_000, turnover=0.5, **_ENERGY),
    _t("CO", ((1995.0, 17), (1998.9, 10.5), (2000.7, 33), (2001.9, 19), (2003.2, 31), (2004.8, 48),
              (2006.6, 75), (2007.0, 56), (2008.5, 135), (2008.97, 43), (2011.3, 120), (2012.5, 97),
              (2014.5, 110), (2016.1, 32), (2018.8, 84), (2019.5, 64), (2020.3, 25), (2021.0, 54),
              (2022.4, 118), (2023.4, 77), (2024.3, 88), (2025.3, 67), (2026.8, 65)),
       volatility=0.33, common_loading=0.12, sector_loading=0.75, short_share=0.45, tick=0.01,
       open_interest=2_200_000, turnover=0.4, **_ENERGY),
    _t("NG", ((1995.0, 1.6), (1997.0, 2.6), (1999.0, 2.1), (2000.97, 8.5), (2001.9, 2.7), (2003.2, 6.0),
              (2005.8, 12.0), (2006.7, 6.0), (2008.5, 12.5), (2009.7, 3.3), (2010.0, 5.3), (2012.3, 2.1),
              (2014.1, 5.0), (2016.2, 1.9), (2018.9, 4.0), (2020.5, 1.8), (2022.6, 8.5), (2023.3, 2.3),
              (2024.2, 1.8), (2025.1, 3.8), (2026.8, 3.4)),
       volatility=0.62, common_loading=0.08, sector_loading=0.03, short_share=0.6, tick=0.001,
       seasonal_amplitude=0.12, seasonal_peak_month=1, open_interest=1_300_000, turnover=0.35,
       **(_ENERGY | dict(short_half_life_years=0.25, regime_level=0.10, regime_years=1.2, carry_drift=0.12,
                     backwardation_share=0.35))),
    _t("RB", ((1995.0, 0.55), (1998.9, 0.36), (2000.7, 0.95), (2001.9, 0.58), (2003.2, 0.95), (2004.8, 1.35),
              (2006.6, 2.10), (2007.0, 1.55), (2008.5, 3.30), (2008.97, 1.05), (2011.3, 3.10), (2012.5, 2.70),
              (2014.5, 2.90), (2016.1, 1.05), (2018.8, 2.05), (2019.5, 1.80), (2020.3, 0.65), (2021.0, 1.45),
              (2022.4, 3.70), (2023.4, 2.50), (2024.3, 2.60), (2025.3, 2.10), (2026.8, 1.95)),
       volatility=0.37, common_loading=0.10, sector_loading=0.55, short_share=0.5, tick=0.0001,
       seasonal_amplitude=0.05, seasonal_peak_month=7, open_interest=380_000, turnover=0.35, **_ENERGY),
    _t("HO", ((1995.0, 0.50), (1998.9, 0.32), (2000.7, 0.95), (2001.9, 0.55), (2003.2, 0.90), (2004.8, 1.45),
              (2006.6, 2.00), (2007.0, 1.60), (2008.5, 3.80), (2008.97, 1.30), (2011.3, 3.20), (2012.5, 2.90),
              (2014.5, 2.90), (2016.1, 0.95), (2018.8, 2.35), (2019.5, 1.90), (2020.3, 0.85), (2021.0, 1.55),
              (2022.4, 4.10), (2023.4, 2.45), (2024.3, 2.60), (2025.3, 2.25), (2026.8, 2.25)),
       volatility=0.33, common_loading=0.10, sector_loading=0.65, short_share=0.45, tick=0.0001,
       seasonal_amplitude=0.05, seasonal_peak_month=1, open_interest=380_000, turnover=0.35, **_ENERGY),
    _t("LA", ((1995.0, 1850), (1999.0, 1300), (2000.5, 1600), (2002.5, 1350), (2006.4, 2800), (2008.5, 3000),
              (2009.1, 1350), (2011.3, 2600), (2013.5, 1800), (2015.9, 1480), (2018.3, 2250), (2020.3, 1450),
              (2022.2, 3400), (2023.4, 2250), (2024.4, 2500), (2025.5, 2550), (2026.8, 2650)),
       volatility=0.22, common_loading=0.12, sector_loading=0.40, tick=0.5,
       open_interest=650_000, turnover=0.15, **_BASE),
    _t("HG", ((1995.0, 1.30), (1996.4, 1.05), (1998.9, 0.72), (2000.5, 0.85), (2001.9, 0.65), (2003.2, 0.78),
              (2006.4, 3.30), (2007.0, 2.50), (2008.5, 3.40), (2008.97, 1.45), (2011.1, 4.00), (2013.5, 3.10),
              (2016.0, 2.05), (2018.4, 2.90), (2020.2, 2.20), (2021.4, 4.10), (2022.7, 3.40), (2024.4, 4.20),
              (2025.5, 4.40), (2026.8, 4.40)),
       volatility=0.25, common_loading=0.12, sector_loading=0.45, tick=0.0005,
       open_interest=210_000, turnover=0.35, usd_beta=-0.6, pmi_beta=0.006, stocks_beta=-0.15, **_BASE),
    _t("LL", ((1995.0, 650), (1997.0, 700), (2001.0, 470), (2003.0, 500), (2005.0, 950), (2007.8, 3400),
              (2008.97, 1000), (2011.3, 2600), (2013.0, 2100), (2015.9, 1650), (2018.1, 2500), (2020.3, 1650),
              (2022.2, 2300), (2024.4, 2150), (2026.8, 1950)),
       volatility=0.28, common_loading=0.10, sector_loading=0.40, tick=0.5,
       open_interest=130_000, turnover=0.15, **_BASE),
    _t("LN", ((1995.0, 8200), (1996.0, 7500), (1998.9, 4300), (2000.2, 9500), (2001.9, 5500), (2004.0, 14000),
              (2007.4, 48000), (2008.97, 9700), (2011.1, 26000), (2013.5, 14000), (2014.4, 18500), (2016.0, 8500),
              (2019.7, 17000), (2020.3, 11500), (2022.2, 30000), (2023.4, 22000), (2024.4, 18000),
              (2025.5, 15200), (2026.8, 15000)),
       volatility=0.33, common_loading=0.10, sector_loading=0.35, tick=5.0,
       open_interest=220_000, turnover=0.15, **_BASE),
    _t("LT", ((1995.0, 6200), (1997.0, 5800), (2002.0, 4100), (2004.5, 8800), (2006.0, 7500), (2008.4, 23000),
              (2008.97, 11000), (2011.3, 32000), (2013.0, 22000), (2015.9, 14500), (2018.0, 20500),
              (2020.3, 15000), (2022.1, 44000), (2023.0, 25000), (2024.4, 31000), (2025.5, 33000), (2026.8, 35000)),
       volatility=0.25, common_loading=0.08, sector_loading=0.30, tick=5.0,
       open_interest=18_000, turnover=0.15, **_BASE),
    _t("LX", ((1995.0, 1050), (1997.5, 1500), (2000.0, 1150), (2002.5, 780), (2006.9, 4300), (2008.97, 1150),
              (2011.0, 2350), (2015.9, 1550), (2018.1, 3400), (2020.3, 1900), (2022.3, 4200), (2023.4, 2600),
              (2024.4, 2850), (2026.8, 2900)),
       volatility=0.26, common_loading=0.12, sector_loading=0.40, tick=0.5,
       open_interest=270_000, turnover=0.15, **_BASE),
    _t("GC", ((1995.0, 385), (1996.0, 395), (1999.6, 260), (2001.3, 265), (2004.0, 410), (2006.4, 650),
              (2008.2, 930), (2008.8, 780), (2011.7, 1800), (2013.5, 1250), (2015.9, 1060), (2016.5, 1330),
              (2018.7, 1200), (2020.6, 1950), (2022.8, 1650), (2023.9, 2050), (2024.8, 2650), (2025.8, 3900),
              (2026.8, 4000)),
       volatility=0.16, common_loading=0.08, sector_loading=0.60, tick=0.1,
       open_interest=520_000, turnover=0.4, **_PRECIOUS),
    _t("SI", ((1995.0, 5.0), (1998.1, 6.5), (2001.9, 4.2), (2004.3, 7.5), (2006.4, 13.0), (2008.2, 19.0),
              (2008.8, 10.0), (2011.3, 42.0), (2013.5, 19.5), (2015.9, 14.0), (2016.5, 19.5), (2020.3, 12.5),
              (2020.6, 26.0), (2022.7, 19.0), (2024.4, 29.0), (2025.8, 46.0), (2026.8, 45.0)),
       volatility=0.28, common_loading=0.12, sector_loading=0.60, tick=0.005,
       open_interest=160_000, turnover=0.35, **_PRECIOUS),
    _t("PA", ((1995.0, 155), (1997.4, 190), (2001.1, 980), (2003.3, 190), (2006.4, 380), (2008.2, 520),
              (2008.9, 190), (2011.1, 800), (2013.0, 720), (2016.0, 500), (2020.2, 2450), (2021.4, 2800),
              (2022.2, 2700), (2023.4, 1450), (2024.2, 950), (2025.5, 1100), (2026.8, 1300)),
       volatility=0.33, common_loading=0.10, sector_loading=0.35, tick=0.05,
       open_interest=9_000, turnover=0.3, **_PRECIOUS),
    _t("PL", ((1995.0, 410), (1999.0, 360), (2001.1, 610), (2002.0, 480), (2006.4, 1250), (2008.2, 2000),
              (2008.9, 820), (2011.3, 1800), (2013.0, 1550), (2015.9, 860), (2018.7, 790), (2020.3, 700),
              (2021.1, 1150), (2022.7, 880), (2024.4, 980), (2025.5, 1350), (2026.8, 1500)),
       volatility=0.23, common_loading=0.10, sector_loading=0.45, tick=0.1,
       open_interest=70_000, turnover=0.3, **_PRECIOUS),
    _t("C", ((1995.0, 240), (1996.5, 470), (1998.5, 215), (2000.5, 200), (2003.0, 240), (2004.3, 300),
             (2005.5, 210), (2007.1, 400), (2008.5, 580), (2008.97, 370), (2010.5, 360), (2011.4, 640),
             (2012.6, 690), (2014.6, 350), (2016.5, 380), (2019.5, 420), (2020.6, 320), (2021.4, 690),
             (2022.4, 690), (2023.5, 520), (2024.5, 410), (2025.5, 430), (2026.8, 440)),
       volatility=0.25, common_loading=0.10, sector_loading=0.45, tick=0.25,
       seasonal_amplitude=0.04, seasonal_peak_month=6, open_interest=1_400_000, turnover=0.25, **_GRAINS),
    _t("W", ((1995.0, 370), (1996.4, 640), (1998.5, 270), (2000.5, 260), (2002.8, 400), (2004.0, 370),
             (2006.0, 350), (2007.9, 870), (2008.2, 1050), (2008.97, 540), (2010.4, 470), (2011.1, 800),
             (2012.6, 900), (2014.6, 530), (2016.6, 400), (2018.6, 530), (2020.5, 510), (2022.2, 1100),
             (2023.0, 700), (2024.5, 570), (2025.5, 530), (2026.8, 540)),
       volatility=0.28, common_loading=0.10, sector_loading=0.45, tick=0.25,
       seasonal_amplitude=0.03, seasonal_peak_month=4, open_interest=420_000, turnover=0.25, **_GRAINS),
    _t("S", ((1995.0, 560), (1997.3, 820), (1999.4, 440), (2001.5, 450), (2004.3, 1000), (2005.5, 560),
             (2007.0, 750), (2008.5, 1500), (2008.97, 870), (2011.2, 1400), (2012.7, 1700), (2014.7, 980),
             (2016.5, 1100), (2018.5, 860), (2020.3, 850), (2021.4, 1550), (2022.4, 1650), (2023.5, 1400),
             (2024.5, 1050), (2025.5, 1030), (2026.8, 1060)),
       volatility=0.22, common_loading=0.10, sector_loading=0.40, tick=0.25,
       seasonal_amplitude=0.04, seasonal_peak_month=7, open_interest=650_000, turnover=0.25, **_GRAINS),
    _t("CT", ((1995.0, 95), (1995.4, 105), (1999.0, 55), (2001.8, 35), (2003.9, 75), (2005.0, 47),
              (2008.2, 75), (2009.0, 45), (2011.2, 190), (2012.0, 80), (2014.3, 90), (2015.9, 62),
              (2018.5, 85), (2020.3, 53), (2022.4, 140), (2023.0, 82), (2024.4, 78), (2025.5, 67), (2026.8, 66)),
       volatility=0.26, common_loading=0.06, sector_loading=0.10, tick=0.01,
       open_interest=230_000, turnover=0.15, **_SOFTS),
    _t("KC", ((1995.0, 170), (1997.4, 270), (1999.0, 110), (2001.8, 48), (2004.0, 70), (2005.2, 120),
              (2008.0, 135), (2011.3, 290), (2013.8, 105), (2014.3, 200), (2016.0, 125), (2019.4, 95),
              (2020.0, 125), (2021.8, 230), (2023.0, 165), (2024.8, 260), (2025.2, 400), (2026.8, 370)),
       volatility=0.32, common_loading=0.06, sector_loading=0.10, tick=0.05,
       open_interest=220_000, turnover=0.15, **_SOFTS),
    _t("SB", ((1995.0, 14.5), (1999.4, 5.0), (2000.8, 10.0), (2002.5, 6.0), (2006.1, 18.0), (2007.2, 10.0),
              (2010.0, 28.0), (2010.4, 15.0), (2011.1, 32.0), (2013.0, 17.0), (2015.7, 11.0), (2016.8, 22.0),
              (2018.7, 11.0), (2020.3, 10.5), (2023.7, 26.0), (2024.5, 20.0), (2025.5, 16.5), (2026.8, 15.0)),
       volatility=0.30, common_loading=0.06, sector_loading=0.10, tick=0.01,
       open_interest=900_000, turnover=0.15, **_SOFTS),
    _t("OJ", ((1995.0, 110), (1998.0, 105), (2000.0, 80), (2004.0, 57), (2006.9, 200), (2009.0, 80),
              (2012.0, 200), (2013.5, 120), (2016.0, 160), (2020.0, 105), (2022.0, 140), (2023.5, 270),
              (2024.7, 450), (2025.3, 260), (2026.8, 210)),
       volatility=0.30, common_loading=0.05, sector_loading=0.08, tick=0.05,
       open_interest=11_000, turnover=0.1, **_SOFTS),
    _t("LB", ((1995.0, 300), (1996.5, 400), (1999.0, 330), (2002.0, 260), (2004.5, 450), (2006.0, 300),
              (2009.2, 180), (2013.1, 380), (2015.5, 270), (2018.4, 600), (2019.5, 350), (2020.0, 420),
              (2020.7, 850), (2021.4, 1400), (2021.8, 650), (2022.2, 1100), (2023.0, 520), (2024.5, 530),
              (2025.5, 580), (2026.8, 560)),
       volatility=0.30, common_loading=0.05, sector_loading=0.06, tick=0.1,
       open_interest=4_000, turnover=0.15, **_SOFTS),
)
"""Stylised per-root parameters: anchor paths loosely follow 1995-2026 price history."""

DEFAULT_MACRO_TEMPLATE = MacroTemplate(
    tbill=PathTemplate(
        anchors=((1995.0, 0.057), (1996.0, 0.050), (1998.7, 0.049), (1998.95, 0.044), (2000.5, 0.060),
                 (2001.0, 0.058), (2001.95, 0.017), (2003.5, 0.009), (2004.4, 0.010), (2006.5, 0.050),
                 (2007.5, 0.049), (2008.3, 0.013), (2008.95, 0.0005), (2015.9, 0.0015), (2016.5, 0.003),
                 (2017.0, 0.005), (2018.95, 0.0238), (2019.5, 0.021), (2019.9, 0.0155), (2020.2, 0.0005),
                 (2021.95, 0.0005), (2022.25, 0.008), (2022.95, 0.0435), (2023.6, 0.053), (2024.6, 0.052),
                 (2024.95, 0.043), (2025.7, 0.041), (2026.0, 0.038), (2026.8, 0.037)),
        volatility=0.25, half_life_years=0.08, decimals=4),
    inflation=PathTemplate(
        anchors=((1995.0, 0.028), (1998.0, 0.016), (2000.2, 0.036), (2002.0, 0.014), (2005.7, 0.045),
                 (2007.0, 0.022), (2008.5, 0.055), (2009.5, -0.018), (2010.5, 0.012), (2011.7, 0.038),
                 (2013.0, 0.016), (2015.3, -0.001), (2017.0, 0.024), (2019.0, 0.017), (2020.4, 0.002),
                 (2021.5, 0.054), (2022.5, 0.089), (2023.5, 0.032), (2024.5, 0.029), (2025.5, 0.027),
                 (2026.8, 0.028)),
        volatility=0.0008, half_life_years=0.1, decimals=3),
    cpi_base=150.3,
    usd_index=PathTemplate(
        anchors=((1995.0, 88.0), (1995.3, 81.5), (1997.5, 97.0), (1998.9, 93.0), (2001.5, 118.0),
                 (2002.9, 102.0), (2004.9, 81.5), (2005.9, 91.0), (2008.3, 72.5), (2008.9, 86.0),
                 (2011.3, 74.5), (2012.5, 83.0), (2014.5, 80.5), (2015.2, 98.0), (2017.0, 102.0),
                 (2018.1, 89.0), (2020.2, 99.5), (2021.4, 90.0), (2022.75, 112.0), (2023.5, 101.0),
                 (2024.9, 107.0), (2025.5, 98.0), (2026.8, 99.0)),
        volatility=0.07, half_life_years=0.5, decimals=3),
    china_pmi=PathTemplate(
        anchors=((1995.0, 50.5), (2008.7, 50.0), (2008.95, 41.5), (2009.25, 48.0), (2009.6, 52.5),
                 (2011.0, 51.0), (2019.95, 51.0), (2020.12, 40.5), (2020.3, 50.5), (2021.0, 52.5),
                 (2022.4, 48.5), (2023.0, 49.5), (2026.8, 50.5)),
        volatility=1.2, half_life_years=0.2, decimals=1),
    lme_copper_stocks=PathTemplate(
        anchors=((1995.0, 300_000), (1996.5, 150_000), (1998.5, 550_000), (2002.5, 950_000),
                 (2005.5, 35_000), (2007.2, 200_000), (2008.0, 140_000), (2009.2, 550_000), (2011.0, 420_000),
                 (2013.6, 650_000), (2014.8, 150_000), (2016.0, 230_000), (2018.2, 350_000),
                 (2019.5, 250_000), (2021.7, 80_000), (2023.0, 100_000), (2024.6, 300_000),
                 (2025.5, 120_000), (2026.8, 140_000)),
        volatility=0.19, half_life_years=0.4, decimals=0),
)

DEFAULT_LIQUIDITY_TEMPLATE = LiquidityTemplate(
    growth=((1995.0, 0.30), (2000.0, 0.40), (2004.0, 0.65), (2008.0, 1.0), (2014.0, 1.05), (2026.8, 1.15)),
)

DEFAULT_STRESS_EPISODES: tuple[StressEpisode, ...] = (
    StressEpisode(start=date(1998, 8, 17), end=date(1998, 12, 31), log_vol=0.25),
    StressEpisode(start=date(2001, 9, 11), end=date(2001, 11, 30), log_vol=0.25),
    StressEpisode(start=date(2008, 9, 15), end=date(2009, 4, 30), log_vol=0.6),
    StressEpisode(start=date(2020, 3, 2), end=date(2020, 6, 30), log_vol=0.5),
    StressEpisode(start=date(2022, 2, 24), end=date(2022, 6, 30), log_vol=0.3),
)


class MarketGeneratorSpec(_Frozen):
    """Everything that determines the embedded market; same spec -> identical frames."""

    seed: int = Field(1995, ge=0)
    start: date = date(1995, 1, 1)
    end: date = Field(date(2026, 10, 31), description="last day: the latest full month, fixed for reproducibility")
    extra_roots: int = Field(0, ge=0, description="clones of the templates (CL_001, ...) for scaling benchmarks")
    roots: tuple[PriceTemplate, ...] = DEFAULT_PRICE_TEMPLATES
    macro: MacroTemplate = DEFAULT_MACRO_TEMPLATE
    liquidity: LiquidityTemplate = DEFAULT_LIQUIDITY_TEMPLATE
    stress_episodes: tuple[StressEpisode, ...] = DEFAULT_STRESS_EPISODES
    vol_of_vol: float = Field(0.3, ge=0, description="sd of the log volatility multiplier")
    vol_half_life_days: float = Field(25.0, gt=0, description="half-life of volatility shocks, business days")
    vol_common_share: float = Field(0.4, ge=0, le=1)
    vol_sector_share: float = Field(0.2, ge=0, le=1)
    deviation_soft_start: float = Field(0.25, gt=0, description="log deviation of spot from the anchor path "
                                        "beyond which it is softly compressed")
    deviation_limit: float = Field(0.5, gt=0, description="log deviation never exceeded (keeps levels plausible)")
    days_per_month: float = Field(30.4375, gt=0, description="calendar days per month (time to expiry)")
    expiry_margin_years: int = Field(3, ge=2, description="contracts are laid out this far beyond the span")

    @model_validator(mode="after")
    def _valid(self) -> "MarketGeneratorSpec":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.deviation_limit <= self.deviation_soft_start:
            raise ValueError("deviation_limit must exceed deviation_soft_start")
        if self.vol_common_share + self.vol_sector_share > 1:
            raise ValueError("vol_common_share + vol_sector_share must not exceed 1")
        roots = [template.root for template in self.roots]
        if len(set(roots)) != len(roots):
            raise ValueError("duplicated root templates")
        return self


# ---------------------------------------------------------------------------------------------
# Generation


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


def generate_market(spec: MarketGeneratorSpec, instruments: dict[str, Instrument] | None = None) -> MarketData:
    """The synthetic market of ``spec`` (model in the module docstring), deterministic.

    ``instruments`` defaults to the shipped catalogue ``data/instruments.toml``; every root there
    needs a template in ``spec.roots``. Clones (``spec.extra_roots``) are named ``ROOT_001``...,
    cycling over the templates, and are added to the returned instruments.
    """
    catalogue = load_instruments() if instruments is None else instruments
    templates = {template.root: template for template in spec.roots}
    missing = sorted(set(catalogue) - set(templates))
    if missing:
        raise SpecError(f"no generator template for roots {', '.join(missing)}", key="MarketGeneratorSpec.roots")
    base_roots = list(catalogue)
    members = _members(base_roots, spec.extra_roots)
    root_instruments = {name: catalogue[base].model_copy(update={"root": name}) for name, base, _ in members}

    calendars = sorted({instrument.calendar for instrument in catalogue.values()}
                       | {spec.macro.us_calendar, spec.macro.london_calendar})
    calendar_days = {code: business_days_array(code, spec.start, spec.end) for code in calendars}
    grid = _grid(calendar_days, spec)
    macro = _macro(spec, grid, calendar_days)

    # random streams are keyed by the template's position in spec.roots (not the catalogue's order)
    template_index = {template.root: index for index, template in enumerate(spec.roots)}
    root_templates = [templates[base] for _, base, _ in members]
    sectors = [catalogue[base].sector for _, base, _ in members]
    levels = _simulate_levels(spec, grid, macro, root_templates, sectors,
                              [(template_index[base], clone) for _, base, clone in members])

    frames = []
    for column, (name, base, clone) in enumerate(members):
        instrument = root_instruments[name]
        expiry_days = business_days_array(
            instrument.calendar,
            date(spec.start.year - spec.expiry_margin_years, 1, 1),
            date(spec.end.year + spec.expiry_margin_years, 12, 31),
        )
        frames.append(_root_prices(
            spec, grid, instrument, templates[base], calendar_days[instrument.calendar], expiry_days,
            levels, column, _rng(spec.seed, 4, template_index[base], clone),
        ))
    prices = (
        pl.concat(frames, how="vertical")
        .sort("root", "date", "contract")
        .select([pl.col(name).cast(dtype) for name, dtype in PRICES_SCHEMA.items()])
    )
    return MarketData(
        prices=prices,
        instruments=dict(sorted(root_instruments.items())),
        rates=macro.rates,
        inflation=macro.inflation,
        macro=macro.macro,
        source=f"{SYNTHETIC_LABEL}, seed {spec.seed}",
        synthetic=True,
    )


def _members(base_roots: list[str], extra_roots: int) -> list[tuple[str, str, int]]:
    """(root name, template root, clone number) for the base roots then the clones."""
    members = [(root, root, 0) for root in base_roots]
    for number in range(1, extra_roots + 1):
        base = base_roots[(number - 1) % len(base_roots)]
        members.append((f"{base}_{number:03d}", base, number))
    return members


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


@dataclass(frozen=True)
class _Levels:
    long_level: np.ndarray  # L, grid x roots
    short_level: np.ndarray  # D, grid x roots
    slope: np.ndarray  # g, grid x roots, per year
    vol_multiplier: np.ndarray  # m, grid x roots
    open_interest: np.ndarray  # whole-curve open interest, grid x roots


def _simulate_levels(
    spec: MarketGeneratorSpec,
    grid: _Grid,
    macro: _Macro,
    templates: list[PriceTemplate],
    sectors: list[str],
    stream_keys: list[tuple[int, int]],
) -> _Levels:
    """Factor shocks, volatility clustering, regimes and levels for every root on the grid."""
    n = len(grid.days)
    per_year = grid.per_year
    vol_persistence = _persistence(spec.vol_half_life_days)

    common_rng = _rng(spec.seed, 0)
    common_vol = _unit_ar1(common_rng, (n,), vol_persistence)
    common_long = common_rng.standard_normal(n)
    common_short = common_rng.standard_normal(n)
    sector_draws = {}
    for sector in sorted(set(sectors)):
        sector_rng = _rng(spec.seed, 1, _SECTORS.index(sector))
        sector_draws[sector] = (
            _unit_ar1(sector_rng, (n,), vol_persistence),
            sector_rng.standard_normal(n),
            sector_rng.standard_normal(n),
        )
    stress = np.zeros(n)
    for episode in spec.stress_episodes:
        inside = (grid.days >= np.datetime64(episode.start, "D")) & (grid.days <= np.datetime64(episode.end, "D"))
        stress[inside] += episode.log_vol

    growth = np.exp(_interp(grid.years, spec.liquidity.growth, log=True))
    own_share = 1.0 - spec.vol_common_share - spec.vol_sector_share
    shape = (n, len(templates))
    long_level, short_level, slope, multiplier, open_interest = (np.empty(shape) for _ in range(5))
    for column, (template, sector, key) in enumerate(zip(templates, sectors, stream_keys)):
        rng = _rng(spec.seed, 2, *key)
        sector_vol, sector_long, sector_short = sector_draws[sector]
        log_vol = spec.vol_of_vol * (
            math.sqrt(spec.vol_common_share) * common_vol
            + math.sqrt(spec.vol_sector_share) * sector_vol
            + math.sqrt(own_share) * _unit_ar1(rng, (n,), vol_persistence)
        )
        multiplier[:, column] = np.exp(log_vol - spec.vol_of_vol**2 + stress)
        own_loading = 1.0 - template.common_loading - template.sector_loading
        loadings = (math.sqrt(template.common_loading), math.sqrt(template.sector_loading), math.sqrt(own_loading))
        long_shock = loadings[0] * common_long + loadings[1] * sector_long + loadings[2] * rng.standard_normal(n)
        short_shock = loadings[0] * common_short + loadings[1] * sector_short + loadings[2] * rng.standard_normal(n)
        daily = template.volatility / math.sqrt(per_year)
        long_daily = daily * math.sqrt(1.0 - template.short_share)
        short_daily = daily * math.sqrt(template.short_share)

        macro_move = (template.usd_beta * macro.usd_log_change + template.pmi_beta * macro.pmi_change
                      + template.stocks_beta * macro.stocks_log_change)
        long_persistence = _persistence(template.long_half_life_years * per_year)
        long_deviation = _ar1(long_daily * multiplier[:, column] * long_shock + macro_move, long_persistence)

        short_persistence = _persistence(template.short_half_life_years * per_year)
        regime = _regimes(rng, n, template, per_year)
        target = template.regime_level * regime
        short_noise = _ar1(short_daily * multiplier[:, column] * short_shock, short_persistence)
        short_level[:, column] = _ar1((1.0 - short_persistence) * target, short_persistence,
                                      initial=target[0]) + short_noise
        spot_deviation = _soft_band(long_deviation + short_level[:, column], spec.deviation_soft_start,
                                    spec.deviation_limit)
        long_level[:, column] = (_interp(grid.years, template.anchors, log=True) + spot_deviation
                                 - short_level[:, column])

        slope[:, column] = template.carry_drift + template.rate_loading * macro.tbill_grid
        level_persistence = _persistence(spec.liquidity.level_half_life_years * per_year)
        level_noise = _unit_ar1(rng, (n,), level_persistence) * spec.liquidity.level_noise
        open_interest[:, column] = template.open_interest * growth * np.exp(level_noise)
    return _Levels(long_level, short_level, slope, multiplier, open_interest)


def _soft_band(deviation: np.ndarray, soft_start: float, limit: float) -> np.ndarray:
    """Identity for |x| <= soft_start, then soft_start + (limit - soft_start) * tanh((|x| - soft_start)
    / (limit - soft_start)) with the sign of x: continuous with slope 1 at soft_start, never beyond limit."""
    excess = np.maximum(np.abs(deviation) - soft_start, 0.0)
    width = limit - soft_start
    return np.where(excess > 0, np.sign(deviation) * (soft_start + width * np.tanh(excess / width)), deviation)


def _regimes(rng: np.random.Generator, n: int, template: PriceTemplate, per_year: float) -> np.ndarray:
    """+1 (backwardation) / -1 (contango) per grid day; gamma(2) durations, alternating states."""
    mean_back = 2.0 * template.regime_years * template.backwardation_share * per_year
    mean_contango = 2.0 * template.regime_years * (1.0 - template.backwardation_share) * per_year
    pairs = int(n / min(mean_back, mean_contango)) + 8
    starts_in_backwardation = rng.random() < template.backwardation_share
    back = rng.gamma(2.0, mean_back / 2.0, pairs)
    contango = rng.gamma(2.0, mean_contango / 2.0, pairs)
    first, second = (back, contango) if starts_in_backwardation else (contango, back)
    durations = np.column_stack([first, second]).ravel()
    durations[0] *= rng.random()  # the span starts part-way through a regime
    switches = np.cumsum(durations)
    spells = np.searchsorted(switches, np.arange(n), side="right")
    in_first_state = spells % 2 == 0
    in_backwardation = in_first_state == starts_in_backwardation
    return np.where(in_backwardation, 1.0, -1.0)


def _root_prices(
    spec: MarketGeneratorSpec,
    grid: _Grid,
    instrument: Instrument,
    template: PriceTemplate,
    root_days: np.ndarray,
    expiry_days: np.ndarray,
    levels: _Levels,
    column: int,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Rows ``date, root, contract, settle, volume, open_interest`` of one root, sorted by date, contract.

    Contracts: every listed month; last trade = ``expiry_business_day`` of the month
    ``expiry_months_before`` before delivery (on the root's calendar); first trade = first
    business day ``listing_months`` months before that month.
    """
    liquidity = spec.liquidity
    contracts = _listed_contracts(instrument, spec)
    expiry_months = _shift_months(contracts, -instrument.expiry_months_before)
    last_trade = month_business_day(expiry_days, expiry_months, instrument.expiry_business_day)
    first_trade = month_business_day(expiry_days, _shift_months(expiry_months, -template.listing_months), 1)
    first_index = np.searchsorted(root_days, first_trade, side="left")
    end_index = np.searchsorted(root_days, last_trade, side="right")
    live = end_index > first_index
    contracts, last_trade, first_index, end_index = (
        contracts[live], last_trade[live], first_index[live], end_index[live])

    lengths = end_index - first_index
    contract_row = np.repeat(np.arange(len(contracts)), lengths)
    day_row = np.repeat(first_index - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    order = np.lexsort((contract_row, day_row))
    contract_row, day_row = contract_row[order], day_row[order]

    row_dates = root_days[day_row]
    grid_row = np.searchsorted(grid.days, root_days)[day_row]
    tau_days = (last_trade[contract_row] - row_dates).astype(np.float64)
    tau_years = tau_days / 365.25
    tau_months = tau_days / spec.days_per_month
    delivery_month = contracts[contract_row] % 100

    kappa = math.log(2.0) / template.short_half_life_years
    log_settle = (
        levels.long_level[grid_row, column]
        + levels.short_level[grid_row, column] * np.exp(-kappa * tau_years)
        + levels.slope[grid_row, column] * tau_years
        + template.seasonal_amplitude * np.cos(2.0 * np.pi * (delivery_month - template.seasonal_peak_month) / 12.0)
    )
    decimals = max(0, -math.floor(math.log10(template.tick)) + 1)
    settle = np.round(np.maximum(np.round(np.exp(log_settle) / template.tick), 1.0) * template.tick, decimals)

    day_count = len(root_days)
    oi_hump = _hump(tau_months, liquidity.oi_peak_months, liquidity.oi_shape, liquidity.oi_tail,
                    liquidity.oi_tail_months)
    volume_hump = _hump(tau_months, liquidity.volume_peak_months, liquidity.volume_shape, liquidity.volume_tail,
                        liquidity.oi_tail_months)
    oi_share = oi_hump / np.bincount(day_row, weights=oi_hump, minlength=day_count)[day_row]
    volume_share = volume_hump / np.bincount(day_row, weights=volume_hump, minlength=day_count)[day_row]
    total_oi = levels.open_interest[grid_row, column]
    open_interest = np.floor(total_oi * oi_share * np.exp(liquidity.oi_noise * rng.standard_normal(len(day_row))))
    day_activity = np.exp(liquidity.volume_noise * rng.standard_normal(day_count))[day_row]
    volume = np.floor(
        total_oi * template.turnover * volume_share * levels.vol_multiplier[grid_row, column] * day_activity
        * np.exp(liquidity.volume_noise * rng.standard_normal(len(day_row)))
    )
    return pl.DataFrame(
        {
            "date": row_dates,
            "root": np.full(len(day_row), instrument.root),
            "contract": contracts[contract_row].astype(np.int32),
            "settle": settle,
            "volume": volume,
            "open_interest": open_interest,
        },
        schema=PRICES_SCHEMA,
    )


def _listed_contracts(instrument: Instrument, spec: MarketGeneratorSpec) -> np.ndarray:
    """YYYYMM of every listed delivery month from a year before start to the expiry margin after end."""
    years = np.arange(spec.start.year - 1, spec.end.year + spec.expiry_margin_years)
    months = np.array(instrument.listed_month_numbers)
    return (years[:, None] * 100 + months[None, :]).ravel().astype(np.int64)


def _shift_months(year_months: np.ndarray, months: int) -> np.ndarray:
    serial = (year_months // 100) * 12 + year_months % 100 - 1 + months
    return (serial // 12) * 100 + serial % 12 + 1


def _hump(tau_months: np.ndarray, peak: float, shape: float, tail: float, tail_months: float) -> np.ndarray:
    """Gamma-shaped weight in months to last trade, peaking at ``peak``, plus a decaying far tail.

    w = (tau/peak)^shape * exp(shape * (1 - tau/peak)) + tail * exp(-tau/tail_months) * (1 - exp(-tau/peak))
    """
    ratio = np.maximum(tau_months, 0.0) / peak
    hump = ratio**shape * np.exp(shape * (1.0 - ratio))
    far = tail * np.exp(-tau_months / tail_months) * (1.0 - np.exp(-ratio))
    return hump + far + 1e-9


# ---------------------------------------------------------------------------------------------
# Files


def write_market(market: MarketData, directory: Path | str, seed: int | None = None) -> None:
    """Write the four frames as zstd Parquet (``prices``, ``rates``, ``inflation``, ``macro``)
    under ``directory``, labelled synthetic (``market.synthetic``) in the file metadata; add ``instruments.toml`` when the
    market has roots beyond the default catalogue. Files are written to a temporary directory
    beside ``directory`` and renamed into place."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"indexcalc.synthetic": "true" if market.synthetic else "false", "indexcalc.source": market.source}
    if seed is not None:
        metadata["indexcalc.seed"] = str(seed)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        frames = {"prices": market.prices, "rates": market.rates, "inflation": market.inflation,
                  "macro": market.macro}
        for name, file_name in MARKET_FILES.items():
            frames[name].write_parquet(staging / file_name, compression="zstd", compression_level=9,
                                       statistics=False, metadata=metadata)
        default_roots = set(load_instruments())
        if set(market.instruments) != default_roots:
            (staging / INSTRUMENTS_FILE).write_text(instruments_toml(market.instruments))
        directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(staging.iterdir()):
            os.replace(path, directory / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def instruments_toml(instruments: dict[str, Instrument]) -> str:
    """A ``[[instrument]]`` TOML catalogue of ``instruments`` (readable by ``load_instruments``)."""
    lines = ["# Instrument catalogue written with a generated market (indexcalc data generate)."]
    for instrument in instruments.values():
        lines.append("\n[[instrument]]")
        for key, value in instrument.model_dump(exclude_none=True).items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_market(directory: Path | str) -> MarketData:
    """Read a market written by :func:`write_market` (instruments from ``instruments.toml`` there,
    else the default catalogue). A missing or unreadable file is a :class:`DataError`."""
    directory = Path(directory)
    schemas = {"prices": PRICES_SCHEMA, "rates": RATES_SCHEMA, "inflation": INFLATION_SCHEMA, "macro": MACRO_SCHEMA}
    frames = {}
    for name, file_name in MARKET_FILES.items():
        path = directory / file_name
        try:
            frame = pl.read_parquet(path)
        except FileNotFoundError:
            raise DataError("file not found", file=str(path)) from None
        except Exception as error:  # polars raises several error types for a corrupt file
            raise DataError(f"not a readable Parquet file ({error})", file=str(path)) from None
        missing = [column for column in schemas[name] if column not in frame.columns]
        if missing:
            raise DataError(f"missing columns {', '.join(missing)}", file=str(path))
        frames[name] = frame.select([pl.col(column).cast(dtype) for column, dtype in schemas[name].items()])
    instruments_path = directory / INSTRUMENTS_FILE
    instruments = load_instruments(instruments_path if instruments_path.exists() else DEFAULT_INSTRUMENTS_PATH)
    file_metadata = pl.read_parquet_metadata(directory / MARKET_FILES["prices"])
    source = file_metadata.get("indexcalc.source", str(directory))
    return MarketData(
        prices=frames["prices"],
        instruments=instruments,
        rates=frames["rates"],
        inflation=frames["inflation"],
        macro=frames["macro"],
        source=source,
        synthetic=file_metadata.get("indexcalc.synthetic") == "true",
    )


def load_default_market(directory: Path | str = DEFAULT_MARKET_DIR, spec: MarketGeneratorSpec | None = None) -> MarketData:
    """The embedded SYNTHETIC market from ``data/market/``; if any of its Parquet files is absent it
    is generated from ``spec`` (default :class:`MarketGeneratorSpec`) and written there first.
    The market carries its exchange sessions (:func:`~indexcalc.data.calendars.with_exchange_sessions`)."""
    from indexcalc.data.calendars import with_exchange_sessions

    directory = Path(directory)
    if not all((directory / file_name).exists() for file_name in MARKET_FILES.values()):
        spec = MarketGeneratorSpec() if spec is None else spec
        write_market(generate_market(spec), directory, seed=spec.seed)
    return with_exchange_sessions(read_market(directory))
