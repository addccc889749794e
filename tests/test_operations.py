"""Daily operation (indexcalc.operations): comparisons with the ledger, the index calendar,
required data, daily runs against a full rebuild, restatements, idempotence and interruption.

The market is the embedded SYNTHETIC market cut to 2023-01 .. 2024-10 and the catalogue is the
real one with shorter look-backs (so that every kind has levels within that span): momentum
3-month windows, carry 1-year seasonal window, 1-month inflation change and no z-score warm-up, copper 63-day regression,
base-metals 63-day covariance. The published state is the rebuild of the data up to
2024-06-28 (every index has levels by then; the carry baskets from 2024-03-28).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, OutputError, StateError
from indexcalc.ledger import Ledger
from indexcalc.operations import (
    LEVEL_TOLERANCE,
    RESTATEMENT_SCHEMA,
    RestatementRequired,
    RunStamp,
    all_levels,
    calendar_days,
    check_required_data,
    compare_with_ledger,
    index_calendar,
    rebuild,
    restated_levels,
    run_daily,
    unpublished_levels,
    with_published_levels,
)
from indexcalc.pipeline import rebuild_all
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase, WindowRoll
from indexcalc.catalogue import load_catalogue, parse_spec

UTC = dt.timezone.utc
SPAN = (dt.date(2023, 1, 1), dt.date(2024, 10, 31))
PUBLISHED_THROUGH = dt.date(2024, 6, 28)
RUN_TIME = dt.datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
DAILY_RUNS = 60
SMALL_IDS = ("LO-ER", "LS-TR", "BM-EQ-ER", "CU-MACRO-ER", "CARRY-RANK-GLOBAL-TR")
"""The indexes published (files and factsheets) by the tests that write a publication."""


def short_spec(spec: IndexSpecBase) -> IndexSpecBase:
    """``spec`` with look-backs short enough for a 22-month market (see the module docstring)."""
    data = spec.model_dump()
    if spec.kind == "carry_basket":
        data.update(seasonal_years=1, seasonal_min_years=1, zscore_min_obs=1, inflation_window_months=1,
                    covariance_window_days=42)
    elif spec.kind == "copper_macro":
        data.update(window=63, split_date=None, regime_long_atr_window=40, universe=(data["root"],))
    elif spec.kind == "base_metals":
        data.update(covariance_window=63)
    elif spec.kind == "momentum":
        data["magnitude"]["window_months"] = 3
        data["direction"]["window_months"] = 3
    return type(spec).model_validate(data)


def cut(market: MarketData, start: dt.date, end: dt.date) -> MarketData:
    inside = pl.col("date").is_between(start, end)
    return replace(
        market,
        prices=market.prices.filter(inside),
        rates=market.rates.filter(inside),
        inflation=market.inflation.filter(inside),
        macro=market.macro.filter(inside),
    )


def stamp(number: int) -> RunStamp:
    return RunStamp(RUN_TIME + dt.timedelta(minutes=number), f"run{number:04d}")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file a reader of ``folder`` sees (relative path -> bytes): published entries are
    read through their links (``index.html -> current/index.html``); the version folders behind
    them are not listed a second time."""
    files = {}
    for directory, folders, names in os.walk(folder, followlinks=True):
        if Path(directory) == folder:
            folders[:] = [name for name in folders if name not in ("versions", "current")]
        for name in names:
            path = Path(directory) / name
            if path.is_file():
                files[str(path.relative_to(folder))] = path.read_bytes()
    return dict(sorted(files.items()))


def business_days_after(market: MarketData, specs, day: dt.date, count: int) -> list[dt.date]:
    calendar = index_calendar(market, specs, day + dt.timedelta(days=1), SPAN[1])
    return calendar_days(calendar)[:count]


@pytest.fixture(scope="module")
def market(embedded_market) -> MarketData:
    return cut(embedded_market, *SPAN)


@pytest.fixture(scope="module")
def specs() -> list[IndexSpecBase]:
    return [short_spec(spec) for spec in load_catalogue()]


@pytest.fixture(scope="module")
def small_specs(specs) -> list[IndexSpecBase]:
    return [spec for spec in specs if spec.id in SMALL_IDS]


@pytest.fixture(scope="module")
def published_state(tmp_path_factory, market, specs) -> Path:
    """A ledger (no files) holding the rebuild of the data up to PUBLISHED_THROUGH."""
    out = tmp_path_factory.mktemp("published") / "outputs"
    outcome = rebuild(market.up_to(PUBLISHED_THROUGH), specs, out, stamp(0), publish=False)
    assert outcome.initial and outcome.appended > 0
    return out


@pytest.fixture(scope="module")
def published_small(tmp_path_factory, market, small_specs) -> Path:
    """A full publication (ledger and files) of SMALL_IDS up to PUBLISHED_THROUGH."""
    out = tmp_path_factory.mktemp("published_small") / "outputs"
    rebuild(market.up_to(PUBLISHED_THROUGH), small_specs, out, stamp(0))
    return out


def fresh(state: Path, tmp_path: Path) -> Path:
    target = tmp_path / "outputs"
    shutil.copytree(state, target, symlinks=True)
    return target


# --- pure comparisons (hand-computed) ------------------------------------------------------------

D1, D2, D3, D4 = (dt.date(2026, 11, day) for day in (2, 3, 4, 5))


def result(index_id: str, dates: list[dt.date], values: list[float]) -> IndexResult:
    spec = parse_spec({"id": index_id, "kind": "momentum", "name": index_id, "family": "long_only"})
    returns = [0.0] + [after / before - 1.0 for before, after in zip(values, values[1:])]
    levels = pl.DataFrame({"date": dates, "level": values, "daily_return": returns})
    return IndexResult(spec=spec, levels=levels, weights=pl.DataFrame({"date": [], "root": [], "weight": []}))


def published(rows: list[tuple[str, dt.date, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"index_id": pl.String, "date": pl.Date, "level": pl.Float64, "version": pl.Int32}, orient="row"
    ).with_columns(pl.lit(0.0).alias("daily_return"))


def test_compare_with_ledger_lists_exactly_the_official_levels_that_move():
    results = {
        # D2 moves by 4e-5 points (same official level 1010.0000); D3 by +0.5 points; D4 is new.
        "A": result("A", [D1, D2, D3, D4], [1000.0, 1010.00004, 1020.5, 1030.0]),
        # B lost its D2 level (recomputed null).
        "B": result("B", [D1], [100.0]),
    }
    ledger_view = published([("A", D1, 1000.0, 1), ("A", D2, 1010.0, 1), ("A", D3, 1020.0, 2),
                             ("B", D1, 100.0, 1), ("B", D2, 101.0, 1),
                             ("C", D1, 5.0, 1)])  # C is no longer computed: not compared
    report = compare_with_ledger(results, ledger_view)
    assert report.schema == pl.Schema(RESTATEMENT_SCHEMA)
    assert report.rows() == [("A", D3, 1020.0, 1020.5, 0.5), ("B", D2, 101.0, None, None)]
    # 4 decimals (the default precision): 1000.00005 rounds half away from zero to 1000.0001
    only_a_d1 = ledger_view.filter((pl.col("index_id") == "A") & (pl.col("date") == D1))
    moved = compare_with_ledger({"A": result("A", [D1], [1000.00006])}, only_a_d1)
    kept = compare_with_ledger({"A": result("A", [D1], [1000.00004])}, only_a_d1)
    assert (moved.height, kept.height) == (1, 0)
    assert moved.select("published", "recomputed").row(0) == (1000.0, 1000.0001)
    # the ledger's official level is what is compared, not its full-precision level
    with_official = only_a_d1.with_columns(pl.lit(1000.0001).alias("official_level"))
    assert compare_with_ledger({"A": result("A", [D1], [1000.00006])}, with_official).is_empty()
    assert LEVEL_TOLERANCE == 1e-12  # still the bit-level audit of continued levels


def test_unpublished_levels_are_the_dates_the_ledger_lacks():
    results = {"A": result("A", [D1, D2, D3], [1.0, 2.0, 3.0]), "N": result("N", [D2], [7.0])}
    ledger_view = published([("A", D1, 1.0, 1), ("A", D3, 3.0, 1)])
    new = unpublished_levels(results, ledger_view)
    assert new.select("index_id", "date", "level").rows() == [("A", D2, 2.0), ("N", D2, 7.0)]
    assert unpublished_levels(results, ledger_view, through=D1).is_empty()


def test_published_levels_replace_the_recomputed_ones_for_publication():
    results = {"A": result("A", [D1, D2], [1000.0, 1000.0000000000001]), "N": result("N", [D1], [5.0])}
    ledger_view = published([("A", D1, 1000.0, 1), ("A", D2, 1000.0, 1)])
    replaced = with_published_levels(results, ledger_view)
    assert replaced["A"].levels.get_column("level").to_list() == [1000.0, 1000.0]
    # with official levels in the view: the official level is published, the full one kept beside it
    official = with_published_levels(results, ledger_view.with_columns(pl.lit(999.9999).alias("official_level")))
    assert official["A"].levels.select("level", "calculated_level").rows() == [(999.9999, 1000.0)] * 2
    assert replaced["N"].levels.equals(results["N"].levels)
    assert replaced["A"].weights is results["A"].weights


def test_restated_levels_take_the_next_version_of_each_moved_date():
    results = {"A": result("A", [D1, D2, D3], [1000.0, 1011.0, 1021.0])}
    ledger_view = published([("A", D1, 1000.0, 1), ("A", D2, 1010.0, 1), ("A", D3, 1020.0, 2)])
    report = compare_with_ledger(results, ledger_view)
    restated = restated_levels(report, results, ledger_view)
    assert restated.select("index_id", "date", "level", "version").rows() == [
        ("A", D2, 1011.0, 2),
        ("A", D3, 1021.0, 3),
    ]
    lost = compare_with_ledger({"A": result("A", [D1], [1000.0])}, ledger_view)
    with pytest.raises(StateError, match="no level on this published date"):
        restated_levels(lost, results, ledger_view)


# --- index calendar and required data ----------------------------------------------------------


def test_index_calendar_is_the_union_of_the_exchanges_of_the_roots_in_use(market):
    def spec(index_id: str, universe: tuple[str, ...]) -> IndexSpecBase:
        return parse_spec({"id": index_id, "kind": "momentum", "name": index_id, "family": "long_only",
                           "universe": universe, "magnitude": {"cap": 1.0}})

    london = spec("LONDON", ("CO", "LA"))  # ICE Futures Europe and LME: the London calendar
    chicago = spec("CHICAGO", ("CL",))  # CME
    both = spec("BOTH", ("CL", "LA"))
    # 2024-08-26: English summer bank holiday (London closed, CME open); 2024-08-24: Saturday;
    # 2024-08-27: both open.
    days = [dt.date(2024, 8, 24), dt.date(2024, 8, 26), dt.date(2024, 8, 27)]
    calendar = index_calendar(market, [london, chicago, both], days[0], days[-1])
    assert calendar.rows() == [
        ("BOTH", days[1]), ("BOTH", days[2]),
        ("CHICAGO", days[1]), ("CHICAGO", days[2]),
        ("LONDON", days[2]),
    ]
    # The data calendar is the dates with prices: the same here, since the synthetic market is
    # generated on the exchange calendars.
    assert index_calendar(market, [london, chicago, both], days[0], days[-1], source="data").equals(calendar)
    # Without prices on a day, the data calendar drops it; the exchange calendar keeps it.
    gappy = without_rows(market, pl.col("date") == days[2])
    assert ("LONDON", days[2]) not in index_calendar(gappy, [london], days[0], days[-1], source="data").rows()
    assert ("LONDON", days[2]) in index_calendar(gappy, [london], days[0], days[-1]).rows()


def without_rows(market: MarketData, condition: pl.Expr) -> MarketData:
    return replace(market, prices=market.prices.filter(~condition))


def held_at_close(market: MarketData, root: str, day: dt.date) -> list[int]:
    """The contracts the window-roll series holds at the close of ``day`` (independent of the
    check under test: read from the series' held_contracts text)."""
    from indexcalc.series import build_series

    series = build_series(market.up_to(day), WindowRoll(), roots=[root])
    text = series.filter(pl.col("date") == day).get_column("held_contracts").item()
    return [int(item.split(":")[0]) for item in text.split()]


def test_a_root_without_prices_on_an_open_day_is_missing_data_naming_its_held_contract(market, specs):
    day, previous = dt.date(2024, 8, 14), dt.date(2024, 8, 13)
    check_required_data(market.up_to(day), specs, day)  # complete data passes
    gappy = without_rows(market, (pl.col("root") == "CL") & (pl.col("date") == day))
    (held,) = held_at_close(market, "CL", previous)
    with pytest.raises(DataError, match=f"root CL, contract {held}, date {day}") as error:
        check_required_data(gappy.up_to(day), specs, day)
    assert "missing required data" in str(error.value)


def test_a_closed_exchange_requires_no_data(market, specs):
    # 2024-08-26: London closed; the LME roots have no rows and nothing is missing.
    day = dt.date(2024, 8, 26)
    assert market.prices.filter((pl.col("date") == day) & (pl.col("root") == "LA")).is_empty()
    check_required_data(market.up_to(day), specs, day)


# --- the daily run against the rebuild ----------------------------------------------------------


@pytest.mark.slow
def test_sixty_daily_runs_equal_a_full_rebuild_for_every_index(published_state, tmp_path, market, specs):
    out = fresh(published_state, tmp_path)
    days = business_days_after(market, specs, PUBLISHED_THROUGH, DAILY_RUNS)
    assert len(days) == DAILY_RUNS
    full_days = []
    for number, day in enumerate(days, start=1):
        outcome = run_daily(market, specs, day, out, stamp(number), publish=False)
        assert outcome.appended[day] > 0 and not outcome.already_published
        full_days += outcome.full_days
    # The stored state continued the days inside a month; the first day of each month (new
    # positions) was calculated in full, and a base-metals drift trigger may add a day.
    month_starts = [day for previous, day in zip([PUBLISHED_THROUGH, *days], days) if day.month != previous.month]
    assert set(month_starts) <= set(full_days)
    assert len(full_days) <= len(month_starts) + 6
    ledger = Ledger(out / "ledger")
    assert len(ledger.parts()) == 1 + DAILY_RUNS  # the initial publication, then one part a day

    daily = ledger.current().select("index_id", "date", pl.col("level").alias("daily_level"))
    full = all_levels(rebuild_all(market.up_to(days[-1]), specs)).select("index_id", "date", "level")
    joined = full.join(daily, on=["index_id", "date"], how="full", coalesce=True)
    assert joined.filter(pl.col("level").is_null() | pl.col("daily_level").is_null()).is_empty()
    # continued and full days alike: the rebuild reproduces the daily runs' levels exactly
    assert joined.filter(pl.col("daily_level") != pl.col("level")).is_empty()
    # Every index (each momentum family, every basket, the copper strategy) was run daily.
    window = daily.filter(pl.col("date") > PUBLISHED_THROUGH)
    counts = dict(window.group_by("index_id").len().rows())
    assert set(counts) == {spec.id for spec in specs}
    assert {spec.kind for spec in specs} == {"momentum", "carry_basket", "base_metals", "copper_macro"}
    assert min(counts.values()) >= DAILY_RUNS - 5  # an index may be closed on its exchanges' holidays


@pytest.mark.slow
def test_the_same_date_twice_appends_nothing_and_rewrites_identical_files(published_small, tmp_path, market,
                                                                         small_specs):
    out = fresh(published_small, tmp_path)
    day = business_days_after(market, small_specs, PUBLISHED_THROUGH, 1)[0]
    first = run_daily(market, small_specs, day, out, stamp(1))
    assert first.appended[day] == len(small_specs)
    after_first = snapshot(out)
    second = run_daily(market, small_specs, day, out, stamp(2))
    assert second.already_published and second.appended == {day: 0}
    assert snapshot(out) == after_first
    # An earlier published date writes nothing at all.
    earlier = run_daily(market, small_specs, PUBLISHED_THROUGH, out, stamp(3))
    assert earlier.already_published and not earlier.republished
    assert snapshot(out) == after_first
    # The published levels files hold exactly the ledger's levels.
    ledger = Ledger(out / "ledger").current()
    for spec in small_specs:
        levels = pl.read_csv(out / "levels" / f"{spec.id}.csv", try_parse_dates=True)
        expected = ledger.filter(pl.col("index_id") == spec.id).select("date", pl.col("official_level").alias("level"), "daily_return")
        assert levels.equals(expected)


def failing_after(calls: int, error: Exception):
    """A replacement for a writer that works ``calls`` times, then raises ``error``."""
    from indexcalc import atomic

    original = atomic.atomic_write_csv
    count = {"calls": 0}

    def write(path, frame):
        count["calls"] += 1
        if count["calls"] > calls:
            raise error
        return original(path, frame)

    return write


def test_published_files_carry_the_official_level_and_the_ledger_keeps_both(published_small):
    ledger = Ledger(published_small / "ledger").current()
    assert ledger.filter(pl.col("official_level") != pl.col("level").round(4, mode="half_away_from_zero")).is_empty()
    for index_id in ("LO-ER", "CU-MACRO-ER"):
        csv = pl.read_csv(published_small / "levels" / f"{index_id}.csv", try_parse_dates=True)
        rows = ledger.filter(pl.col("index_id") == index_id).join(csv, on="date", suffix="_csv")
        assert rows.height == csv.height > 100
        assert rows.filter(pl.col("level_csv") != pl.col("official_level")).is_empty()
        assert rows.filter(pl.col("level_csv") != pl.col("level")).height > 0  # full precision only in the ledger
        assert csv.select((pl.col("level") * 10_000 - (pl.col("level") * 10_000).round()).abs().max()).item() < 1e-6
        document = json.loads((published_small / "api" / index_id / "levels.json").read_text())
        from_json = pl.DataFrame(document["levels"]).with_columns(pl.col("date").str.to_date())
        assert from_json.equals(csv) and document["precision"] == 4


@pytest.mark.slow
def test_a_run_failing_inside_the_writer_leaves_every_file_as_it_was(published_small, tmp_path, market,
                                                                    small_specs, monkeypatch):
    out = fresh(published_small, tmp_path)
    before = snapshot(out)
    day = business_days_after(market, small_specs, PUBLISHED_THROUGH, 1)[0]
    import indexcalc.publish.levels as levels_writer

    monkeypatch.setattr(levels_writer, "atomic_write_csv", failing_after(3, OSError("disk full")))
    with pytest.raises(OutputError, match="disk full; nothing was changed"):  # one line for the CLI
        run_daily(market, small_specs, day, out, stamp(1))
    monkeypatch.undo()
    assert snapshot(out) == before
    assert not list(out.parent.glob(".outputs.*"))  # no staging folder left behind

    # Failing at the commit point itself (the ledger append) changes nothing either.
    def refuse(*args, **kwargs):
        raise OSError("ledger volume gone")

    monkeypatch.setattr(Ledger, "append", refuse)
    with pytest.raises(OutputError, match="ledger volume gone; nothing was published"):
        run_daily(market, small_specs, day, out, stamp(2))
    monkeypatch.undo()
    assert snapshot(out) == before


@pytest.mark.slow
def test_a_run_dying_after_its_commit_is_repaired_by_running_the_date_again(published_small, tmp_path, market,
                                                                           small_specs, monkeypatch):
    day = business_days_after(market, small_specs, PUBLISHED_THROUGH, 1)[0]
    clean = fresh(published_small, tmp_path / "clean")
    run_daily(market, small_specs, day, clean, stamp(1))

    out = fresh(published_small, tmp_path / "broken")
    from indexcalc import atomic

    def die_while_switching(staging, target, keep):
        # The staged publication becomes a version, then the process "dies" before the switch.
        staging.rename(target / "versions" / "99")
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "switch_publication", die_while_switching)
    with pytest.raises(KeyboardInterrupt):
        run_daily(market, small_specs, day, out, stamp(1))
    monkeypatch.undo()
    assert Ledger(out / "ledger").last_date() == day  # committed
    repaired = run_daily(market, small_specs, day, out, stamp(2))
    assert repaired.already_published and repaired.appended == {day: 0}
    assert snapshot(out) == snapshot(clean)
    assert not (out / "versions" / "99").exists()  # the version never switched to is removed


@pytest.mark.slow
def test_the_stored_state_is_audited_by_a_publishing_run_and_is_only_a_cache(published_small, tmp_path, market,
                                                                              small_specs):
    from indexcalc.daystate import DayState
    from indexcalc.operations import state_path

    out = fresh(published_small, tmp_path)
    first, second, third = business_days_after(market, small_specs, PUBLISHED_THROUGH, 3)
    assert run_daily(market, small_specs, first, out, stamp(1), publish=False).full_days == [first]  # new month
    state = DayState.model_validate_json(state_path(out).read_bytes())
    assert state.as_of == first and set(state.indexes) == set(SMALL_IDS) - {"CU-MACRO-ER"}

    # A damaged state (a weight changed) is caught by the full calculation a publishing run
    # makes: nothing is appended or published.
    index = state.indexes["LO-ER"]
    damaged = index.model_copy(update={"weights": tuple(1.5 * weight for weight in index.weights)})
    state_path(out).write_text(state.model_copy(update={"indexes": {**state.indexes, "LO-ER": damaged}})
                               .model_dump_json())
    before = snapshot(out)
    with pytest.raises(StateError, match="index LO-ER.*differs from the full calculation"):
        run_daily(market, small_specs, second, out, stamp(2))
    assert snapshot(out) == before

    # Without a readable state the run calculates in full, then continues from the state it left.
    state_path(out).write_text("not json")
    assert run_daily(market, small_specs, second, out, stamp(3)).full_days == [second]
    assert run_daily(market, small_specs, third, out, stamp(4), publish=False).full_days == []
    daily = Ledger(out / "ledger").current().filter(pl.col("date") == third)
    full = all_levels(rebuild_all(market.up_to(third), small_specs)).filter(pl.col("date") == third)
    joined = full.join(daily, on=["index_id", "date"], suffix="_daily")
    assert joined.height == len(small_specs)
    assert joined.filter(pl.col("level_daily") != pl.col("level")).is_empty()


def test_the_stored_state_is_used_only_when_it_matches_the_ledger_specs_instruments_and_data(published_state,
                                                                                                market, specs):
    from indexcalc.daystate import DayState
    from indexcalc.operations import state_path, state_problem

    state = DayState.model_validate_json(state_path(published_state).read_bytes())
    published = Ledger(published_state / "ledger").current()
    data = market.up_to(PUBLISHED_THROUGH)
    assert state.as_of == PUBLISHED_THROUGH
    assert state_problem(state, published, specs, data, "rules") is None
    assert "disruption policy" in state_problem(state, published, specs, data, "carry_forward")
    assert "disruption policy" in state_problem(state, published, specs, data, "error")
    older = published.filter(pl.col("date") < PUBLISHED_THROUGH)
    assert "not the last published date" in state_problem(state, older, specs, data, "rules")
    moved = published.with_columns(
        pl.when((pl.col("index_id") == "LS-ER") & (pl.col("date") == PUBLISHED_THROUGH))
        .then(pl.col("level") * (1 + 1e-15)).otherwise(pl.col("level")).alias("level"))
    assert "LS-ER is not its last published level" in state_problem(state, moved, specs, data, "rules")
    changed_spec = [spec.model_copy(update={"base_value": 1.0}) if spec.id == "LO-ER" else spec for spec in specs]
    assert "spec or roll rule of LO-ER" in state_problem(state, published, changed_spec, data, "rules")
    copper = data.instruments["HG"].model_copy(update={"multiplier": 1.0})
    other_instruments = replace(data, instruments={**data.instruments, "HG": copper})
    assert "instruments" in state_problem(state, published, specs, other_instruments, "rules")
    corrected = replace(data, prices=data.prices.with_columns(
        pl.when((pl.col("root") == "GC") & (pl.col("date") == dt.date(2023, 3, 1)))
        .then(pl.col("settle") + 0.1).otherwise(pl.col("settle")).alias("settle")))
    assert "data up to 2024-06-28 changed" in state_problem(state, published, specs, corrected, "rules")


# --- refusals -----------------------------------------------------------------------------------


def test_a_day_that_is_not_a_business_day_is_refused(published_state, tmp_path, market, specs):
    out = fresh(published_state, tmp_path)
    with pytest.raises(DataError, match="date 2024-08-03: not a business day of the index calendar"):
        run_daily(market, specs, dt.date(2024, 8, 3), out, stamp(1), publish=False)


@pytest.mark.slow
def test_a_gap_is_refused_and_catch_up_runs_each_missing_day_in_order(published_state, tmp_path, market, specs):
    out = fresh(published_state, tmp_path)
    days = business_days_after(market, specs, PUBLISHED_THROUGH, 3)
    with pytest.raises(StateError, match=f"2 business day.*{days[0]} to {days[1]}.*--catch-up"):
        run_daily(market, specs, days[2], out, stamp(1), publish=False)
    assert len(Ledger(out / "ledger").parts()) == 1
    outcome = run_daily(market, specs, days[2], out, stamp(2), catch_up=True, publish=False)
    assert list(outcome.appended) == days
    ledger = Ledger(out / "ledger")
    assert len(ledger.parts()) == 4
    assert sorted(ledger.read_all().get_column("run_id").unique().to_list()) == sorted(
        [f"run0002-{day:%Y%m%d}" for day in days] + ["run0000"]
    )


@pytest.mark.slow
def test_missing_data_on_the_run_date_fails_naming_root_and_contract(published_state, tmp_path, market, specs):
    out = fresh(published_state, tmp_path)
    day = business_days_after(market, specs, PUBLISHED_THROUGH, 1)[0]
    (held,) = held_at_close(market, "GC", PUBLISHED_THROUGH)
    whole_root = without_rows(market, (pl.col("root") == "GC") & (pl.col("date") == day))
    with pytest.raises(DataError, match=f"root GC, contract {held}, date {day}"):
        run_daily(whole_root, specs, day, out, stamp(1), publish=False)
    # Only the held contract missing: a disrupted session. Under the "error" policy the
    # calculation's disruption check names it; under the default rules its last settlement is
    # kept and the day is published.
    one_contract = without_rows(
        market, (pl.col("root") == "GC") & (pl.col("date") == day) & (pl.col("contract") == held)
    )
    with pytest.raises(DataError, match=f"root GC, contract {held}, date {day}"):
        run_daily(one_contract, specs, day, out, stamp(2), publish=False, disruption="error")
    assert len(Ledger(out / "ledger").parts()) == 1
    run_daily(one_contract, specs, day, out, stamp(3), publish=False)
    assert len(Ledger(out / "ledger").parts()) == 2


@pytest.mark.slow
def test_refusals_without_state_with_changed_history_or_an_unpublished_index(published_state, tmp_path, market,
                                                                             specs):
    day = business_days_after(market, specs, PUBLISHED_THROUGH, 1)[0]
    with pytest.raises(StateError, match="run `indexcalc rebuild` first"):
        run_daily(market, specs, day, tmp_path / "empty", stamp(1), publish=False)

    out = fresh(published_state, tmp_path)
    changed = replace(market, prices=market.prices.with_columns(
        pl.when((pl.col("root") == "CL") & (pl.col("date") == dt.date(2024, 6, 18)))
        .then(pl.col("settle") * 1.01).otherwise(pl.col("settle")).alias("settle")))
    with pytest.raises(StateError, match="differs from the published levels.*indexcalc rebuild"):
        run_daily(changed, specs, day, out, stamp(2), publish=False)

    extra = parse_spec({**specs[0].model_dump(), "id": "NEW-ER"})
    with pytest.raises(StateError, match="index NEW-ER"):
        run_daily(market, [*specs, extra], day, out, stamp(3), publish=False)
    assert len(Ledger(out / "ledger").parts()) == 1


# --- restatement --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_correction_below_the_official_precision_restates_nothing(published_state, tmp_path, market, specs):
    out = fresh(published_state, tmp_path)
    (held,) = held_at_close(market, "CL", dt.date(2024, 6, 17))
    original = market.up_to(PUBLISHED_THROUGH)
    # +1e-12 relative on one CL settle moves full-precision levels by about 1e-9 points: no
    # official (4-decimal) level changes, so the rebuild reports and restates nothing
    corrected = corrected_settlement(original, "CL", held, dt.date(2024, 6, 18), 1 + 1e-12)
    moved = all_levels(rebuild_all(corrected, specs)).join(
        all_levels(rebuild_all(original, specs)), on=["index_id", "date"], suffix="_old"
    ).filter(pl.col("level") != pl.col("level_old"))
    assert moved.height > 0
    outcome = rebuild(corrected, specs, out, stamp(1), publish=False)
    assert (outcome.report, outcome.restated, outcome.appended) == (None, 0, 0)
    assert not (out / "restatements").exists()
    rows = Ledger(out / "ledger").current()
    assert rows.filter(pl.col("official_level") != pl.col("level").round(4, mode="half_away_from_zero")).is_empty()
    assert rows.filter(pl.col("official_level") != pl.col("level")).height > 0  # the ledger keeps full precision


def corrected_settlement(market: MarketData, root: str, contract: int, day: dt.date, factor: float) -> MarketData:
    target = (pl.col("root") == root) & (pl.col("contract") == contract) & (pl.col("date") == day)
    return replace(market, prices=market.prices.with_columns(
        pl.when(target).then(pl.col("settle") * factor).otherwise(pl.col("settle")).alias("settle")))


@pytest.mark.slow
def test_a_corrected_settlement_reports_exactly_the_affected_levels_and_restates_only_when_asked(
    published_state, tmp_path, market, specs
):
    out = fresh(published_state, tmp_path)
    ledger = Ledger(out / "ledger")
    # CL's held contract on 2024-06-18 (business day 12: outside the roll window) is corrected +1%.
    day = dt.date(2024, 6, 18)
    (held,) = held_at_close(market, "CL", dt.date(2024, 6, 17))
    original = market.up_to(PUBLISHED_THROUGH)
    corrected = corrected_settlement(original, "CL", held, day, 1.01)
    before = snapshot(out)

    with pytest.raises(RestatementRequired, match="would move") as refusal:
        rebuild(corrected, specs, out, stamp(1), publish=False)
    report_path = out / "restatements" / f"{RUN_TIME:%Y-%m-%d}.csv"
    assert refusal.value.outcome.report_path == report_path
    assert {name: data for name, data in snapshot(out).items() if not name.startswith("restatements")} == before

    report = pl.read_csv(report_path, try_parse_dates=True)
    assert report.columns == ["index", "date", "published", "recomputed", "difference"]
    # Exactly the index dates whose official level (4 decimals) changes between the two full histories.
    old = all_levels(rebuild_all(original, specs))
    new = all_levels(rebuild_all(corrected, specs))
    official = lambda column: pl.col(column).round(4, mode="half_away_from_zero")  # noqa: E731
    changed = (
        old.join(new, on=["index_id", "date"], suffix="_new")
        .filter(official("level_new") != official("level"))
        .select("index_id", "date")
    )
    assert sorted(report.select("index", "date").rows()) == sorted(changed.rows())
    # Nothing before the correction. The Long-Only index holds the same CL contract through the
    # 17th-19th with fixed weights, so its level is linear in that settle: it moves on the 18th
    # only (the 19th's return undoes the 18th's error).
    assert report.get_column("date").min() == day
    assert report.filter(pl.col("index") == "LO-ER").get_column("date").to_list() == [day]
    # Indexes without crude oil never move.
    assert not report.filter(pl.col("index").str.starts_with("BM-") | pl.col("index").str.starts_with("CU-")).height
    assert (report.get_column("difference") - (report.get_column("recomputed") - report.get_column("published"))
            ).abs().max() == 0

    # With --restate: the moved levels are appended as version 2 with the reason.
    outcome = rebuild(corrected, specs, out, stamp(2), restate_reason="CL settlement corrected", publish=False)
    assert outcome.restated == report.height and outcome.appended == 0
    current = ledger.current()
    restated = current.filter(pl.col("version") == 2)
    assert sorted(restated.select("index_id", "date").rows()) == sorted(changed.rows())
    assert set(restated.get_column("reason")) == {"CL settlement corrected"}
    # Now the ledger's official levels are those of the corrected history (levels whose official
    # level did not move keep their first version), and the restated rows hold the full level.
    against_new = current.join(new, on=["index_id", "date"], suffix="_new")
    assert against_new.height == new.height == current.height
    assert against_new.filter(pl.col("official_level") != official("level_new")).is_empty()
    assert against_new.filter((pl.col("version") == 2) & (pl.col("level") != pl.col("level_new"))).is_empty()
    # The old version stays readable, and as of the first publication nothing had moved.
    as_published = ledger.current(RUN_TIME + dt.timedelta(seconds=30))
    assert as_published.select("index_id", "date", "level").sort("index_id", "date").equals(
        old.select("index_id", "date", "level").sort("index_id", "date"))
    # A second rebuild on the corrected data has nothing to report or append.
    again = rebuild(corrected, specs, out, stamp(3), publish=False)
    assert again.report is None and again.appended == 0 and again.restated == 0


@pytest.mark.slow
def test_progress_totals_count_every_step_of_a_run_and_a_rebuild(published_small, tmp_path, market, small_specs):
    from indexcalc.operations import publication_steps, rebuild_steps

    out = fresh(published_small, tmp_path)
    days = business_days_after(market, small_specs, PUBLISHED_THROUGH, 2)
    steps, totals = [], []
    run_daily(market, small_specs, days[1], out, stamp(1), catch_up=True, on_step=steps.append,
              on_total=totals.append)
    # one catch-up day, the day itself, "publishing", then levels files, one per index, site index
    assert totals == [len(steps)] == [2 + 1 + publication_steps(len(small_specs))]
    assert steps[:3] == [f"catching up {days[0]}", f"computing {days[1]}", "publishing"]
    assert steps[-1] == "index page" and steps[3] == "levels, weights and tables"

    steps.clear()
    rebuild(market.up_to(days[1]), small_specs, out, stamp(2), on_step=steps.append)
    assert len(steps) == rebuild_steps(small_specs, market.up_to(days[1]))
