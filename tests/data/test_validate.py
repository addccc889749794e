"""Validation at the edge: every bad input gives one line (file, row/key, problem) and exit 2.

Files are written inline; row numbers are as the user sees them (CSV header = row 1).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from data_cli import assert_user_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.data.instruments import load_instruments
from indexcalc.data.validate import validate_inflation, validate_macro, validate_prices, validate_rates
from indexcalc.errors import DataError

HEADER = "date,root,contract,settle,volume,open_interest\n"
GOOD_ROW = "2020-01-02,CL,202003,61.18,1000,5000\n"


def check_file(write_text, body: str, name: str = "prices.csv"):
    path = write_text(name, body)
    return path, run_cli("data", "check", path)


def test_valid_file_passes_check_with_summary(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,62.00,,\n")
    assert result.exit_code == 0, result.output
    assert "CL" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "OK: 1 roots, 2020-01-02 to 2020-01-03"


def test_duplicated_date_root_contract_row_names_both_rows(write_text):
    body = HEADER + GOOD_ROW + "2020-01-02,CL,202004,61.00,,\n" + "2020-01-02,CL,202003,61.30,,\n"
    path, result = check_file(write_text, body)
    assert_user_error(result, f"{path}: row 4: duplicated (date, root, contract): same as row 2")


def test_unparseable_date(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-02-30,CL,202003,61.18,,\n")
    assert_user_error(result, f"{path}: row 3: unparseable date '2020-02-30' (expected YYYY-MM-DD)")


def test_date_in_another_format_is_unparseable(write_text):
    path, result = check_file(write_text, HEADER + "02/01/2020,CL,202003,61.18,,\n")
    assert_user_error(result, f"{path}: row 2: unparseable date '02/01/2020' (expected YYYY-MM-DD)")


def test_non_numeric_settle(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,sixty,,\n")
    assert_user_error(result, f"{path}: row 3: settle 'sixty' is not a number")


def test_zero_and_negative_settles_are_data(write_text):
    # WTI settled at -37.63 on 20 April 2020 (docs/design.md section 2)
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,0,,\n2020-01-03,CL,202004,-37.63,,\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "OK: 1 roots, 2020-01-02 to 2020-01-03"


def test_missing_settle(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,,,\n")
    assert_user_error(result, f"{path}: row 3: missing settle")


def test_negative_volume(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,61.5,-10,5000\n")
    assert_user_error(result, f"{path}: row 3: volume -10 is negative")


def test_negative_open_interest(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,61.5,10,-5000\n")
    assert_user_error(result, f"{path}: row 3: open_interest -5000 is negative")


def test_non_numeric_open_interest(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,61.5,10,n/a\n")
    assert_user_error(result, f"{path}: row 3: open_interest 'n/a' is not a number")


def test_unknown_root(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-02,ZZ,202003,10.0,,\n")
    assert_user_error(result, f"{path}: row 3: unknown root 'ZZ' (not in the instruments)")


def test_contract_outside_listed_months(write_text):
    # Gold lists G J M Q V Z; March (H) is not one of them.
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-02,GC,202003,1550.0,,\n")
    assert_user_error(result, f"{path}: row 3: contract 202003 of root GC: month H is not a listed month (listed: GJMQVZ)")


def test_contract_not_a_delivery_month(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-02,CL,20200300,61.0,,\n")
    assert_user_error(result, f"{path}: row 3: contract '20200300' is not a delivery month YYYYMM")


def test_contract_month_thirteen_is_not_a_delivery_month(write_text):
    path, result = check_file(write_text, HEADER + "2020-01-02,CL,202013,61.0,,\n")
    assert_user_error(result, f"{path}: row 2: contract '202013' is not a delivery month YYYYMM")


def test_missing_required_column(write_text):
    path, result = check_file(write_text, "date,root,contract,volume\n2020-01-02,CL,202003,1000\n")
    assert_user_error(
        result, f"{path}: columns: missing required column(s) settle (required: date, root, contract, settle)"
    )


def test_empty_file(write_text):
    path, result = check_file(write_text, "")
    assert_user_error(result, f"{path}: empty file (no header, no data rows)")


def test_header_only_file_is_empty(write_text):
    path, result = check_file(write_text, HEADER)
    assert_user_error(result, f"{path}: empty file (no data rows)")


def test_blank_line_inside_the_file(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "\n" + "2020-01-03,CL,202003,61.5,,\n")
    assert_user_error(result, f"{path}: row 3: empty row")


def test_blank_lines_at_the_end_are_ignored(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "\n\n")
    assert result.exit_code == 0, result.output


def test_ragged_csv_names_the_row(write_text):
    path, result = check_file(write_text, HEADER + GOOD_ROW + "2020-01-03,CL,202003,61.5,1,2,3,4\n")
    assert_user_error(result, f"{path}: row 3: 8 fields where the header has 6 (a decimal comma? write 61.18, not 61,18)")


def test_unknown_file_type(write_text):
    path, result = check_file(write_text, "x", name="prices.xlsx")
    assert_user_error(result, f"{path}: unknown file type '.xlsx' (expected .csv or .parquet)")


def test_first_offending_row_is_reported_whatever_the_check(write_text):
    # Row 3 has a negative volume, row 4 an unknown root, row 5 a bad date: row 3 comes first.
    body = HEADER + GOOD_ROW + "2020-01-03,CL,202003,61.5,-1,\n" + "2020-01-03,XX,202003,1,,\n" + "bad,CL,202003,1,,\n"
    path, result = check_file(write_text, body)
    assert_user_error(result, f"{path}: row 3: volume -1 is negative")


def test_parquet_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "prices.parquet"
    pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 2), dt.date(2020, 1, 3)],
            "root": ["CL", "CL"],
            "contract": [202003, 202003],
            "settle": [61.18, 1e308],
        }
    ).write_parquet(path)
    assert_user_error(
        run_cli("data", "check", path),
        f"{path}: row 2: settle 1e+308 of root CL is outside the sane bounds (|settle| <= 1e+07; "
        "max_abs_settle in instruments.toml)",
    )


def test_typed_frame_errors_name_the_key_when_rows_have_no_file_position():
    frame = pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 2), dt.date(2020, 1, 2)],
            "root": ["CL", "CL"],
            "contract": [202003, 202003],
            "settle": [61.18, 61.2],
        }
    )
    with pytest.raises(DataError) as error:
        validate_prices(frame, load_instruments(), "market", first_row=None)
    assert str(error.value) == "market: root CL contract 202003 date 2020-01-02: duplicated (date, root, contract) row"


def test_rates_in_percent_are_rejected(write_text):
    frame = pl.read_csv(write_text("rates.csv", "date,tbill\n2020-01-02,0.015\n2020-01-03,1.52\n"), infer_schema=False)
    with pytest.raises(DataError) as error:
        validate_rates(frame, "rates.csv")
    assert str(error.value) == "rates.csv: row 3: tbill 1.52 is not a fraction (write 5% as 0.05)"


def test_inflation_cpi_must_be_positive_and_dates_unique():
    frame = pl.DataFrame({"date": ["2020-01-15", "2020-02-14"], "cpi": ["258.8", "0"]})
    with pytest.raises(DataError, match=r"^inflation.csv: row 3: cpi 0 is not positive$"):
        validate_inflation(frame, "inflation.csv")
    frame = pl.DataFrame({"date": ["2020-01-15", "2020-01-15"], "cpi": ["258.8", "259.0"]})
    with pytest.raises(DataError, match=r"^inflation.csv: row 3: duplicated \(date\): same as row 2$"):
        validate_inflation(frame, "inflation.csv")


def test_macro_duplicated_series_date():
    frame = pl.DataFrame(
        {"date": ["2020-01-02", "2020-01-02", "2020-01-02"], "series": ["usd_index", "china_pmi", "usd_index"], "value": ["97", "50.2", "97.1"]}
    )
    with pytest.raises(DataError, match=r"^macro.csv: row 4: duplicated \(date, series\): same as row 2$"):
        validate_macro(frame, "macro.csv")


# --- properties ------------------------------------------------------------------------------

_ROWS = st.lists(
    st.tuples(
        st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
        st.sampled_from(["CL", "GC", "C"]),
        st.integers(min_value=1990, max_value=2031),
        # within a factor 10 of each other: any two settles of a contract stay inside the default
        # daily-move bound (10 x the previous settle), which tests/reliability/test_bounds.py covers
        st.floats(min_value=1.0, max_value=10.0, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda row: row[:3],
)
_LISTED = {"CL": 12, "GC": 2, "C": 3}  # a listed month of each root: CL Dec, GC Feb, C Mar


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS, data=st.data())
@pytest.mark.slow
def test_valid_rows_come_back_sorted_whatever_their_order_and_a_repeat_is_always_found(rows, data):
    instruments = load_instruments()
    frame = pl.DataFrame(
        {
            "date": [row[0].isoformat() for row in rows],
            "root": [row[1] for row in rows],
            "contract": [str(row[2] * 100 + _LISTED[row[1]]) for row in rows],
            "settle": [repr(row[3]) for row in rows],
        }
    )
    typed = validate_prices(frame, instruments, "p.csv")
    assert typed.height == len(rows)
    assert typed.equals(typed.sort("root", "date", "contract"))
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=data.draw(st.integers(0, 1000)))
    assert validate_prices(shuffled, instruments, "p.csv").equals(typed)

    # Repeat one row at a random position: the error names the later copy and the earlier one.
    source = data.draw(st.integers(0, frame.height - 1))
    position = data.draw(st.integers(source + 1, frame.height))
    repeated = pl.concat([frame.slice(0, position), frame.slice(source, 1), frame.slice(position)])
    with pytest.raises(DataError) as error:
        validate_prices(repeated, instruments, "p.csv")
    assert str(error.value) == f"p.csv: row {position + 2}: duplicated (date, root, contract): same as row {source + 2}"
