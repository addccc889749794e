"""Issue 20, point 7: values outside sane bounds are refused at the edge; no level written is
ever non-finite.

At the starting commit settle 1e308 passed `data check` and failed later ("magnitude weights
must be finite", no file, row or root); 1e-300 gave a numpy RuntimeWarning then an error about
the wrong root; `series` wrote inf and NaN levels with exit 0. Defaults (docs/design.md
section 1, overridable per root in instruments.toml): |settle| <= 1e7, a non-zero |settle| >=
1e-6, a contract's move between consecutive settles <= 10 x |previous settle|, volume and open
interest <= 1e9.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexcalc.composite import composite_excess_return
from indexcalc.data.instruments import load_instruments
from indexcalc.data.longformat import instruments_toml
from indexcalc.data.market import MarketData
from indexcalc.data.validate import validate_prices
from indexcalc.errors import DataError
from indexcalc.series import build_series
from tests.reliability.test_messages import invoke, one_line_error

HEADER = "date,root,contract,settle,volume,open_interest\n"
GOOD = "2020-01-02,CL,202003,61.18,1000,5000\n"
BOUNDS = "(|settle| <= 1e+07; max_abs_settle in instruments.toml)"






def check(tmp_path, body: str):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + body)
    return path, invoke("data", "check", path)


def test_a_huge_settle_is_refused_with_file_row_and_value(tmp_path):
    path, result = check(tmp_path, GOOD + "2020-01-03,CL,202003,1e308,,\n")
    one_line_error(result, f"{path}: row 3: settle 1e308 of root CL is outside the sane bounds {BOUNDS}")


def test_a_tiny_non_zero_settle_is_refused(tmp_path):
    path, result = check(tmp_path, GOOD + "2020-01-03,CL,202003,1e-300,,\n")
    one_line_error(
        result,
        f"{path}: row 3: settle 1e-300 of root CL is outside the sane bounds "
        "(0 or |settle| >= 1e-06; min_abs_settle in instruments.toml)",
    )


def test_a_move_beyond_the_daily_bound_is_refused_with_its_row(tmp_path):
    # 61.18 -> 6118 (a decimal slip): +9900% > 1000%
    body = GOOD + "2020-01-03,CL,202004,60.00,,\n2020-01-03,CL,202003,6118,,\n"
    path, result = check(tmp_path, body)
    one_line_error(
        result,
        f"{path}: row 4: settle 6118 of root CL contract 202003 moved +9900% from 61.18 on 2020-01-02, "
        "outside the sane bound of 1000% a day (max_daily_move in instruments.toml)",
    )


def test_the_wti_move_of_20_april_2020_is_inside_the_bound(tmp_path):
    # 18.27 -> -37.63 is -306% of the previous settle; -37.63 -> 10.01 is +127%
    body = "2020-04-17,CL,202005,18.27,,\n2020-04-20,CL,202005,-37.63,,\n2020-04-21,CL,202005,10.01,,\n"
    path, result = check(tmp_path, body)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2020-01-03,CL,202003,61.2,2e9,", "volume 2e9 of root CL is outside the sane bounds (<= 1e+09; max_volume in instruments.toml)"),
        ("2020-01-03,CL,202003,61.2,,1e12", "open_interest 1e12 of root CL is outside the sane bounds (<= 1e+09; max_open_interest in instruments.toml)"),
    ],
)
def test_volume_and_open_interest_bounds(tmp_path, row, message):
    path, result = check(tmp_path, GOOD + row + "\n")
    one_line_error(result, f"{path}: row 3: {message}")


def test_bounds_are_overridable_per_instrument(tmp_path):
    instrument = load_instruments()["CL"].model_copy(update={"max_abs_settle": 1e9, "max_daily_move": 1e6})
    (tmp_path / "instruments.toml").write_text(instruments_toml({"CL": instrument}))
    (tmp_path / "prices.csv").write_text(HEADER + GOOD + "2020-01-03,CL,202003,5e7,,\n")
    assert invoke("data", "check", tmp_path).exit_code == 0
    (tmp_path / "prices.csv").write_text(HEADER + GOOD + "2020-01-03,CL,202003,5e9,,\n")
    one_line_error(
        invoke("data", "check", tmp_path),
        f"{tmp_path / 'prices.csv'}: row 3: settle 5e9 of root CL is outside the sane bounds "
        "(|settle| <= 1e+09; max_abs_settle in instruments.toml)",
    )


def test_every_command_refuses_them(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + GOOD + "2020-01-03,CL,202003,1e308,,\n")
    message = f"{path}: row 3: settle 1e308 of root CL is outside the sane bounds {BOUNDS}"
    one_line_error(invoke("series", "--data", path, "--out", tmp_path / "series"), message)
    one_line_error(invoke("rebuild", "--data", path, "--out", tmp_path / "out", "--no-progress"), message)
    one_line_error(invoke("publish", "--data", path, "--out", tmp_path / "site"), message)
    assert not any((tmp_path / name).exists() for name in ("series", "out", "site"))


# --- no non-finite level is ever written ------------------------------------------------------

DAYS = [dt.date(2020, 1, 2) + dt.timedelta(days=offset) for offset in range(40)]
DAYS = [day for day in DAYS if day.weekday() < 5][:20]
EXTREMES = [1e308, -1e308, 1e-300, -1e-300, 0.0, -0.0, -37.63, 1e7, -1e7, 1e-6, 5e-7, 1e7 + 1, 61.18]
EXTREME_OR_ANY = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    st.floats(min_value=-40.0, max_value=40.0, allow_nan=False),
)


@st.composite
def settle_paths(draw) -> list[float]:
    """Sane settles (20 to 30) for every day and both contracts, with 0 to 4 of them replaced by
    extremes or any float: most markets pass validation, some refuse, some go through zero."""
    values = draw(st.lists(st.floats(min_value=20.0, max_value=30.0), min_size=2 * len(DAYS), max_size=2 * len(DAYS)))
    for position, value in draw(st.lists(st.tuples(st.integers(0, 2 * len(DAYS) - 1), EXTREME_OR_ANY), max_size=4)):
        values[position] = value
    return values


def fuzzed_frame(values: list[float]) -> pl.DataFrame:
    """CL, two contracts (Mar and Jun 2020), one settle each per day, as text cells."""
    rows = [(day.isoformat(), "CL", contract, repr(value)) for day, (a, b) in zip(DAYS, zip(values[::2], values[1::2])) for contract, value in ((202003, a), (202006, b))]
    return pl.DataFrame(rows, schema=["date", "root", "contract", "settle"], orient="row")


def written_or_refused(values: list[float]) -> pl.DataFrame | None:
    """The series of the fuzzed market, or None when validation or the calculation refused it
    with a DataError that names the file and row, or the root."""
    instruments = load_instruments()
    try:
        prices = validate_prices(fuzzed_frame(values), instruments, "prices.csv")
        return build_series(MarketData(prices=prices, instruments={"CL": instruments["CL"]}, source="prices.csv"))
    except DataError as error:
        assert error.file == "prices.csv"
        assert error.key.startswith("row ") or "root CL" in error.key, str(error)
        return None


# the reports of the issue: 1e308 on the held March contract (inf levels at the starting commit),
# 1e-300 (a division by a tiny price), both on the second day
HUGE = [25.0, 25.0, 1e308, 25.0] + [25.0] * (2 * len(DAYS) - 4)
TINY = [25.0, 25.0, 1e-300, 25.0] + [25.0] * (2 * len(DAYS) - 4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=settle_paths())
@example(values=HUGE)
@example(values=TINY)
@pytest.mark.slow
def test_fuzzed_settles_give_finite_levels_or_a_data_error_naming_the_row_or_root(values):
    series = written_or_refused(values)
    if series is not None:
        for column in ("level", "tr_level", "daily_return"):
            assert series.get_column(column).is_finite().all(), column
        assert series.get_column("carry").is_nan().sum() == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=settle_paths())
def test_the_series_command_writes_only_finite_levels_or_fails_with_one_line(tmp_path, values):
    path = tmp_path / "prices.csv"
    fuzzed_frame(values).write_csv(path)
    out = tmp_path / "series"
    result = invoke("series", "--data", path, "--out", out)
    if result.exit_code == 0:
        written = pl.read_csv(out / "CL.csv")
        assert written.get_column("level").is_finite().all() and written.get_column("tr_level").is_finite().all()
    else:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {path}: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.output


def test_a_composite_never_writes_a_non_finite_level():
    dates = [dt.date(2020, 1, day) for day in (2, 3, 6, 7)]
    levels = pl.DataFrame(
        {"date": dates * 2, "root": ["AA"] * 4 + ["BB"] * 4, "level": [100.0, 0.0, 0.0, 0.0, 100.0, 101.0, 1e308, 1e308]}
    )
    # AA lost its position on 3 January (level 0): weighting it from then on is refused by name
    weights = pl.DataFrame({"effective_date": [dates[1]], "root": ["AA"], "weight": [1.0]})
    with pytest.raises(DataError, match=r"^root AA: weighted from 2020-01-03 but its level is 0 on that date"):
        composite_excess_return(levels, weights, dates[0], 100.0)
    # a weighted root whose level ratio overflows is refused by name
    weights = pl.DataFrame({"effective_date": [dates[1]], "root": ["BB"], "weight": [1e10]})
    with pytest.raises(DataError, match=r"^root BB: weighted from 2020-01-03 but its level gives a non-finite return on 2020-01-06"):
        composite_excess_return(levels, weights, dates[0], 100.0)
    # finite contributions whose level overflows (1000 x 1e308 / 101): refused with the date
    weights = pl.DataFrame({"effective_date": [dates[1]], "root": ["BB"], "weight": [1.0]})
    with pytest.raises(DataError, match=r"^date 2020-01-06: the calculation gives a non-finite level inf"):
        composite_excess_return(levels, weights, dates[0], 1000.0)
    kept = composite_excess_return(levels.filter(pl.col("date") < dates[2]), weights, dates[0], 1000.0)
    assert kept.get_column("level").to_list() == [1000.0, 1000.0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=settle_paths(), second=settle_paths())
@pytest.mark.slow
def test_a_composite_of_fuzzed_roots_is_finite_or_a_data_error_naming_the_root_or_date(first, second):
    """Two fuzzed roots (CL, and a copy named HO), weights 0.5 / -0.5 from the 2nd and the 10th
    business day: every composite level is finite, or the calculation stops naming a row, a root
    or a date."""
    from indexcalc.composite import align_levels

    instruments = load_instruments()
    try:
        frames = [fuzzed_frame(first), fuzzed_frame(second).with_columns(pl.lit("HO").alias("root"))]
        prices = validate_prices(pl.concat(frames), instruments, "prices.csv")
        market = MarketData(prices=prices, instruments={root: instruments[root] for root in ("CL", "HO")}, source="prices.csv")
        levels = align_levels(build_series(market).select("date", "root", "level"))
        weights = pl.DataFrame(
            {"effective_date": [DAYS[1]] * 2 + [DAYS[9]] * 2, "root": ["CL", "HO"] * 2, "weight": [0.5, -0.5] * 2}
        )
        composite = composite_excess_return(levels, weights, DAYS[0], 100.0)
    except DataError as error:
        assert error.key is not None and (
            error.key.startswith(("row ", "date ")) or "root CL" in error.key or "root HO" in error.key
        ), str(error)
        return
    assert composite.get_column("level").is_finite().all()
