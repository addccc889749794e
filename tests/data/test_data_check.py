"""`indexcalc data check` runs the calculation's own checks (docs/design.md section 2): it
stops with the line `indexcalc series` stops with, after its per-root table, on every case that
makes the series stop, and prints the table (or JSON) otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from data_cli import assert_user_error, run_cli

from tests.test_series import HOLIDAY_WINDOW

D = dt.date
H, K = 202403, 202405
# February 2024, Feb 7 missing: business days 1 2 5 6 | 8 9 12 13 14 | 15 (window roll H -> K
# on days 5-9, Feb 8 .. Feb 14): the curves of tests/test_series.py.
CURVES = HOLIDAY_WINDOW


def write_prices(directory: Path, missing: list[tuple[dt.date, int]] = (), roots=("CL", "NG")) -> Path:
    """prices.csv in ``directory``: CURVES for every root, CL without the ``missing`` rows."""
    rows = [
        (date, root, contract, settle)
        for root in roots
        for date, curve in CURVES.items()
        for contract, settle in curve.items()
        if not (root == "CL" and (date, contract) in missing)
    ]
    directory.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32, "settle": pl.Float64},
                 orient="row").write_csv(directory / "prices.csv")
    return directory


def assert_same_stop(tmp_path: Path, data: Path, *options: str) -> str:
    """`data check` and `series` stop with the same one line; returns data check's stdout."""
    series = run_cli("series", "--data", data, "--out", tmp_path / "series", *options)
    check = run_cli("data", "check", data, *options)
    assert series.exit_code == check.exit_code == 2, (series.output, check.output)
    assert series.stderr.startswith("error: ") and check.stderr == series.stderr
    assert_user_error(check, series.stderr.removeprefix("error: ").rstrip("\n"))
    return check.stdout


def table_rows(stdout: str) -> dict[str, dict[str, str]]:
    header, *rows = stdout.strip().splitlines()
    names = header.split()
    return {row.split()[0]: dict(zip(names, row.split())) for row in rows if len(row.split()) == len(names)}


@pytest.mark.slow
def test_data_check_prints_the_per_root_table_and_ok(tmp_path):
    # CL: H unpriced on Feb 9 (one disrupted session, its roll step waits one day).
    data = write_prices(tmp_path / "data", missing=[(D(2024, 2, 9), H)])
    result = run_cli("data", "check", data)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows["CL"] | {} == {
        "root": "CL", "first": "2024-02-01", "last": "2024-02-15", "rows": "19", "contracts": "2", "sessions": "10",
        "disrupted": "1", "longest_run": "1", "first_disrupted": "2024-02-09", "late_rolls": "1",
        "never_priced": "0", "first_never_priced": "-", "ends_early": "-",
    }
    assert rows["NG"]["disrupted"] == "0" and rows["NG"]["late_rolls"] == "0" and rows["NG"]["rows"] == "20"
    assert result.stdout.strip().splitlines()[-1] == "OK: 2 roots, 2024-02-01 to 2024-02-15"


def test_data_check_json(tmp_path):
    data = write_prices(tmp_path / "data", missing=[(D(2024, 2, 9), H)])
    result = run_cli("data", "check", data, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["error"] is None and report["roll"] == "window"
    assert [row["root"] for row in report["roots"]] == ["CL", "NG"]
    assert report["roots"][0]["disrupted"] == 1 and report["roots"][0]["first_disrupted"] == "2024-02-09"
    assert report["roots"][0]["problem"] is None


@pytest.mark.slow
def test_data_check_stops_as_series_does_over_the_consecutive_session_limit(tmp_path):
    # CL: H unpriced on Feb 8, 9 and 12; the limit 2 stops at the third.
    data = write_prices(tmp_path / "data", missing=[(D(2024, 2, day), H) for day in (8, 9, 12)])
    stdout = assert_same_stop(tmp_path, data, "--max-disrupted-sessions", "2")
    assert "root CL, contract 202403, dates 2024-02-08 to 2024-02-12: market disruption on 3" in stdout
    assert table_rows(stdout)["CL"]["longest_run"] == "3"
    assert table_rows(stdout)["NG"]["disrupted"] == "0"
    # within the default limit (5) both compute
    assert run_cli("data", "check", data).exit_code == 0
    json_result = run_cli("data", "check", data, "--max-disrupted-sessions", "2", "--json")
    assert json_result.exit_code == 2
    report = json.loads(json_result.stdout)
    assert report["ok"] is False and "dates 2024-02-08 to 2024-02-12" in report["error"]
    assert report["roots"][0]["problem"] == report["error"] and report["roots"][1]["problem"] is None


def test_data_check_stops_as_series_does_on_the_first_disruption_with_limit_0(tmp_path):
    data = write_prices(tmp_path / "data", missing=[(D(2024, 2, 13), K)])
    stdout = assert_same_stop(tmp_path, data, "--max-disrupted-sessions", "0")
    assert "CL: " in stdout and "root CL, contract 202405, date 2024-02-13: market disruption" in stdout


def test_data_check_stops_as_series_does_on_a_held_contract_without_a_first_settlement(tmp_path):
    data = write_prices(tmp_path / "data", missing=[(D(2024, 2, 1), H)])
    stdout = assert_same_stop(tmp_path, data)
    assert "root CL, contract 202403, date 2024-02-01: market disruption" in stdout


def test_data_check_stops_as_series_does_without_held_contracts_for_the_data_roll(tmp_path):
    data = write_prices(tmp_path / "data")
    assert_same_stop(tmp_path, data, "--roll", "data")


def test_data_check_stops_as_series_does_without_a_t_bill_rate_for_the_first_step(tmp_path):
    data = write_prices(tmp_path / "data")
    (data / "rates.csv").write_text("date,tbill\n2024-02-05,0.05\n")
    stdout = assert_same_stop(tmp_path, data)
    assert "date 2024-02-01: no T-bill rate" in stdout


def test_data_check_reports_data_ending_early_and_contracts_never_priced(tmp_path):
    # CL ends on Feb 13; NG's K is never priced: the roll into it waits and H is held at full
    # weight from Feb 8 to the end (6 disrupted sessions, Feb 8..15: the default limit 5 stops).
    rows = [
        (date, root, contract, settle)
        for root in ("CL", "NG")
        for date, curve in CURVES.items()
        for contract, settle in curve.items()
        if not (root == "CL" and date > D(2024, 2, 13)) and not (root == "NG" and contract == K)
    ]
    data = tmp_path / "data"
    data.mkdir()
    pl.DataFrame(rows, schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32, "settle": pl.Float64},
                 orient="row").write_csv(data / "prices.csv")
    assert run_cli("data", "check", data).exit_code == 2
    result = run_cli("data", "check", data, "--max-disrupted-sessions", "6")
    assert result.exit_code == 0, result.output
    table = table_rows(result.stdout)
    assert table["CL"]["ends_early"] == "2024-02-13" and table["NG"]["ends_early"] == "-"
    assert table["CL"]["sessions"] == "8" and table["NG"]["sessions"] == "10"
    assert table["NG"]["never_priced"] == "1"
    assert table["NG"]["disrupted"] == "6" and table["NG"]["longest_run"] == "6"
    assert table["NG"]["late_rolls"] == "6"  # the closes of Feb 8..15 hold H, not the schedule's weights
    assert table["NG"]["first_never_priced"] == "202405@2024-02-08"


def test_an_importers_per_root_report_is_shown_after_the_sessions(tmp_path):
    # An importer that reports per root (rows re-attributed to another session, say) hands it
    # over as market.import_report; data check shows its columns, per root, after `sessions`.
    from indexcalc.checks import TABLE_COLUMNS, check_market
    from indexcalc.data.load import load_market
    from indexcalc.specs.base import WindowRoll

    market = load_market(write_prices(tmp_path / "data"))
    object.__setattr__(market, "import_report", pl.DataFrame({"root": ["NG", "CL"], "reattributed": [0, 3]}))
    table = check_market(market, WindowRoll()).table
    at = TABLE_COLUMNS.index("sessions") + 1
    assert table.columns == [*TABLE_COLUMNS[:at], "reattributed", *TABLE_COLUMNS[at:], "problem"]
    assert dict(table.select("root", "reattributed").rows()) == {"CL": 3, "NG": 0}
