"""Grid pages (indexcalc.publish.grids, issue 19): each catalogue grid's variants compared in one
table with their figures computed by hand here, the figures drawn against every axis, and the
site's index page listing grids instead of every variant."""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl
import pytest

from indexcalc.catalogue import read_catalogue
from indexcalc.pipeline import computable, rebuild_all
from indexcalc.publish.grids import axis_chart, axis_values, grid_table, grids_of, render_grid_page
from indexcalc.publish.site import render_site_index

GRIDS = "examples/grids"


@pytest.fixture(scope="module")
def grid_results(embedded_market):
    specs, _ = read_catalogue(GRIDS)
    kept, skipped = computable([spec for spec in specs if spec.grid is None or spec.grid.grid == "LS-TREND-CAP"],
                               embedded_market)
    assert not skipped
    return rebuild_all(embedded_market, kept)


def test_variants_carry_their_grid_and_axis_values_outside_their_parameters():
    specs, grid_of = read_catalogue(GRIDS)
    variant = next(spec for spec in specs if spec.id == "LS-ER-MA9-CAP15")
    assert variant.grid.grid == grid_of[variant.id] == "LS-TREND-CAP"
    assert variant.grid.values == (("ma_months", "9"), ("cap", "15%"))
    assert "grid" not in variant.model_dump() and '"grid"' not in variant.fingerprint()


@pytest.mark.slow
def test_the_comparison_table_holds_each_variants_figures_by_hand(grid_results):
    grids = grids_of(grid_results)
    assert list(grids) == ["LS-TREND-CAP"] and len(grids["LS-TREND-CAP"]) == 6
    table = grid_table([grid_results[index_id] for index_id in grids["LS-TREND-CAP"]], None, lambda index_id: None)
    assert table.columns[:4] == ["index", "name", "ma_months", "cap"]
    assert table.get_column("ma_months").to_list() == ["6", "6", "9", "9", "12", "12"]
    for row in table.iter_rows(named=True):
        level = grid_results[row["index"]].levels.get_column("level").to_numpy()
        returns = level[1:] / level[:-1] - 1
        assert row["annualised_return"] == pytest.approx((level[-1] / level[0]) ** (252 / returns.size) - 1, rel=1e-12)
        assert row["annualised_volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(252), rel=1e-12)
        assert row["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert row["max_drawdown"] == pytest.approx((level / np.maximum.accumulate(level) - 1).min(), rel=1e-12)
        assert row["annual_turnover"] > 0


def test_an_axis_chart_draws_every_variant_and_the_mean_per_value():
    table = pl.DataFrame({"index": list("abcdef"), "name": list("abcdef"), "ma": ["6", "6", "9", "9", "12", "12"],
                          "cap": ["5%", "10%"] * 3, "sharpe": [0.2, 0.4, 0.5, 0.7, 1.0, None]})
    svg = axis_chart(table, "ma", "sharpe", "chart")
    assert svg.count("<circle") == 5  # a variant without a figure is not drawn
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    ys = {x: [] for x in xs}
    for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg):
        ys[float(x)].append(float(y))
    points = [tuple(map(float, point.split(","))) for point in re.search(r'points="([^"]+)"', svg).group(1).split()]
    # the line passes through the mean of each value's dots (y is linear in the figure), left to right
    assert [x for x, _ in points] == sorted(set(xs))
    for x, y in points:
        assert y == pytest.approx(sum(ys[x]) / len(ys[x]), abs=0.11)
    assert axis_values(table, "ma") == ["6", "9", "12"]
    assert re.findall(r'>(6|9|12)</text>', svg) == ["6", "9", "12"]


@pytest.mark.slow
def test_the_site_lists_grids_and_the_grid_page_links_every_variant(grid_results):
    site = render_site_index(grid_results)
    assert 'data-grid="LS-TREND-CAP"' in site and "6 variants of 1 parameter grids" in site.replace("\n", " ")
    assert 'data-index="LS-ER-MA6-CAP10"' not in site and 'data-index="LS-ER-BASE"' in site
    table = grid_table([grid_results[index_id] for index_id in grids_of(grid_results)["LS-TREND-CAP"]], None,
                       lambda index_id: None)
    page = render_grid_page("LS-TREND-CAP", table, "Long/Short momentum family")
    for index_id in table.get_column("index"):
        assert f'href="../factsheets/{index_id}.html"' in page
    assert page.count("<svg") == 4  # two axes x (Sharpe, annualised return)


def test_a_catalogue_without_grids_publishes_no_grid_section(embedded_market):
    from indexcalc.catalogue import load_catalogue

    spec = next(spec for spec in load_catalogue() if spec.id == "BM-EQ-ER")
    site = render_site_index(rebuild_all(embedded_market, [spec]))
    assert "Parameter grids" not in site and "1 index," in site


def test_the_rendering_chunks_cover_every_index_once_in_order():
    from indexcalc.publish import CHUNKS_PER_WORKER, render_chunks

    for count, workers in ((1, 2), (7, 2), (8, 2), (1001, 2), (35, 4)):
        results = {f"I{n:04d}": None for n in range(count)}
        chunks = render_chunks(results, workers)
        assert [index_id for chunk in chunks for index_id in chunk] == list(results)
        assert len(chunks) == min(count, workers * CHUNKS_PER_WORKER)
        assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


@pytest.mark.slow
def test_pages_rendered_in_chunks_by_workers_equal_those_rendered_here(embedded_market):
    """Chunks hold their own indexes and the reference indexes: LS-ER's factsheet, rendered in a
    chunk without LO-ER, still compares with LO-ER, as it does rendered in this process."""
    from indexcalc.catalogue import load_catalogue
    from indexcalc.publish import publication_inputs, render_index_pages, render_pages_in_pool

    wanted = ("LS-ER", "BM-EQ-ER", "LF-ER", "LO-ER")
    specs = [spec for spec in load_catalogue() if spec.id in wanted]
    results = rebuild_all(embedded_market, specs)
    inputs = publication_inputs(results, embedded_market)
    pooled = {}
    render_pages_in_pool(results, embedded_market.instruments, inputs, 2,
                         lambda index_id, *pages: pooled.setdefault(index_id, pages))
    assert list(pooled) == list(results)
    for index_id in results:
        assert pooled[index_id] == render_index_pages(index_id, results, embedded_market.instruments, inputs), index_id
    assert "LO-ER" in pooled["LS-ER"][0]
