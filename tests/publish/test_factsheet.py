"""Factsheets and methodology documents: every figure shown equals the analytics function's
result for the same levels (formatted the way the page formats it), the pages are
self-contained, and the methodology text follows the spec."""

from __future__ import annotations

import re

import jinja2
import polars as pl
import pytest
from publish_pages import element_ids, external_references, marked

from indexcalc import analytics
from indexcalc.publish import charts
from indexcalc.publish.factsheet import FactsheetInputs, factsheet_context, long_only_reference, render_factsheet
from indexcalc.publish.formatting import day, percent, ratio, signed_percent
from indexcalc.publish.methodology import render_methodology, spec_parameters
from indexcalc.specs import DataRoll, WindowRoll
from indexcalc.catalogue import parse_spec


def factsheet_inputs(index_id, results, inputs, instruments) -> FactsheetInputs:
    result = results[index_id]
    roll, root_levels = inputs.for_index(index_id)
    return FactsheetInputs(result=result, instruments=instruments, long_only=long_only_reference(result.spec, results),
                           root_levels=root_levels, risk_free=inputs.risk_free, roll=roll)


@pytest.fixture(scope="module")
def pages(fabricated_results, fabricated_inputs, instruments) -> dict[str, str]:
    return {index_id: render_factsheet(factsheet_inputs(index_id, fabricated_results, fabricated_inputs, instruments))
            for index_id in fabricated_results}


@pytest.mark.parametrize("index_id", ["LS-ER", "CARRY-RANK-TR", "BM-IV-ER"])
def test_risk_table_shows_the_analytics_results(index_id, pages, fabricated_results, fabricated_inputs):
    levels = fabricated_results[index_id].levels
    spec = fabricated_results[index_id].spec
    risk_free = fabricated_inputs.risk_free if spec.return_type == "tr" else None
    drawdown = analytics.max_drawdown(levels)
    shown = marked(pages[index_id], "data-stat")
    assert shown["annualised_return"] == percent(analytics.annualised_return(levels))
    assert shown["annualised_volatility"] == percent(analytics.annualised_volatility(levels))
    assert shown["sharpe"] == ratio(analytics.sharpe_ratio(levels, risk_free))
    assert shown["sortino"] == ratio(analytics.sortino_ratio(levels, risk_free))
    assert shown["max_drawdown"] == percent(drawdown.depth)
    assert shown["drawdown_peak"] == day(drawdown.peak_date)
    assert shown["drawdown_trough"] == day(drawdown.trough_date)
    assert shown["calmar"] == ratio(analytics.calmar_ratio(levels))
    _, root_levels = fabricated_inputs.for_index(index_id)
    assert shown["annual_turnover"] == percent(
        analytics.annual_turnover(fabricated_results[index_id].weights, root_levels), 0)
    assert shown["latest_level"] == f"{levels.get_column('level')[-1]:,.2f}"
    assert shown["latest_return"] == signed_percent(levels.get_column("daily_return")[-1])


def test_tr_index_sharpe_subtracts_collateral_and_er_index_does_not(pages, fabricated_results, fabricated_inputs):
    tr_levels = fabricated_results["CARRY-RANK-TR"].levels
    with_collateral = analytics.sharpe_ratio(tr_levels, fabricated_inputs.risk_free)
    assert with_collateral != pytest.approx(analytics.sharpe_ratio(tr_levels), abs=1e-3)
    assert marked(pages["CARRY-RANK-TR"], "data-stat")["sharpe"] == ratio(with_collateral)
    er_levels = fabricated_results["LS-ER"].levels
    assert marked(pages["LS-ER"], "data-stat")["sharpe"] == ratio(analytics.sharpe_ratio(er_levels))


def test_performance_table_shows_every_period_return(pages, fabricated_results):
    levels = fabricated_results["LS-ER"].levels
    expected = analytics.period_returns(levels)
    shown = marked(pages["LS-ER"], "data-period")
    assert set(shown) == set(expected.get_column("period"))
    for period, value in expected.select("period", "period_return").iter_rows():
        assert shown[period] == percent(value), period
    # five and a half years of history: every period but 10Y is defined
    assert [period for period, value in shown.items() if value == "–"] == ["10Y"]
    assert marked(pages["LS-ER"], "data-stat")["ytd"] == signed_percent(
        expected.filter(pl.col("period") == "YTD").get_column("period_return")[0]
    )


def test_long_only_reference_row_and_correlation(pages, fabricated_results):
    reference = fabricated_results["LO-ER"].levels
    shown = marked(pages["LS-ER"], "data-reference-period")
    for period, value in analytics.period_returns(reference).select("period", "period_return").iter_rows():
        assert shown[period] == percent(value)
    correlation = analytics.return_correlation(fabricated_results["LS-ER"].levels, reference)
    assert marked(pages["LS-ER"], "data-stat")["correlation_long_only"] == ratio(correlation)
    # the Long-Only index says it is the reference (no "–" row); a TR index without a TR
    # reference shows no correlation row at all
    assert "correlation_long_only" not in marked(pages["LO-ER"], "data-stat")
    assert marked(pages["LO-ER"], "data-stat")["reference"].startswith("this index is the reference")
    assert "correlation_long_only" not in marked(pages["CARRY-RANK-TR"], "data-stat")


def test_calendar_year_returns_shown(pages, fabricated_results):
    years = analytics.calendar_year_returns(fabricated_results["BM-IV-ER"].levels)
    shown = marked(pages["BM-IV-ER"], "data-year")
    assert len(shown) == years.height == 6  # 2019 .. 2024 (2018-12-31 is the base date), all within 8 years
    for year, value in years.select("year", "year_return").iter_rows():
        assert shown[str(year)] == percent(value)


def test_current_weights_by_root_and_sector(pages, fabricated_results, instruments):
    weights = fabricated_results["LS-ER"].weights
    sectors = {root: instrument.sector for root, instrument in instruments.items()}
    current = analytics.current_weights(weights, sectors)
    shown = marked(pages["LS-ER"], "data-weight")
    assert shown == {root: percent(weight) for root, weight in current.select("root", "weight").iter_rows()}
    by_sector = marked(pages["LS-ER"], "data-sector-net")
    expected = analytics.sector_weights(current)
    assert by_sector == {sector: percent(net) for sector, net in expected.select("sector", "net").iter_rows()}


def test_top_contributors_over_the_last_year(pages, fabricated_results, fabricated_inputs):
    result = fabricated_results["LS-ER"]
    last = result.levels.get_column("date")[-1]
    _, root_levels = fabricated_inputs.for_index("LS-ER")
    expected = analytics.return_contribution(result.weights, root_levels, analytics.months_before(last, 12), last)
    shown = marked(pages["LS-ER"], "data-contribution")
    assert shown == {root: signed_percent(value) for root, value in expected.iter_rows()}


@pytest.fixture(scope="module")
def detail_pages(fabricated_results, fabricated_inputs, instruments) -> dict[str, str]:
    from indexcalc.publish.factsheet import render_factsheet_pages

    return {index_id: render_factsheet_pages(factsheet_inputs(index_id, fabricated_results, fabricated_inputs,
                                                              instruments))[1]
            for index_id in fabricated_results}


def test_family_tables_are_rendered_with_csv_links(pages, detail_pages):
    assert 'data-table=' not in pages["CARRY-RANK-TR"]
    assert 'href="CARRY-RANK-TR-detail.html"' in pages["CARRY-RANK-TR"]
    carry = detail_pages["CARRY-RANK-TR"]
    assert "Signal analytics" in carry and 'href="../analytics/CARRY-RANK-TR.csv"' in carry
    # the registry's labels and formats: Pearson 0.081 as a ratio, balanced accuracy in percent
    assert re.search(r'data-table="analytics".*?>Pearson<.*?>0\.08<.*?>53\.0%<', carry, re.S)
    assert re.search(r'data-table="carry_stages".*?>Nominal carry \(ann\.\)<', carry, re.S)
    # a table with several rows per date shows its latest date only (6 of 18 rows)
    stages = re.search(r'data-table="carry_stages".*?</table>', carry, re.S).group(0)
    assert stages.count("<tr>") == 1 + 6
    basket = detail_pages["BM-IV-ER"]
    assert 'aria-label="Correlation matrix"' in basket
    monitor = re.search(r'data-table="correlation_monitor".*?</table>', basket, re.S).group(0)
    assert monitor.count("<tr>") == 1 + 10  # a daily table: its latest 10 rows


def test_a_trade_list_shows_its_latest_trades_first():
    import datetime as dt

    from indexcalc.publish.factsheet import TABLE_TAIL_ROWS, table_view

    entries = [dt.date(2020, 1, 1) + dt.timedelta(days=7 * week) for week in range(25)]
    trades = pl.DataFrame({"entry_date": entries, "pnl": [float(week) for week in range(25)]})
    view = table_view("trades", trades)
    assert [row[0] for row in view["values"]] == entries[::-1][:TABLE_TAIL_ROWS]
    assert view["note"] == f"latest {TABLE_TAIL_ROWS} of 25 rows by entry"
    assert [column["header"] for column in view["columns"]] == ["Entry", "P&L (USD)"]
    assert view["rows"][0] == [("2020-06-17", False), ("24", True)]
    assert table_view("sample_stats", pl.DataFrame({"sample": ["in", "out"], "sharpe": [1.0, -0.001]}))["rows"] == [
        [("in", False), ("1.00", True)], [("out", False), ("0.00", True)]]


def test_pages_are_self_contained_with_unique_ids(pages):
    for index_id, html in pages.items():
        assert external_references(html) == [], index_id
        ids = element_ids(html)
        assert len(ids) == len(set(ids)), index_id
        assert html.count("<svg") >= 3
        assert 'name="viewport"' in html and "@media print" in html


def test_correlation_grid_reads_wide_and_long_tables():
    wide = pl.DataFrame({"root": ["A", "B"], "A": [1.0, 0.3], "B": [0.3, 1.0]})
    long = pl.DataFrame({"root_a": ["A", "A", "B"], "root_b": ["A", "B", "B"], "correlation": [1.0, 0.3, 1.0]})
    for table in (wide, long):
        labels, values = charts.correlation_grid(table)
        assert labels == ["A", "B"]
        assert values.tolist() == [[1.0, 0.3], [0.3, 1.0]]


def test_factsheet_key_facts_come_from_the_spec(fabricated_results, fabricated_inputs, instruments):
    context = factsheet_context(factsheet_inputs("CARRY-RANK-TR", fabricated_results, fabricated_inputs, instruments))
    facts = dict(context["facts"])
    assert facts["Base value"] == "100.00"
    assert facts["Base date"] == "2018-12-31"
    assert facts["Return type"].startswith("Total return")
    assert facts["Rebalance"].startswith("monthly")
    assert facts["Roll"].startswith("window roll: business days 5 to 9")
    assert facts["Sectors"] == "Base metals, Energy, Grains, Precious metals, Softs"
    assert facts["Implementation lag"] == "1 business day from fixing to effect"
    assert facts["Launch date"].startswith("not launched")
    basket = factsheet_context(factsheet_inputs("BM-IV-ER", fabricated_results, fabricated_inputs, instruments))
    assert dict(basket["facts"])["Universe"] == "HG, LA, LX, LL, LN"
    assert dict(basket["facts"])["Sectors"] == "Base metals"


# --- methodology ---------------------------------------------------------------------------

KIND_SPECS = {
    "momentum": {"id": "LS-X", "kind": "momentum", "family": "long_short", "name": "Long/Short X"},
    "carry_basket": {"id": "CARRY-X", "kind": "carry_basket", "name": "Carry X", "construction": "proportional",
                     "relative_scope": "group"},
    "base_metals": {"id": "BM-X", "kind": "base_metals", "name": "Base metals X", "weighting": "min_variance"},
    "copper_macro": {"id": "CU-X", "kind": "copper_macro", "name": "Copper X"},
}


@pytest.mark.parametrize("kind", sorted(KIND_SPECS))
def test_methodology_lists_every_spec_parameter(kind, instruments):
    spec = parse_spec(KIND_SPECS[kind])
    html = render_methodology(spec, instruments)
    shown = marked(html, "data-parameter")
    parameters = spec_parameters(spec)
    assert len(parameters) >= 9
    assert set(shown) == {row["name"] for row in parameters}
    for row in parameters:
        assert shown[row["name"]] == row["value"], row["name"]
    assert external_references(html) == []


def test_momentum_methodology_quotes_the_spec_numbers(instruments):
    default = render_methodology(parse_spec(KIND_SPECS["momentum"]), instruments)
    changed = render_methodology(
        parse_spec(KIND_SPECS["momentum"] | {"magnitude": {"cap": 0.125}, "direction": {"window_months": 9},
                                             "implementation_lag": 2}),
        instruments,
    )
    assert "magnitude of 10%" in default and "at least 10 commodities" in default
    assert "magnitude of 12%" in changed and "at least 8 commodities" in changed
    assert "trailing 12 months" in default and "trailing 9 months" in changed
    assert "effective 2 business days later" in changed


def test_methodology_describes_the_roll_rule_in_use(instruments):
    spec = parse_spec(KIND_SPECS["momentum"] | {"roll": {"rule": "window", "first_day": 2, "last_day": 5}})
    assert "business days 2 to 5 of the month, 25% of the position a day" in render_methodology(spec, instruments)
    on_vendor_data = render_methodology(spec, instruments, roll=DataRoll())
    assert "names as held, rolled at the close of the day before it changes" in on_vendor_data
    assert "or at the first later close where that contract has a settlement price" in on_vendor_data


def test_methodology_states_the_market_disruption_rules_with_the_calculations_limit(instruments):
    from indexcalc.disruption import MAX_DISRUPTED_SESSIONS

    text = " ".join(render_methodology(parse_spec(KIND_SPECS["momentum"]), instruments).split())
    assert "keeps its last settlement price" in text
    assert "a roll step due that day is postponed to the next session that is not disrupted" in text
    assert f"After {MAX_DISRUPTED_SESSIONS} consecutive disrupted sessions of one commodity the calculation stops" in text
    assert MAX_DISRUPTED_SESSIONS == 5


def test_carry_methodology_follows_construction_and_scope(instruments):
    proportional = render_methodology(parse_spec(KIND_SPECS["carry_basket"]), instruments)
    assert "relative to the commodities of the same sector group" in proportional
    # s_i = rel_i, typeset
    assert "<msub><mi>s</mi><mi>i</mi></msub><mo>&#x0003D;</mo><msub><mtext>rel</mtext><mi>i</mi></msub>" in proportional
    ranked = render_methodology(
        parse_spec(KIND_SPECS["carry_basket"] | {"construction": "ranked", "relative_scope": "global",
                                                 "winsor_threshold": 3.0}),
        instruments,
    )
    assert "<mfrac><mn>1</mn><mn>3</mn></mfrac>" in ranked and "c = 3" in ranked


def test_a_template_naming_a_missing_spec_field_fails_instead_of_printing_nothing(instruments):
    from indexcalc.publish.formatting import environment

    template = environment().from_string("{{ spec.no_such_field }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(spec=parse_spec(KIND_SPECS["momentum"]))


def test_window_roll_default_text():
    from indexcalc.publish.describe import describe_roll

    assert describe_roll(WindowRoll()) == (
        "window roll: business days 5 to 9 of the month, 20% of the position a day, at the close"
    )


# --- the embedded market ---------------------------------------------------------------------


def first_of_each_kind(results) -> list[str]:
    chosen: dict[str, str] = {}
    for index_id, result in results.items():
        chosen.setdefault(result.spec.kind, index_id)
    return list(chosen.values())


@pytest.mark.slow
def test_embedded_market_factsheets_show_the_analytics_of_their_levels(embedded_results, embedded_inputs,
                                                                       embedded_market):
    chosen = first_of_each_kind(embedded_results)
    assert len(chosen) >= 2
    for index_id in chosen:
        result = embedded_results[index_id]
        levels = result.levels
        inputs = factsheet_inputs(index_id, embedded_results, embedded_inputs, embedded_market.instruments)
        html = render_factsheet(inputs)
        risk_free = embedded_inputs.risk_free if result.spec.return_type == "tr" else None
        shown = marked(html, "data-stat")
        assert shown["annualised_return"] == percent(analytics.annualised_return(levels)), index_id
        assert shown["annualised_volatility"] == percent(analytics.annualised_volatility(levels)), index_id
        assert shown["sharpe"] == ratio(analytics.sharpe_ratio(levels, risk_free)), index_id
        assert shown["sortino"] == ratio(analytics.sortino_ratio(levels, risk_free)), index_id
        assert shown["max_drawdown"] == percent(analytics.max_drawdown(levels).depth), index_id
        assert shown["calmar"] == ratio(analytics.calmar_ratio(levels)), index_id
        periods = marked(html, "data-period")
        for period, value in analytics.period_returns(levels).select("period", "period_return").iter_rows():
            assert periods[period] == percent(value), (index_id, period)
        years = marked(html, "data-year")
        table = analytics.calendar_year_returns(levels).tail(8)  # the factsheet's latest 8 years
        assert len(years) == table.height
        for year, value in table.select("year", "year_return").iter_rows():
            assert years[str(year)] == percent(value), (index_id, year)
        sectors = {root: instrument.sector for root, instrument in embedded_market.instruments.items()}
        current = analytics.current_weights(result.weights, sectors)
        assert marked(html, "data-weight") == {root: percent(weight) for root, weight in
                                                current.select("root", "weight").iter_rows()}, index_id
        if inputs.long_only is not None:
            correlation = analytics.return_correlation(levels, inputs.long_only.levels)
            assert shown["correlation_long_only"] == ratio(correlation), index_id
        assert external_references(html) == [], index_id


def test_embedded_market_has_a_long_only_reference_for_its_er_and_tr_indexes(embedded_results):
    for index_id, result in embedded_results.items():
        reference = long_only_reference(result.spec, embedded_results)
        if result.spec.kind == "momentum" and getattr(result.spec, "family", None) == "long_only" and \
                result.spec.sectors is None and result.spec.universe is None:
            assert reference is None, index_id
        else:
            assert reference is not None and reference.spec.return_type == result.spec.return_type, index_id


def test_methodology_renders_for_every_catalogue_index(instruments):
    from indexcalc.catalogue import load_catalogue

    for spec in load_catalogue():
        html = render_methodology(spec, instruments)
        assert set(marked(html, "data-parameter")) == {row["name"] for row in spec_parameters(spec)}, spec.id


# --- the figures added for issue 16, as shown on the page -------------------------------------


def test_trailing_risk_worst_drawdowns_and_months_shown(pages, fabricated_results):
    levels = fabricated_results["LS-ER"].levels
    html = pages["LS-ER"]
    trailing = analytics.trailing_risk(levels)
    for row in trailing.rows(named=True):
        years = str(row["years"])
        assert marked(html, "data-trailing-volatility")[years] == percent(row["annualised_volatility"])
        assert marked(html, "data-trailing-sharpe")[years] == ratio(row["sharpe"])
        assert marked(html, "data-trailing-drawdown")[years] == percent(row["max_drawdown"])
    worst = analytics.worst_drawdowns(levels, 5)
    assert marked(html, "data-drawdown-depth") == {
        str(position + 1): percent(depth) for position, depth in enumerate(worst.get_column("depth"))}
    months = analytics.best_and_worst_month(analytics.monthly_returns(levels))
    stats = marked(html, "data-stat")
    best = months["best"]
    assert stats["best_month"] == f"{signed_percent(best['monthly_return'])} ({best['year']:04d}-{best['month']:02d})"


def test_target_and_drifted_weights_side_by_side(pages, fabricated_results, fabricated_inputs):
    result = fabricated_results["LS-ER"]
    _, root_levels = fabricated_inputs.for_index("LS-ER")
    last = result.levels.get_column("date")[-1]
    drifted = analytics.drifted_weights(result.weights, root_levels, last)
    shown = marked(pages["LS-ER"], "data-drifted-weight")
    assert shown == {root: percent(weight) for root, weight in drifted.select("root", "drifted_weight").iter_rows()}
    assert "Today<sup>14</sup>" in pages["LS-ER"] and "Target<sup>13</sup>" in pages["LS-ER"]


def test_every_family_column_of_the_catalogue_is_in_the_registry(embedded_results):
    from indexcalc.publish import columns

    unknown = set()
    for result in embedded_results.values():
        for name, table in result.tables.items():
            for column in columns.shown_columns(name, table.columns):
                known = ((name, column) in columns.TABLE_COLUMNS or column in columns.COLUMNS
                         or column.startswith("shock_") or name == "correlation_matrix")
                if not known:
                    unknown.add((name, column))
    assert unknown == set()


def test_column_formats():
    from indexcalc.publish.columns import Column, Format

    assert Column("P&L", Format.MONEY).write(-2868087.5) == "-2,868,088"
    assert Column("P&L", Format.MONEY).header == "P&L (USD)"
    assert Column("Move", Format.PERCENT).write(0.000657736) == "0.07%"
    assert Column("Move", Format.PERCENT).write(-0.00001) == "0.00%"
    assert Column("Cost", Format.BASIS_POINTS).write(0.00015) == "1.5 bp"
    assert Column("Contracts", Format.CONTRACTS).write(1234) == "1,234"
    assert Column("Ratio", Format.NUMBER).write(0.0351) == "0.03510"
    assert Column("Reason", Format.TEXT).write("stop_loss") == "stop loss"
    assert Column("Group", Format.SECTOR).write("precious_metals") == "Precious metals"
    assert Column("Sharpe", Format.RATIO).write(-0.001) == "0.00"
    assert Column("x", Format.PERCENT).numeric and not Column("x", Format.TEXT).numeric


def test_a_family_table_with_other_columns_than_its_name_usually_has_still_shows_them():
    from indexcalc.publish.factsheet import table_view

    copper = pl.DataFrame({"sample": ["in sample", "out of sample"], "directional": [1000.0, -250.0],
                           "roll": [-10.0, 5.0], "costs": [-20.0, -5.0], "total": [970.0, -250.0]})
    view = table_view("attribution", copper)
    assert [column["header"] for column in view["columns"]] == [
        "Sample", "Directional P&L (USD)", "Roll P&L (USD)", "Costs (USD)", "Total P&L (USD)"]
    assert view["rows"][1][1] == ("-250", True)
