"""Issue 20, point 10 (the data messages): each names where the problem is.

At the starting commit: an unknown exchange calendar code was accepted; a run date before the
data starts was called "not a business day"; a decimal-comma CSV error named no row; a held
file that leaves out roots gave no error naming the file (the root silently had no series).
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.data.instruments import load_instruments
from indexcalc.data.longformat import instruments_toml
from indexcalc.errors import DataError, SpecError

HEADER = "date,root,contract,settle\n"


def invoke(*arguments):
    return CliRunner().invoke(main, [str(argument) for argument in arguments], env={"INDEXCALC_TODAY": "2026-12-07"})


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.output


def test_an_unknown_exchange_calendar_code_is_refused_with_file_root_and_code(tmp_path):
    instrument = load_instruments()["CL"].model_copy(update={"calendar": "NYMX"})
    (tmp_path / "instruments.toml").write_text(instruments_toml({"CL": instrument}))
    (tmp_path / "prices.csv").write_text(HEADER + "2020-01-02,CL,202003,61.18\n")
    one_line_error(
        invoke("data", "check", tmp_path),
        f"{tmp_path / 'instruments.toml'}: root CL: unknown exchange calendar 'NYMX' "
        "(not an exchange_calendars code, e.g. CMES, XLON)",
    )


def test_the_loader_itself_refuses_it(tmp_path):
    instrument = load_instruments()["GC"].model_copy(update={"calendar": "NO-SUCH"})
    path = tmp_path / "instruments.toml"
    path.write_text(instruments_toml({"GC": instrument}))
    with pytest.raises(SpecError, match=r"instruments.toml: root GC: unknown exchange calendar 'NO-SUCH'"):
        load_instruments(path)
    assert load_instruments()["GC"].calendar == "CMES"  # the shipped codes are all known


def test_a_decimal_comma_names_the_row(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + "2020-01-02,CL,202003,61.18\n2020-01-03,CL,202003,61,20\n")
    one_line_error(
        invoke("data", "check", path),
        f"{path}: row 3: 5 fields where the header has 4 (a decimal comma? write 61.18, not 61,18)",
    )


def test_a_held_file_missing_roots_names_the_file_and_the_root(tmp_path):
    (tmp_path / "prices.csv").write_text(
        HEADER + "2020-01-02,CL,202003,61.18\n2020-01-03,CL,202003,62.0\n2020-01-02,GC,202004,1500\n2020-01-03,GC,202004,1510\n"
    )
    (tmp_path / "held.csv").write_text("date,root,contract\n2020-01-02,CL,202003\n2020-01-03,CL,202003\n")
    one_line_error(
        invoke("series", "--data", tmp_path, "--out", tmp_path / "series"),
        f"{tmp_path / 'held.csv'}: root GC: no held contract for root GC, which has prices "
        "(the held file must cover every root: missing GC)",
    )
    assert not (tmp_path / "series").exists()


def test_a_run_date_before_the_data_starts_says_where_the_data_starts(tmp_path, embedded_market):
    from dataclasses import replace

    import polars as pl

    from indexcalc.operations import RunStamp, rebuild, run_daily
    from indexcalc.catalogue import load_catalogue

    start, end = dt.date(2023, 9, 1), dt.date(2024, 3, 29)
    inside = pl.col("date").is_between(start, end)
    market = replace(
        embedded_market,
        prices=embedded_market.prices.filter(inside),
        rates=embedded_market.rates.filter(inside),
        inflation=embedded_market.inflation.filter(inside),
        macro=embedded_market.macro.filter(inside),
    )
    from tests.test_operations import short_spec

    specs = [short_spec(spec) for spec in load_catalogue() if spec.id == "LO-ER"]
    stamp = RunStamp(dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc), "run0001")
    out = tmp_path / "outputs"
    rebuild(market, specs, out, stamp, publish=False)
    first = market.prices.get_column("date").min()
    # with the data's own calendar this was "date 2023-08-01: not a business day of the index calendar"
    with pytest.raises(DataError, match=rf": date 2023-08-01: before the data starts \(on {first}\)$"):
        run_daily(market, specs, dt.date(2023, 8, 1), out, stamp, calendar_source="data", publish=False)


def test_the_documented_codes_are_exchange_calendars_codes():
    import exchange_calendars

    from indexcalc.data.calendars import DOCUMENTED_CODES

    assert DOCUMENTED_CODES <= set(exchange_calendars.get_calendar_names(include_aliases=True))
