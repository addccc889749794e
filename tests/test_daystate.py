"""The daily run's stored state (indexcalc.daystate): hand-computed continuation steps, the
state against full calculations day by day on the embedded market, and every reason the state
refuses to continue (then the run calculates in full)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from indexcalc.composite import accrued_collateral, continued_excess_levels, continued_total_level, contributions
from indexcalc.daystate import DayState, Discontinued, continue_day, continued_specs, state_from_calculation
from indexcalc.ledger import input_hash
from indexcalc.operations import all_levels, calendar_days, index_calendar
from indexcalc.pipeline import calculate
from indexcalc.catalogue import load_catalogue
from tests.test_operations import SPAN, cut, short_spec

START = dt.date(2024, 7, 1)
"""The state is built on the data up to START (the first business day of a month: the month's
positions are effective)."""


# --- the continuation step, by hand ----------------------------------------------------------------


def test_contributions_and_the_continued_excess_level_by_hand():
    # W = (0.5, -0.3, 0), ER_a = (100, 50, 10), ER_t = (110, 45, 99):
    # 0.5 * (110/100 - 1) = 0.05; -0.3 * (45/50 - 1) = 0.03; the unweighted root adds exactly 0.
    weights = np.array([[0.5, -0.3, 0.0]])
    anchor = np.array([[100.0, 50.0, 10.0]])
    today = np.array([[110.0, 45.0, 99.0]])
    parts = contributions(weights, anchor, today)
    assert parts[0, 2] == 0.0
    assert parts[0, :2] == pytest.approx([0.05, 0.03], rel=1e-14)
    # C_t = C_a (1 + R_t) = 200 * 1.08 = 216
    assert continued_excess_levels(200.0, parts.sum(axis=1))[0] == pytest.approx(216.0, rel=1e-15)


def test_a_weighted_root_without_a_level_makes_the_step_nan_not_a_silent_zero():
    parts = contributions(np.array([[1.0]]), np.array([[100.0]]), np.array([[np.nan]]))
    assert np.isnan(parts.sum())


def test_the_total_return_step_and_the_accrued_collateral_by_hand():
    # One collateral date: TBR = 0.0001. CTR_t = 1000 * (216/200 + 0.0001) = 1080.1
    assert accrued_collateral(np.array([0.0001])) == 0.0001
    assert continued_total_level(1000.0, 200.0, 216.0, 0.0001) == pytest.approx(1080.1, rel=1e-15)
    # Two collateral dates in (s, t]: (1.0001)(1.0002) - 1 = 0.00030002
    assert accrued_collateral(np.array([0.0001, 0.0002])) == pytest.approx(0.00030002, rel=1e-12)


# --- the state against full calculations ---------------------------------------------------------


@pytest.fixture(scope="module")
def market(embedded_market):
    return cut(embedded_market, *SPAN)


@pytest.fixture(scope="module")
def specs():
    return [short_spec(spec) for spec in load_catalogue()]


@pytest.fixture(scope="module")
def days(market, specs):
    return calendar_days(index_calendar(market, specs, START - dt.timedelta(days=7), dt.date(2024, 8, 9)))


@pytest.fixture(scope="module")
def first_state(market, specs, days):
    as_of = next(day for day in days if day >= START)
    day_market = market.up_to(as_of)
    calculation = calculate(day_market, specs)
    return state_from_calculation(calculation, specs, day_market, as_of, input_hash(day_market), "error")


@pytest.mark.slow
def test_the_state_continues_every_composite_index_to_the_full_calculation_day_by_day(market, specs, days,
                                                                                      first_state):
    state = first_state
    continued, full = continued_specs(state, specs)
    assert {spec.kind for spec in full} == {"copper_macro"}
    assert {spec.kind for spec in continued} == {"momentum", "carry_basket", "base_metals"}
    july = [day for day in days if START <= day <= dt.date(2024, 7, 31)]
    checked = 0
    for day in july[1:9]:  # each day is one full calculation to compare with: a week and a half
        levels, state = continue_day(state, market.up_to(day), continued, day)
        full_levels = all_levels(calculate(market.up_to(day), continued).results).filter(pl.col("date") == day)
        joined = full_levels.join(levels, on=["index_id", "date"], how="full", coalesce=True, suffix="_state")
        assert joined.filter(pl.col("level").is_null() | pl.col("level_state").is_null()).is_empty()
        # the same expressions in the same order: equal to the bit
        assert joined.filter(pl.col("level_state") != pl.col("level")).is_empty()
        assert joined.filter(pl.col("daily_return_state") != pl.col("daily_return")).is_empty()
        checked += joined.height
    assert checked >= 8 * 30


def test_the_state_goes_through_json_unchanged(first_state):
    again = DayState.model_validate_json(first_state.model_dump_json())
    assert again == first_state
    values = [value for index in first_state.indexes.values() for value in (*index.weights, *index.anchor_er)]
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(
        values, [value for index in again.indexes.values() for value in (*index.weights, *index.anchor_er)]))


# --- when the state refuses --------------------------------------------------------------------------


def test_a_new_month_is_calculated_in_full(market, specs, days, first_state):
    continued, _ = continued_specs(first_state, specs)
    august = next(day for day in days if day >= dt.date(2024, 8, 1))
    assert all(index.valid_through == dt.date(2024, 7, 31) for index in first_state.indexes.values()
               if index.anchor_date.month == 7)
    with pytest.raises(Discontinued, match="new month or pending rebalance"):
        continue_day(first_state, market.up_to(august), continued, august)


def test_a_skipped_business_day_is_not_continued_over(market, specs, days, first_state):
    continued, _ = continued_specs(first_state, specs)
    july = [day for day in days if START <= day <= dt.date(2024, 7, 31)]
    # July 3rd skips the 2nd, on which every root has a row: the state cannot jump it
    assert july[1:3] == [dt.date(2024, 7, 2), dt.date(2024, 7, 3)]
    with pytest.raises(Discontinued, match="series row on 2024-07-02"):
        continue_day(first_state, market.up_to(july[2]), continued, july[2])
    with pytest.raises(Discontinued, match="not after"):
        continue_day(first_state, market, continued, first_state.as_of)


def test_a_drift_breach_stops_the_continuation(market, specs, days, first_state):
    continued, _ = continued_specs(first_state, specs)
    basket = next(index_id for index_id, index in first_state.indexes.items() if index.drift_threshold is not None)
    tight = first_state.indexes[basket].model_copy(update={"drift_threshold": 1e-9})
    state = first_state.model_copy(update={"indexes": {**first_state.indexes, basket: tight}})
    day = next(day for day in days if day > START)
    with pytest.raises(Discontinued, match=f"{basket} drift past the threshold"):
        continue_day(state, market.up_to(day), continued, day)


def test_a_rebalance_fixed_but_not_yet_effective_is_not_continued(market, specs, days):
    # With a two-day lag the June month-end rebalance becomes effective on July's second day:
    # a state as of July's first day must not continue (its positions are about to change).
    lagged = [spec.model_copy(update={"implementation_lag": 2}) for spec in specs if spec.kind == "momentum"][:2]
    first_july = next(day for day in days if day >= START)
    day_market = market.up_to(first_july)
    state = state_from_calculation(calculate(day_market, lagged), lagged, day_market, first_july, "", "error")
    assert all(index.valid_through == first_july for index in state.indexes.values())
    assert all(index.anchor_date.month == 6 for index in state.indexes.values())


def test_a_spec_without_state_that_is_not_its_own_curve_refuses(first_state, specs):
    momentum = next(spec for spec in specs if spec.kind == "momentum")
    new = momentum.model_copy(update={"id": "NEW-ER"})
    with pytest.raises(Discontinued, match="NEW-ER has no stored state"):
        continued_specs(first_state, [*specs, new])


def test_indexes_dropped_from_the_run_leave_the_state_and_the_others_continue(market, specs, days, first_state):
    continued, _ = continued_specs(first_state, specs)
    kept = [spec for spec in continued if spec.kind != "carry_basket"]
    day = next(day for day in days if day > START)
    levels, state = continue_day(first_state, market.up_to(day), kept, day)
    assert set(levels.get_column("index_id")) == set(state.indexes) == {spec.id for spec in kept}


@pytest.mark.slow
def test_a_price_carried_forward_in_the_window_is_continued_as_the_full_calculation_carries_it(market, specs,
                                                                                              days):
    # CL's held contract loses its settlement on July 3rd (other CL contracts still trade): with
    # carry_forward both the continued day and the full calculation use its July 2nd settle.
    from indexcalc.series import build_series

    july = [day for day in days if START <= day <= dt.date(2024, 7, 31)]
    held = (build_series(market.up_to(july[2]), specs[0].roll, roots=["CL"])
            .filter(pl.col("date") == july[1]).item(0, "held_contracts"))
    contract = int(held.split(":")[0])
    gap = pl.col("root").eq("CL") & pl.col("contract").eq(contract) & pl.col("date").eq(july[2])
    gappy = replace(market, prices=market.prices.filter(~gap))
    carried = build_series(gappy.up_to(july[2]), specs[0].roll, roots=["CL"], disruption="carry_forward")
    assert carried.filter(pl.col("date") == july[2]).item(0, "disrupted")
    composites = [spec for spec in specs if spec.kind != "copper_macro"]
    as_of = market.up_to(july[0])
    state = state_from_calculation(calculate(as_of, composites, disruption="carry_forward"), composites, as_of,
                                   july[0], "", "carry_forward")
    for day in july[1:4]:
        levels, state = continue_day(state, gappy.up_to(day), composites, day)
        full = all_levels(calculate(gappy.up_to(day), composites, disruption="carry_forward").results)
        joined = full.filter(pl.col("date") == day).join(levels, on=["index_id", "date"], suffix="_state")
        assert joined.height == levels.height > 0
        assert joined.filter(pl.col("level_state") != pl.col("level")).is_empty()


@pytest.mark.slow
def test_daily_runs_on_the_real_pysystemtrade_data_continue_and_equal_the_rebuild(pysystemtrade_market, tmp_path):
    # The example catalogue (equal-weight Long/Short family, CFTC-weighted metals) on the shared
    # pysystemtrade data (vendor calendar, data roll, prices carried forward): the last 12 days
    # of the data run one by one after a rebuild of the days before.
    from pathlib import Path

    from indexcalc.ledger import Ledger
    from indexcalc.operations import RunStamp, rebuild, run_daily
    from indexcalc.pipeline import computable, rebuild_all

    market = pysystemtrade_market
    catalogue = Path(__file__).resolve().parent.parent / "examples" / "pysystemtrade" / "catalogue"
    specs, _ = computable(load_catalogue(catalogue), market)
    last = market.prices.get_column("date").max()
    days = calendar_days(index_calendar(market, specs, last - dt.timedelta(days=30), last, "data"))[-13:]
    clock = dt.datetime(2026, 11, 23, 18, tzinfo=dt.timezone.utc)
    out = tmp_path / "outputs"
    rebuild(market.up_to(days[0]), specs, out, RunStamp(clock, "initial"), publish=False, disruption="carry_forward")
    full_days = []
    for number, day in enumerate(days[1:], start=1):
        outcome = run_daily(market, specs, day, out, RunStamp(clock + dt.timedelta(minutes=number), f"day{number}"),
                            publish=False, calendar_source="data", disruption="carry_forward")
        full_days += outcome.full_days
    assert len(full_days) <= 2  # the first day of a month, if the span has one
    daily = Ledger(out / "ledger").current().select("index_id", "date", pl.col("level").alias("daily"))
    full = all_levels(rebuild_all(market.up_to(days[-1]), specs, disruption="carry_forward"))
    joined = full.join(daily, on=["index_id", "date"], how="full", coalesce=True)
    assert joined.height > 0 and joined.filter(pl.col("level").is_null() | pl.col("daily").is_null()).is_empty()
    assert joined.filter(pl.col("level") != pl.col("daily")).is_empty()


@pytest.mark.slow
def test_a_roll_step_postponed_by_a_disruption_is_continued_as_the_full_calculation_makes_it(market, specs, days):
    # Under the default disruption rules: GC's old contract loses its settlement on the second
    # day of its July roll window, so that step waits for the next day. Each day continued from
    # the state of July 1st equals the full calculation, through and after the roll window.
    from indexcalc.series import build_series

    july = [day for day in days if START <= day <= dt.date(2024, 7, 31)]
    rule = specs[0].roll
    clean = build_series(market.up_to(july[-1]), rule, roots=["GC"]).filter(pl.col("date").is_in(july))
    rolling = clean.filter(pl.col("held_contracts").str.contains(" "))
    first_step, second_step = rolling.get_column("date").to_list()[:2]
    old = int(rolling.item(0, "held_contracts").split(":")[0])
    gap = pl.col("root").eq("GC") & pl.col("contract").eq(old) & pl.col("date").eq(second_step)
    gappy = replace(market, prices=market.prices.filter(~gap))
    series = build_series(gappy.up_to(july[-1]), rule, roots=["GC"]).filter(pl.col("date").is_in(july))
    assert series.filter(pl.col("disrupted")).get_column("date").to_list() == [second_step]
    held = dict(series.select("date", "held_contracts").rows())
    assert held[second_step] == held[first_step] != clean.filter(pl.col("date") == second_step).item(0, "held_contracts")
    composites = [spec for spec in specs if spec.kind != "copper_macro"]
    as_of = market.up_to(july[0])
    state = state_from_calculation(calculate(as_of, composites), composites, as_of, july[0], "", "rules")
    assert second_step < july[10]
    for day in july[1:11]:
        levels, state = continue_day(state, gappy.up_to(day), composites, day)
        full = all_levels(calculate(gappy.up_to(day), composites).results)
        joined = full.filter(pl.col("date") == day).join(levels, on=["index_id", "date"], suffix="_state")
        assert joined.height == levels.height > 0
        assert joined.filter(pl.col("level_state") != pl.col("level")).is_empty()
