"""The embedded SYNTHETIC market: determinism, schema, contract calendar, realism, files, CLI.

Short spans are generated here (fast); whole-history properties are read from the committed
``data/market`` files through the session fixture ``embedded_market``.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.data.calendars import business_days, business_days_array, month_business_day
from indexcalc.data.embedded import (
    DEFAULT_MARKET_DIR,
    MARKET_FILES,
    MarketGeneratorSpec,
    _soft_band,
    generate_market,
    load_default_market,
    read_market,
    write_market,
)
from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import INFLATION_SCHEMA, MACRO_SCHEMA, PRICES_SCHEMA, RATES_SCHEMA
from indexcalc.errors import SpecError

SHORT = MarketGeneratorSpec(start=date(2016, 1, 1), end=date(2018, 12, 31))


@pytest.fixture(scope="module")
def short_market():
    return generate_market(SHORT)


# --- helpers -------------------------------------------------------------------------------------


def _months(contract: int, months: int) -> int:
    serial = contract // 100 * 12 + contract % 100 - 1 + months
    return serial // 12 * 100 + serial % 12 + 1


def front_returns(prices: pl.DataFrame, skip_last_days: int = 10) -> pl.DataFrame:
    """``date, root, ret``: daily log return of the nearest contract with more than
    ``skip_last_days`` calendar days to its last price (same contract on both days)."""
    with_previous = prices.sort("root", "contract", "date").with_columns(
        pl.col("settle").shift(1).over("root", "contract").alias("previous"),
        pl.col("date").max().over("root", "contract").alias("last_date"),
    )
    front = (
        with_previous.filter((pl.col("last_date") - pl.col("date")).dt.total_days() > skip_last_days)
        .sort("root", "date", "contract")
        .group_by("root", "date", maintain_order=True)
        .first()
    )
    return front.drop_nulls("previous").select("date", "root", (pl.col("settle") / pl.col("previous")).log().alias("ret"))


def annual_volatility(returns: pl.DataFrame, root: str) -> float:
    return float(returns.filter(pl.col("root") == root).get_column("ret").std()) * np.sqrt(252)


# --- determinism and schema ----------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_does_not(short_market):
    again = generate_market(SHORT)
    for name in ("prices", "rates", "inflation", "macro"):
        assert getattr(again, name).equals(getattr(short_market, name)), name
    other = generate_market(SHORT.model_copy(update={"seed": SHORT.seed + 1}))
    assert other.prices.select("date", "root", "contract").equals(short_market.prices.select("date", "root", "contract"))
    assert not other.prices.get_column("settle").equals(short_market.prices.get_column("settle"))


def test_frames_follow_the_market_schemas_and_are_sorted(short_market):
    for frame, schema in ((short_market.prices, PRICES_SCHEMA), (short_market.rates, RATES_SCHEMA),
                          (short_market.inflation, INFLATION_SCHEMA), (short_market.macro, MACRO_SCHEMA)):
        assert dict(frame.schema) == schema
        assert frame.null_count().sum_horizontal().item() == 0
    prices = short_market.prices
    assert prices.equals(prices.sort("root", "date", "contract"))
    assert prices.select("root", "date", "contract").is_duplicated().sum() == 0
    assert set(short_market.macro.get_column("series").unique()) == {"usd_index", "china_pmi", "lme_copper_stocks"}
    assert "SYNTHETIC" in short_market.source


def test_values_are_positive_settles_and_whole_non_negative_volume_and_open_interest(embedded_market):
    prices = embedded_market.prices
    assert prices.get_column("settle").min() > 0
    for column in ("volume", "open_interest"):
        values = prices.get_column(column)
        assert values.min() >= 0
        assert (values == values.floor()).all()


def test_adding_clones_leaves_the_23_roots_unchanged_and_lists_the_clones(short_market):
    span = SHORT.model_copy(update={"end": date(2016, 6, 30)})
    base = generate_market(span)
    cloned = generate_market(span.model_copy(update={"extra_roots": 24}))
    assert cloned.prices.filter(pl.col("root").is_in(base.roots)).equals(base.prices)
    clones = sorted(set(cloned.roots) - set(base.roots))
    # clone n copies the n-th root of the catalogue order (CL CO NG ... C W S ...), cycling
    assert len(clones) == 24 and {"CL_001", "CO_002", "C_016", "CL_024"} <= set(clones)
    assert cloned.instruments["CL_001"].model_dump(exclude={"root"}) == cloned.instruments["CL"].model_dump(
        exclude={"root"})
    ours = cloned.prices.filter(pl.col("root") == "CL").get_column("settle")
    theirs = cloned.prices.filter(pl.col("root") == "CL_001").get_column("settle")
    assert len(ours) == len(theirs) and not ours.equals(theirs)


def test_a_root_without_template_is_a_spec_error():
    instruments = load_instruments()
    only_cl = MarketGeneratorSpec(start=date(2020, 1, 1), end=date(2020, 3, 31),
                                  roots=tuple(t for t in SHORT.roots if t.root == "CL"))
    with pytest.raises(SpecError, match="no generator template for roots CO"):
        generate_market(only_cl, {root: instruments[root] for root in ("CL", "CO")})


def test_soft_band_is_identity_inside_and_bounded_outside():
    # soft_start 0.25, limit 0.5: 0.1 -> 0.1; 0.35 -> 0.25 + 0.25 * tanh(0.1 / 0.25) = 0.25 + 0.25 * 0.379949 = 0.344987
    values = _soft_band(np.array([0.1, -0.2, 0.35, -0.35, 5.0]), 0.25, 0.5)
    np.testing.assert_allclose(values, [0.1, -0.2, 0.3449873, -0.3449873, 0.5], atol=1e-7)


# --- calendars and contracts ----------------------------------------------------------------------


def test_23_roots_each_with_at_least_25_years_on_its_exchange_business_days(embedded_market):
    instruments = load_instruments()
    assert embedded_market.roots == sorted(instruments)
    start, end = date(1995, 1, 1), date(2026, 10, 31)
    for root, instrument in instruments.items():
        dates = embedded_market.prices.filter(pl.col("root") == root).get_column("date").unique().sort()
        assert (dates[-1] - dates[0]).days / 365.25 >= 25, root
        expected = business_days(instrument.calendar, start, end)
        assert dates.equals(expected, check_names=False), root


def test_contracts_are_only_listed_months_and_trade_until_their_last_trade_day(embedded_market):
    instruments = load_instruments()
    spans = embedded_market.prices.group_by("root", "contract").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last"), pl.len().alias("days"))
    for root, instrument in instruments.items():
        rows = spans.filter(pl.col("root") == root)
        months = set((rows.get_column("contract") % 100).unique().to_list())
        assert months == set(instrument.listed_month_numbers), root
        # contracts that expire inside the span stop exactly at their last trade day
        days = business_days_array(instrument.calendar, date(1994, 1, 1), date(2029, 12, 31))
        contracts = rows.get_column("contract").to_numpy()
        expiry_months = np.array([_months(int(c), -instrument.expiry_months_before) for c in contracts])
        last_trade = month_business_day(days, expiry_months, instrument.expiry_business_day)
        inside = last_trade <= np.datetime64("2026-10-30")
        assert (rows.get_column("last").to_numpy().astype("datetime64[D]")[inside] == last_trade[inside]).all(), root
        # and were listed at least 12 months (energies: 17) before that
        listed_early = rows.get_column("first").to_numpy().astype("datetime64[D]")[inside & (last_trade > np.datetime64("1996-12-31"))]
        horizon = (last_trade[inside & (last_trade > np.datetime64("1996-12-31"))] - listed_early).astype(int)
        assert horizon.min() >= (17 if instrument.sector == "energy" else 12) * 28, root


def test_the_index_roll_always_finds_the_held_and_next_hold_contracts_priced(embedded_market):
    """For every hold-cycle contract c (delivery D) the roll out of it happens on business days
    5-9 of D - roll_months_before (docs/design.md section 2). Both c and the next hold-cycle contract must be
    priced from the first business day of the month before that roll month to roll day 9."""
    needed = []
    for root, instrument in load_instruments().items():
        days = business_days_array(instrument.calendar, date(1995, 1, 1), date(2026, 10, 31))
        held = np.array([year * 100 + month for year in range(1995, 2029) for month in instrument.hold_month_numbers])
        current, following = held[:-1], held[1:]
        roll_months = np.array([_months(int(c), -instrument.roll_months_before) for c in current])
        inside = (roll_months >= 199502) & (roll_months <= 202610)
        current, following, roll_months = current[inside], following[inside], roll_months[inside]
        assert len(current) >= 31 * len(instrument.hold_month_numbers) - 1, root
        before = np.array([_months(int(m), -1) for m in roll_months])
        first = np.searchsorted(days, month_business_day(days, before, 1))
        last = np.searchsorted(days, month_business_day(days, roll_months, 9)) + 1
        lengths = last - first
        day_index = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        for contracts in (current, following):
            needed.append(pl.DataFrame({"root": root, "contract": np.repeat(contracts, lengths).astype(np.int32),
                                        "date": days[day_index]}))
    needed = pl.concat(needed)
    assert needed.height > 23 * 31 * 4 * 2 * 25  # >= 4 rolls a year, 2 contracts, ~25+ days each
    missing = needed.join(embedded_market.prices, on=["root", "contract", "date"], how="anti")
    assert missing.height == 0, missing.head()
    # the check bites: a contract listed only from its roll window would be caught
    late = embedded_market.prices.filter(~((pl.col("root") == "CL") & (pl.col("contract") == 201005)
                                           & (pl.col("date") < date(2010, 3, 5))))
    assert needed.join(late, on=["root", "contract", "date"], how="anti").height > 0


def test_copper_has_three_contracts_beyond_first_notice_every_day(embedded_market):
    hg = load_instruments()["HG"]
    days = business_days_array(hg.calendar, date(1994, 1, 1), date(2029, 12, 31))
    prices = embedded_market.prices.filter(pl.col("root") == "HG")
    contracts = prices.get_column("contract").unique().sort().to_numpy()
    first_business_day = month_business_day(days, contracts, 1)
    first_notice = days[np.searchsorted(days, first_business_day) - hg.first_notice_offset]
    notice = pl.DataFrame({"contract": contracts.astype(np.int32), "first_notice": first_notice})
    per_day = (prices.join(notice, on="contract").filter(pl.col("first_notice") > pl.col("date"))
               .group_by("date").agg(pl.len().alias("before_notice")))
    assert per_day.height == prices.get_column("date").n_unique()
    assert per_day.get_column("before_notice").min() >= 3


# --- realism --------------------------------------------------------------------------------------


def test_front_month_returns_correlate_more_within_sectors_than_across(short_market):
    returns = front_returns(short_market.prices).pivot(on="root", index="date", values="ret").drop_nulls()
    roots = [column for column in returns.columns if column != "date"]
    correlation = np.corrcoef(returns.select(roots).to_numpy(), rowvar=False)
    sectors = [short_market.instruments[root].sector for root in roots]
    within, across, metals = [], [], []
    for i in range(len(roots)):
        for j in range(i + 1, len(roots)):
            (within if sectors[i] == sectors[j] else across).append(correlation[i, j])
            if sectors[i] == sectors[j] == "base_metals":
                metals.append(correlation[i, j])
    assert np.mean(within) > np.mean(across) + 0.2
    assert 0.3 <= np.mean(metals) <= 0.7
    assert 0.0 < np.mean(across) < 0.2


def test_annual_volatility_is_plausible_for_crude_gas_and_gold(short_market):
    returns = front_returns(short_market.prices)
    assert 0.22 <= annual_volatility(returns, "CL") <= 0.50
    assert 0.30 <= annual_volatility(returns, "NG") <= 0.70
    assert 0.09 <= annual_volatility(returns, "GC") <= 0.25
    assert annual_volatility(returns, "NG") > annual_volatility(returns, "CL") > annual_volatility(returns, "GC")


def test_volatility_clusters(embedded_market):
    returns = front_returns(embedded_market.prices.filter(pl.col("root") == "CL")).get_column("ret").to_numpy()
    size = np.abs(returns - returns.mean())
    assert np.corrcoef(size[:-1], size[1:])[0, 1] > 0.1
    assert np.corrcoef(size[:-20], size[20:])[0, 1] > 0.05


def test_price_levels_stay_in_plausible_ranges_for_their_units(embedded_market):
    ranges = {"CL": (5, 200), "NG": (0.8, 20), "HG": (0.4, 8), "GC": (200, 6000), "C": (100, 1000),
              "LA": (800, 5000), "SB": (3, 50), "LN": (3000, 60000)}
    levels = embedded_market.prices.group_by("root").agg(pl.col("settle").min().alias("low"),
                                                          pl.col("settle").max().alias("high"))
    for root, (low, high) in ranges.items():
        row = levels.filter(pl.col("root") == root)
        assert low <= row.get_column("low").item() and row.get_column("high").item() <= high, root


def test_term_structures_switch_between_contango_and_backwardation(embedded_market):
    front_two = (embedded_market.prices.filter(pl.col("root").is_in(["CL", "LA", "GC"]))
                 .sort("root", "date", "contract").group_by("root", "date", maintain_order=True)
                 .agg(pl.col("settle").head(2)).filter(pl.col("settle").list.len() == 2)
                 .with_columns((pl.col("settle").list.first() > pl.col("settle").list.last()).alias("backwardation")))
    share = dict(front_two.group_by("root").agg(pl.col("backwardation").mean()).iter_rows())
    switches = dict(front_two.group_by("root").agg(
        (pl.col("backwardation").cast(pl.Int8).diff().abs() > 0).sum()).iter_rows())
    assert 0.2 <= share["CL"] <= 0.7 and switches["CL"] > 20
    assert share["LA"] < share["CL"]
    assert share["GC"] < 0.35


def test_natural_gas_winter_contracts_trade_above_spring_ones(embedded_market):
    # Same day, January delivery vs the April delivery three months later: winter premium.
    ng = embedded_market.prices.filter(pl.col("root") == "NG").select("date", "contract", "settle")
    january = ng.filter(pl.col("contract") % 100 == 1)
    april = ng.filter(pl.col("contract") % 100 == 4).with_columns(pl.col("contract") - 3)
    spread = january.join(april, on=["date", "contract"]).select((pl.col("settle").log() - pl.col("settle_right").log()))
    assert spread.mean().item() > 0.05


def test_open_interest_is_hump_shaped_and_dollar_open_interest_ranks_as_in_reality(embedded_market):
    prices = embedded_market.prices.filter(pl.col("date") >= date(2020, 1, 1))
    by_position = (prices.filter(pl.col("root") == "CL")
                   .with_columns(pl.col("contract").rank("dense").over("date").alias("position"))
                   .group_by("position").agg(pl.col("open_interest").mean(), pl.col("volume").mean()).sort("position"))
    open_interest = by_position.get_column("open_interest").to_numpy()
    assert int(np.argmax(open_interest)) in (1, 2) and open_interest[0] > open_interest[8] > open_interest[15]
    assert int(np.argmax(by_position.get_column("volume").to_numpy())) in (0, 1)
    multipliers = pl.DataFrame({"root": list(embedded_market.instruments),
                                "multiplier": [i.multiplier for i in embedded_market.instruments.values()]})
    dollar = (prices.join(multipliers, on="root")
              .group_by("root").agg((pl.col("open_interest") * pl.col("multiplier") * pl.col("settle")).sum().alias("doi"))
              .sort("doi", descending=True))
    ranking = dollar.get_column("root").to_list()
    assert set(ranking[:4]) == {"CL", "CO", "GC", "NG"}
    assert set(ranking[-2:]) == {"OJ", "LB"}
    shares = dollar.get_column("doi") / dollar.get_column("doi").sum()
    assert 2 <= int((shares > 0.10).sum()) <= 4  # a 10% cap binds for a few roots


def test_copper_returns_load_on_the_macro_factors(embedded_market):
    """Front-month HG log return on dln(usd_index), d(china_pmi) forward-filled, dln(stocks)."""
    hg = front_returns(embedded_market.prices.filter(pl.col("root") == "HG"), skip_last_days=7)
    usd = embedded_market.macro_series("usd_index").select("date", pl.col("value").log().diff().alias("usd"))
    pmi = embedded_market.macro_series("china_pmi").rename({"value": "pmi"})
    stocks = embedded_market.macro_series("lme_copper_stocks").select("date", pl.col("value").log().alias("stocks"))
    frame = (hg.join(usd, on="date").sort("date").join_asof(pmi, on="date").join_asof(stocks, on="date")
             .with_columns(pl.col("pmi").diff(), pl.col("stocks").diff()).drop_nulls())
    design = np.column_stack([np.ones(frame.height), frame.get_column("usd"), frame.get_column("pmi"),
                              frame.get_column("stocks")])
    target = frame.get_column("ret").to_numpy()
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ beta
    r_squared = 1 - residual.var() / target.var()
    t_stats = beta / np.sqrt(np.diag(np.linalg.inv(design.T @ design)) * residual.var())
    assert beta[1] < 0 and beta[2] > 0 and beta[3] < 0
    assert (np.abs(t_stats[1:]) > 3).all()
    assert 0.01 < r_squared < 0.15


# --- reference series -----------------------------------------------------------------------------


def test_tbill_follows_the_rate_history(embedded_market):
    yearly = dict(embedded_market.rates.group_by(pl.col("date").dt.year()).agg(pl.col("tbill").mean()).iter_rows())
    assert 0.04 < yearly[1998] < 0.06 and 0.005 < yearly[2003] < 0.015 and 0.04 < yearly[2007] < 0.055
    assert all(yearly[year] < 0.005 for year in range(2009, 2016)) and yearly[2021] < 0.005
    assert 0.015 < yearly[2019] < 0.03 and 0.045 < yearly[2024] < 0.06 and 0.03 < yearly[2026] < 0.05
    assert embedded_market.rates.get_column("tbill").min() >= 0
    us_days = business_days("CMES", date(1995, 1, 1), date(2026, 10, 31))
    assert embedded_market.rates.get_column("date").equals(us_days, check_names=False)


def test_cpi_is_monthly_released_mid_next_month_with_plausible_inflation(embedded_market):
    cpi = embedded_market.inflation
    assert cpi.get_column("date").dt.month_start().is_duplicated().sum() == 0
    assert cpi.get_column("date").dt.day().is_between(9, 20).all()
    yearly = cpi.with_columns((pl.col("cpi") / pl.col("cpi").shift(12) - 1).alias("inflation")).drop_nulls()
    assert 0.015 < yearly.get_column("inflation").mean() < 0.035
    assert yearly.filter(pl.col("date").dt.year() == 2022).get_column("inflation").max() > 0.06


def test_pmi_dates_are_release_dates_after_the_month_they_describe(short_market):
    pmi = short_market.macro_series("china_pmi")
    dates = pmi.get_column("date").to_numpy().astype("datetime64[D]")
    us_days = business_days_array("CMES", SHORT.start, SHORT.end)
    months = dates.astype("datetime64[M]").astype(int)
    year_months = (months // 12 + 1970) * 100 + months % 12 + 1
    # each value is released on the first US business day of the month after the one it describes
    assert (dates == month_business_day(us_days, year_months, 1)).all()
    assert np.all(np.diff(months) == 1) and dates[0] >= np.datetime64(SHORT.start)
    assert pmi.get_column("value").is_between(38, 60).all()
    stocks = short_market.macro_series("lme_copper_stocks")
    assert stocks.get_column("date").equals(business_days("XLON", SHORT.start, SHORT.end), check_names=False)
    assert (stocks.get_column("value") % 25 == 0).all() and stocks.get_column("value").min() > 0


# --- files and CLI --------------------------------------------------------------------------------


@pytest.mark.slow
def test_committed_files_are_labelled_synthetic_and_match_the_generator(embedded_market):
    began = time.perf_counter()
    fresh = generate_market(MarketGeneratorSpec())
    elapsed = time.perf_counter() - began
    assert elapsed < 30, f"generation took {elapsed:.1f} s"
    metadata = pl.read_parquet_metadata(DEFAULT_MARKET_DIR / MARKET_FILES["prices"])
    assert metadata["indexcalc.synthetic"] == "true" and "SYNTHETIC" in embedded_market.source
    for name in ("rates", "inflation", "macro"):
        assert getattr(fresh, name).equals(getattr(embedded_market, name)), name
    committed = embedded_market.prices
    assert committed.select("date", "root", "contract").equals(fresh.prices.select("date", "root", "contract"))
    # settles may differ by a last-digit rounding on another platform's exp/log, never more
    differs = (committed.get_column("settle") != fresh.prices.get_column("settle")).sum()
    assert differs <= committed.height // 10_000
    ratio = (committed.get_column("settle") / fresh.prices.get_column("settle") - 1).abs().max()
    assert ratio < 1e-3


@pytest.mark.slow
def test_write_then_load_round_trips_and_missing_files_are_generated(tmp_path, short_market):
    write_market(short_market, tmp_path / "market", seed=SHORT.seed)
    loaded = read_market(tmp_path / "market")
    for name in ("prices", "rates", "inflation", "macro"):
        assert getattr(loaded, name).equals(getattr(short_market, name)), name
    assert loaded.instruments == short_market.instruments
    assert not (tmp_path / "market" / "instruments.toml").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["market"]  # no staging directory left

    regenerated = load_default_market(tmp_path / "fresh", spec=SHORT)
    assert regenerated.prices.equals(short_market.prices)
    assert sorted(path.name for path in (tmp_path / "fresh").iterdir()) == sorted(MARKET_FILES.values())


def test_read_market_names_a_missing_file(tmp_path, short_market):
    write_market(short_market, tmp_path, seed=SHORT.seed)
    (tmp_path / "macro.parquet").unlink()
    with pytest.raises(Exception, match="macro.parquet: file not found"):
        read_market(tmp_path)


def test_cli_generate_writes_clones_with_their_instruments_and_prints_the_time(tmp_path):
    out = tmp_path / "generated"
    result = CliRunner().invoke(main, ["data", "generate", "--out", str(out), "--seed", "7", "--extra-roots", "2",
                                       "--start", "2020-01-01", "--end", "2020-06-30"])
    assert result.exit_code == 0, result.output
    assert "25 roots" in result.output and " s;" in result.output and "SYNTHETIC" in result.output
    market = read_market(out)
    assert {"CL_001", "CO_002"} <= set(market.roots) and market.instruments["CO_002"].sector == "energy"
    assert market.prices.equals(generate_market(MarketGeneratorSpec(
        seed=7, extra_roots=2, start=date(2020, 1, 1), end=date(2020, 6, 30))).prices)


def test_cli_generate_rejects_an_end_before_the_start_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(main, ["data", "generate", "--out", str(tmp_path), "--start", "2020-01-01",
                                       "--end", "2019-01-01"])
    assert result.exit_code == 2
    assert "error: data generate: spec: Value error, end must be after start" in result.output
    assert not any(tmp_path.iterdir())


# --- exchange calendars ---------------------------------------------------------------------------


def test_business_days_follow_each_exchange_holidays():
    year = (date(2024, 1, 1), date(2024, 12, 31))
    cme, london = business_days("CMES", *year), business_days("XLON", *year)
    assert cme.dtype == pl.Date and cme.is_sorted() and cme.n_unique() == cme.len()
    for closed in (date(2024, 1, 1), date(2024, 3, 29), date(2024, 12, 25)):
        assert closed not in cme.to_list() and closed not in london.to_list()
    assert date(2024, 5, 27) in cme.to_list() and date(2024, 5, 27) not in london.to_list()  # UK spring bank holiday
    assert date(2024, 12, 26) in cme.to_list() and date(2024, 12, 26) not in london.to_list()  # Boxing Day
    assert date(2022, 9, 19) not in business_days("XLON", date(2022, 9, 19), date(2022, 9, 19)).to_list()
    assert business_days("IEPA", date(2012, 10, 29), date(2012, 10, 29)).len() == 0  # hurricane Sandy
    assert business_days("CMES", date(1995, 1, 1), date(1995, 1, 6)).to_list()[0] == date(1995, 1, 3)


def test_business_days_outside_the_calendar_window_fall_back_to_weekdays():
    days = business_days("XLON", date(1988, 12, 23), date(1989, 1, 3)).to_list()
    # weekdays without 25 Dec and 1 Jan (a Sunday in 1989): 23, 26-30 Dec, 2-3 Jan
    assert days == [date(1988, 12, 23), date(1988, 12, 26), date(1988, 12, 27), date(1988, 12, 28),
                    date(1988, 12, 29), date(1988, 12, 30), date(1989, 1, 2), date(1989, 1, 3)]
    assert business_days("CMES", date(2024, 1, 2), date(2024, 1, 1)).len() == 0


def test_unknown_calendar_is_a_spec_error():
    with pytest.raises(SpecError, match="calendar XNOPE: unknown exchange calendar 'XNOPE'"):
        business_days("XNOPE", date(2020, 1, 1), date(2020, 2, 1))


def test_month_business_day_counts_from_either_end_of_the_month():
    days = business_days_array("CMES", date(2024, 1, 1), date(2024, 3, 31))
    # February 2024 on CMES: 1-2, 5-9, 12-16, 19-23, 26-29 (21 days; 19 Feb is a Globex session)
    picked = month_business_day(days, np.array([202402, 202402, 202402, 202401]), 1)
    assert picked[0] == np.datetime64("2024-02-01") and picked[3] == np.datetime64("2024-01-02")
    assert month_business_day(days, np.array([202402]), 5)[0] == np.datetime64("2024-02-07")
    assert month_business_day(days, np.array([202402]), -1)[0] == np.datetime64("2024-02-29")
    assert month_business_day(days, np.array([202402]), -6)[0] == np.datetime64("2024-02-22")
    with pytest.raises(SpecError, match="month 202404 has fewer than 1 business days"):
        month_business_day(days, np.array([202404]), 1)


def test_templates_are_data_and_a_bad_templates_file_names_file_and_field(tmp_path):
    from indexcalc.data.embedded_templates import TEMPLATES_FILE, load_templates
    from indexcalc.errors import SpecError

    templates = load_templates()
    assert TEMPLATES_FILE.name == "templates.toml" and TEMPLATES_FILE.parent.name == "market"
    assert [template.root for template in templates.root][:2] == ["CL", "CO"]
    assert len(templates.root) == 23 and len(templates.stress_episode) == 5
    copper = next(template for template in templates.root if template.root == "HG")
    assert copper.anchors[0] == (1995.0, 1.3) and copper.volatility == 0.25
    bad = tmp_path / "templates.toml"
    bad.write_text(TEMPLATES_FILE.read_text().replace("volatility = 0.35", "volatility = -0.35", 1))
    with pytest.raises(SpecError, match=r"templates.toml: root\.0\.volatility"):
        load_templates(bad)
    with pytest.raises(SpecError, match="cannot read templates file"):
        load_templates(tmp_path / "missing.toml")


def test_the_embedded_modules_stay_small():
    import ast
    from pathlib import Path

    import indexcalc.data as data

    for name in ("embedded", "embedded_io", "embedded_paths", "embedded_templates"):
        path = Path(data.__file__).parent / f"{name}.py"
        source = path.read_text()
        assert len(source.splitlines()) <= 500, name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 80, f"{name}.{node.name}"
