"""The publication's own series (contributions on the factsheets) follow the run's
disruption policy: a run that carried a disruption forward publishes (docs/design.md section 2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest

from indexcalc.errors import DataError
from indexcalc.pipeline import rebuild_all
from indexcalc.publish import publication_inputs
from indexcalc.rolls import roll_schedule
from indexcalc.series import build_series
from indexcalc.catalogue import load_catalogue, parse_spec

DISRUPTED_ROOT = "GC"
DISRUPTED_DAY = dt.date(2015, 6, 15)  # mid-month, outside the roll window: one contract held
UNIVERSE = ["C", "CL", "GC", "HG"]  # a small Long-Only (cap 0.5 holds over 4 roots) keeps the test fast


@pytest.mark.slow
def test_publication_inputs_of_a_carried_forward_run_are_the_runs_series(embedded_market):
    catalogue_spec = next(spec for spec in load_catalogue() if spec.id == "LO-ER")
    spec = parse_spec({**catalogue_spec.model_dump(), "universe": UNIVERSE, "magnitude": {"cap": 0.5}})
    held = roll_schedule(embedded_market, spec.roll, roots=[DISRUPTED_ROOT]).filter(
        pl.col("date") == DISRUPTED_DAY
    )
    assert held.get_column("weight").to_list() == [1.0]
    contract = held.item(0, "contract")
    market = replace(embedded_market, prices=embedded_market.prices.filter(
        ~((pl.col("root") == DISRUPTED_ROOT) & (pl.col("date") == DISRUPTED_DAY) & (pl.col("contract") == contract))
    ))
    with pytest.raises(DataError, match=f"root {DISRUPTED_ROOT}, contract {contract}, date {DISRUPTED_DAY}"):
        rebuild_all(market, [spec], disruption="error")

    results = rebuild_all(market, [spec], disruption="carry_forward")
    _, root_levels = publication_inputs(results, market).for_index(spec.id)
    roots = sorted(root_levels.get_column("root").unique().to_list())
    assert roots == UNIVERSE
    series = build_series(market, spec.roll, roots=roots, disruption="carry_forward")
    # flagged: the disrupted session (the next day's return starts from the kept price)
    flagged = series.filter(pl.col("disrupted")).select("root", "date").rows()
    assert flagged == [(DISRUPTED_ROOT, DISRUPTED_DAY)]
    assert root_levels.equals(series.select("date", "root", "level"))
    # the default rules (one disrupted session, within the limit) compute the same results
    default = rebuild_all(market, [spec])
    assert default[spec.id].levels.equals(results[spec.id].levels)
