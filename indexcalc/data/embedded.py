"""The embedded default market: a deterministic, seeded SYNTHETIC generator (docs/design.md section 1).

The templates (the generator's parameters) are data, ``data/market/templates.toml``, read by
:mod:`indexcalc.data.embedded_templates`; the files are written and read by
:mod:`indexcalc.data.embedded_io` (its names are re-exported here).

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
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from indexcalc.data.calendars import business_days_array, month_business_day
from indexcalc.data.embedded_io import (  # noqa: F401 - re-exported: the embedded market's files
    DEFAULT_MARKET_DIR,
    INSTRUMENTS_FILE,
    MARKET_FILES,
    instruments_toml,
    load_default_market,
    read_market,
    write_market,
)
from indexcalc.data.embedded_paths import (
    _ar1,
    _Grid,
    _grid,
    _interp,
    _Macro,
    _macro,
    _persistence,
    _rng,
    _unit_ar1,
)
from indexcalc.data.embedded_templates import (  # noqa: F401 - re-exported: the templates
    _SECTORS,
    DEFAULT_LIQUIDITY_TEMPLATE,
    DEFAULT_MACRO_TEMPLATE,
    DEFAULT_PRICE_TEMPLATES,
    DEFAULT_STRESS_EPISODES,
    Anchors,
    LiquidityTemplate,
    MacroTemplate,
    PathTemplate,
    PriceTemplate,
    StressEpisode,
    _Frozen,
)
from indexcalc.data.instruments import Instrument, load_instruments
from indexcalc.data.market import PRICES_SCHEMA, MarketData
from indexcalc.errors import SpecError

SYNTHETIC_LABEL = "SYNTHETIC embedded market (indexcalc.data.embedded, not real data)"


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
