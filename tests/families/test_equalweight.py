"""The example family (indexcalc/families/equalweight/, the README's "adding an index family"):
its weights and levels by hand, its run through the catalogue, the pipeline and the publisher,
and the claim that adding it touched only its folder and one registry line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

import indexcalc
from indexcalc.catalogue import parse_spec
from indexcalc.families.equalweight.compute import compute_equal_weight
from indexcalc.families.registry import FAMILIES
from indexcalc.pipeline import computable, rebuild_all

PACKAGE = Path(indexcalc.__file__).parent


def _hand_series(roots: tuple[str, str]) -> tuple[pl.DataFrame, list[dt.date]]:
    """Business days 27 Jan to 6 Mar 2020; root A at 100 + k, root B at 200 - 2k on day k."""
    days = [day for day in pl.date_range(dt.date(2020, 1, 27), dt.date(2020, 3, 6), "1d", eager=True)
            if day.weekday() < 5]
    rows = [{"date": day, "root": roots[0], "level": 100.0 + k} for k, day in enumerate(days)]
    rows += [{"date": day, "root": roots[1], "level": 200.0 - 2 * k} for k, day in enumerate(days)]
    return pl.DataFrame(rows), days


def test_weights_and_levels_by_hand(embedded_market):
    roots = tuple(sorted(embedded_market.roots)[:2])
    series, days = _hand_series(roots)
    spec = parse_spec({"kind": "equal_weight", "id": "EW-TEST", "name": "Equal weight", "universe": list(roots)})
    result = compute_equal_weight([spec], embedded_market, series, pl.DataFrame())["EW-TEST"]

    # month-ends 31 Jan and 28 Feb (March has no later month yet), effective one day later
    weights = result.weights
    assert weights.get_column("date").unique().sort().to_list() == [dt.date(2020, 1, 31), dt.date(2020, 2, 28)]
    assert weights.get_column("effective_date").unique().sort().to_list() == [dt.date(2020, 2, 3), dt.date(2020, 3, 2)]
    assert weights.get_column("weight").to_list() == [0.5] * 4

    level = dict(zip(result.levels.get_column("date").to_list(), result.levels.get_column("level").to_list()))
    k = {day: position for position, day in enumerate(days)}
    a = lambda day: 100.0 + k[day]  # noqa: E731
    b = lambda day: 200.0 - 2 * k[day]  # noqa: E731
    first, second = dt.date(2020, 2, 3), dt.date(2020, 3, 2)
    assert min(level) == dt.date(2020, 1, 31) and level[dt.date(2020, 1, 31)] == 1000.0
    assert level[first] == 1000.0
    # C_t = C_a (1 + sum_i W_i (ER_i,t / ER_i,a - 1)), W = 1/2
    on_second = 1000.0 * (1 + 0.5 * (a(second) / a(first) - 1) + 0.5 * (b(second) / b(first) - 1))
    assert level[second] == pytest.approx(on_second, rel=1e-13)
    last = days[-1]
    assert level[last] == pytest.approx(on_second * (1 + 0.5 * (a(last) / a(second) - 1) + 0.5 * (b(last) / b(second) - 1)),
                                        rel=1e-13)
    assert result.axis_roots == roots


def test_the_family_runs_through_the_pipeline_and_the_publisher(embedded_market):
    from indexcalc.publish.methodology import render_methodology
    from indexcalc.publish.site import render_site_index

    roots = sorted(embedded_market.roots)[:3]
    specs = [parse_spec({"kind": "equal_weight", "id": f"EW-{kind.upper()}", "name": "Equal weight",
                         "universe": roots, "return_type": kind}) for kind in ("er", "tr")]
    kept, skipped = computable(specs, embedded_market)
    assert [spec.id for spec in kept] == ["EW-ER", "EW-TR"] and skipped == []
    results = rebuild_all(embedded_market, kept)
    er, tr = results["EW-ER"], results["EW-TR"]
    assert er.levels.height > 1000 and tr.excess is not None
    assert tr.excess.get_column("level").to_list() == er.levels.get_column("level").to_list()
    document = render_methodology(er.spec, embedded_market.instruments)
    assert "receives the weight" in document and "EW-ER" in document
    assert "Equal-weight baskets" in render_site_index(results)


def test_the_family_is_its_folder_and_one_registry_line():
    """Nothing outside indexcalc/families/equalweight/ names the family, except its registry line."""
    mentions = {
        path.relative_to(PACKAGE).as_posix(): [line for line in path.read_text().splitlines()
                                               if re.search(r"\bequal_?weight\b", line)]
        for path in PACKAGE.rglob("*.py")
        if "families/equalweight" not in path.as_posix()
    }
    assert {path: lines for path, lines in mentions.items() if lines} == {
        "families/registry.py": ["from indexcalc.families import basemetals, carry, copper, equalweight, momentum",
                                 "    equalweight.FAMILY,"],
    }
    assert FAMILIES["equal_weight"].folder == PACKAGE / "families" / "equalweight"


def test_the_daily_state_continues_the_family_as_the_full_calculation(embedded_market):
    from indexcalc.daystate import continue_day, continued_specs, state_from_calculation
    from indexcalc.ledger import input_hash
    from indexcalc.operations import all_levels, calendar_days, index_calendar
    from indexcalc.pipeline import calculate
    from tests.test_operations import SPAN, cut

    market = cut(embedded_market, *SPAN)
    spec = parse_spec({"kind": "equal_weight", "id": "EW-TR", "name": "Equal weight", "return_type": "tr",
                       "universe": sorted(market.roots)[:4]})
    start = dt.date(2024, 7, 1)
    days = [day for day in calendar_days(index_calendar(market, [spec], start, dt.date(2024, 7, 31))) if day >= start]
    state = state_from_calculation(calculate(market.up_to(days[0]), [spec]), [spec], market.up_to(days[0]), days[0],
                                   input_hash(market.up_to(days[0])), "error")
    assert continued_specs(state, [spec]) == ([spec], [])
    for day in days[1:4]:
        levels, state = continue_day(state, market.up_to(day), [spec], day)
        full = all_levels(calculate(market.up_to(day), [spec]).results).filter(pl.col("date") == day)
        assert full.height == 1
        assert levels.select("index_id", "date", "level").rows() == full.select("index_id", "date", "level").rows()
