"""Templates of the embedded SYNTHETIC market: the generator's parameters per root, for the
reference series, liquidity and stress episodes (docs/design.md section 1).

The classes say what each parameter means (units in each field); the numbers are data, in
``data/market/templates.toml`` (:data:`TEMPLATES_FILE`), read once by :func:`load_templates`
into :data:`DEFAULT_TEMPLATES`. The generator (:mod:`indexcalc.data.embedded`) uses them as the
defaults of :class:`~indexcalc.data.embedded.MarketGeneratorSpec`.
"""

from __future__ import annotations

import tomllib
import typing
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexcalc.data.instruments import Sector
from indexcalc.errors import SpecError

TEMPLATES_FILE = Path(__file__).resolve().parents[2] / "data" / "market" / "templates.toml"
"""The default templates: ``[[root]]`` tables (:class:`PriceTemplate`), ``[macro]``
(:class:`MacroTemplate`), ``[liquidity]`` (:class:`LiquidityTemplate`) and
``[[stress_episode]]`` tables (:class:`StressEpisode`)."""

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


class MarketTemplates(_Frozen):
    """Every template of a market: the contents of a templates file."""

    root: tuple[PriceTemplate, ...]
    macro: MacroTemplate
    liquidity: LiquidityTemplate
    stress_episode: tuple[StressEpisode, ...] = ()


def load_templates(path: Path | str = TEMPLATES_FILE) -> MarketTemplates:
    """The templates of a TOML file (see :data:`TEMPLATES_FILE`); an unreadable file or an invalid
    field is a :class:`SpecError` naming the file and the field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as error:
        raise SpecError(f"cannot read templates file ({error.strerror})", file=str(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"not valid TOML ({error})", file=str(path)) from None
    try:
        return MarketTemplates.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=str(path)) from None


DEFAULT_TEMPLATES = load_templates()
DEFAULT_PRICE_TEMPLATES: tuple[PriceTemplate, ...] = DEFAULT_TEMPLATES.root
"""Stylised per-root parameters: anchor paths loosely follow 1995-2026 price history."""
DEFAULT_MACRO_TEMPLATE: MacroTemplate = DEFAULT_TEMPLATES.macro
DEFAULT_LIQUIDITY_TEMPLATE: LiquidityTemplate = DEFAULT_TEMPLATES.liquidity
DEFAULT_STRESS_EPISODES: tuple[StressEpisode, ...] = DEFAULT_TEMPLATES.stress_episode
