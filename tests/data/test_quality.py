"""Quality report: coverage, gaps and jumps on a small hand-built market."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest
from data_cli import run_cli

from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import MarketData
from indexcalc.data.quality import QualitySpec, coverage, gaps, jumps, quality_report
from indexcalc.data.validate import validate_prices

D1, D2, D3, D4, D5 = (dt.date(2020, 1, day) for day in (2, 3, 6, 7, 20))

# CL Mar 2020: 100, 101, 100, 101, 113.12 -> log changes a, -a, a, J with a = ln(1.01) =
# 0.00995033 and J = ln(113.12 / 101) = ln(1.12) = 0.11332869.
# CL Apr 2020: 200, 202, 200, 202, 200 -> a, -a, a, -a.
# The root's 8 changes sorted: -a -a -a a a a a J: median a; absolute deviations
# 0 0 0 0 2a 2a 2a (J - a): median a; robust sigma = 1.4826 a = 0.01475226.
# 8 sigma = 0.1180 > J (and 12% < 25%): no jump by default; 7 sigma = 0.1033 < J: one jump.
CL_ROWS = [
    (D1, "CL", 202003, 100.0), (D2, "CL", 202003, 101.0), (D3, "CL", 202003, 100.0), (D4, "CL", 202003, 101.0),
    (D5, "CL", 202003, 113.12),
    (D1, "CL", 202004, 200.0), (D2, "CL", 202004, 202.0), (D3, "CL", 202004, 200.0), (D4, "CL", 202004, 202.0),
    (D5, "CL", 202004, 200.0),
]
GC_ROWS = [(D1, "GC", 202002, 1500.0)]


def _market(rows) -> MarketData:
    frame = pl.DataFrame(rows, schema=["date", "root", "contract", "settle"], orient="row")
    instruments = load_instruments()
    return MarketData(prices=validate_prices(frame, instruments, "test", first_row=None), instruments=instruments)


def test_coverage_counts_rows_contracts_days_and_years():
    table = coverage(_market(CL_ROWS + GC_ROWS).prices)
    cl = table.filter(pl.col("root") == "CL").row(0, named=True)
    assert (cl["first"], cl["last"], cl["rows"], cl["contracts"], cl["trading_days"]) == (D1, D5, 10, 2, 5)
    assert cl["years"] == pytest.approx(18 / 365.25)  # 2 Jan to 20 Jan 2020 = 18 calendar days
    assert table.get_column("root").to_list() == ["CL", "GC"]


def test_longest_gap_and_gaps_over_threshold():
    # Trading days 2, 3, 6, 7, 20 Jan: steps 1, 3, 1, 13 calendar days; only 13 exceeds 7.
    table = gaps(_market(CL_ROWS + GC_ROWS).prices)
    cl = table.filter(pl.col("root") == "CL").row(0, named=True)
    assert (cl["longest_gap_days"], cl["longest_gap_end"], cl["gaps"]) == (13, D5, 1)
    assert gaps(_market(CL_ROWS).prices, QualitySpec(max_gap_days=2)).row(0, named=True)["gaps"] == 2
    gc = table.filter(pl.col("root") == "GC").row(0, named=True)
    assert (gc["longest_gap_days"], gc["longest_gap_end"], gc["gaps"]) == (0, None, 0)


def test_jump_rules_robust_sigma_and_fraction():
    prices = _market(CL_ROWS).prices
    assert jumps(prices).height == 0
    by_sigma = jumps(prices, QualitySpec(jump_sigmas=7.0))
    assert by_sigma.select("date", "contract").rows() == [(D5, 202003)]
    assert by_sigma.get_column("change")[0] == pytest.approx(math.log(1.12))
    assert by_sigma.get_column("sigma")[0] == pytest.approx(1.4826 * math.log(1.01))
    by_fraction = jumps(prices, QualitySpec(jump_sigmas=100.0, jump_fraction=0.10))
    assert by_fraction.select("date", "contract").rows() == [(D5, 202003)]


def test_changes_are_within_one_contract_never_across_contracts():
    # Mar at 100 and Apr at 200 every day: no change at all within a contract.
    rows = [(day, "CL", contract, price) for day in (D1, D2, D3) for contract, price in ((202003, 100.0), (202004, 200.0))]
    assert jumps(_market(rows).prices, QualitySpec(jump_fraction=0.01)).height == 0


def test_report_has_one_row_per_root_with_the_worst_jump():
    report = quality_report(_market(CL_ROWS + GC_ROWS), QualitySpec(jump_sigmas=7.0))
    cl = report.filter(pl.col("root") == "CL").row(0, named=True)
    assert (cl["jumps"], cl["worst_jump_date"], cl["worst_jump_contract"]) == (1, D5, 202003)
    assert cl["worst_jump"] == pytest.approx(0.12)
    gc = report.filter(pl.col("root") == "GC").row(0, named=True)
    assert (gc["jumps"], gc["worst_jump_date"]) == (0, None)


def test_quality_command_prints_the_report(tmp_path):
    path = tmp_path / "prices.csv"
    pl.DataFrame(CL_ROWS + GC_ROWS, schema=["date", "root", "contract", "settle"], orient="row").write_csv(path)
    result = run_cli("data", "quality", path, "--jump-sigmas", "7")
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split()[:3] == ["root", "from", "to"] and len(header) < 130
    cl, gc = lines
    # CL: the longest gap is 13 days, ending 2020-01-20; one jump of +12% in 202003 (hand-made rows)
    assert cl.split()[0] == "CL" and "13d to 2020-01-20" in cl and cl.endswith("12.0% 202003 on 2020-01-20")
    assert gc.split()[0] == "GC" and gc.split()[-1] == "-"

    as_json = run_cli("data", "quality", path, "--jump-sigmas", "7", "--json")
    assert as_json.exit_code == 0, as_json.output
    rows = {row["root"]: row for row in json.loads(as_json.stdout)}
    assert (rows["CL"]["longest_gap_days"], rows["CL"]["jumps"], rows["CL"]["worst_jump_date"]) == (13, 1, str(D5))
    assert rows["CL"]["worst_jump"] == pytest.approx(0.12) and rows["GC"]["worst_jump_date"] is None
