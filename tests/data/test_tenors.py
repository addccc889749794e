"""Generic-tenor importer: hand-made tenor files and expiry calendars (mapping across an expiry,
uncovered dates, bad labels, left-out rows), the CLI, and the shared settlement file against
pysystemtrade's daily rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from data_cli import assert_user_error, run_cli

from indexcalc.data.longformat import read_long
from indexcalc.data.tenors import (
    DEFAULT_TENOR_MAPPINGS,
    TenorMapping,
    agreement_by_root,
    listed_contracts,
    load_tenor_mappings,
    price_comparison,
    read_expiry_calendar,
    read_tenor_market,
    tenor_contracts,
)
from indexcalc.errors import DataError, SpecError

EXPIRY_HEADER = "cmdty,tick.prefix,Last.Trade,First.Notice,First.Delivery,Last.Delivery,Year,Month,Month.Letter\n"
# Four monthly contracts of a made-up code; H (March) last trades on Thursday 2020-02-20.
EXPIRIES = EXPIRY_HEADER + (
    "cmexx,XX,2020-01-21,,,,2020,2,G\n"
    "cmexx,XX,2020-02-20,,,,2020,3,H\n"
    "cmexx,XX,2020-03-20,,,,2020,4,J\n"
    "cmexx,XX,2020-04-21,,,,2020,5,K\n"
)
XX = (TenorMapping(prefix="XX", root="CRUDE_W", expiries="cmexx", calendar="CMES"),)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def tenor_file(tmp_path: Path, rows: str) -> Path:
    return write(tmp_path / "tenors.csv", "date,series,value\n" + rows)


def test_tenor_maps_to_the_next_contract_the_day_after_the_last_trade(tmp_path):
    # 19 and 20 Feb: H (last trade 20 Feb) is still tenor 1, J tenor 2; 21 Feb: J, K.
    settlements = tenor_file(
        tmp_path,
        "2020-02-19,XX01,50.0\n2020-02-19,XX02,51.0\n"
        "2020-02-20,XX01,52.0\n2020-02-20,XX02,53.0\n"
        "2020-02-21,XX01,54.0\n2020-02-21,XX02,55.0\n",
    )
    imported = read_tenor_market(settlements, write(tmp_path / "expiries.csv", EXPIRIES), XX)
    prices = imported.market.prices
    assert prices.select("date", "contract", "settle").rows() == [
        (dt.date(2020, 2, 19), 202003, 50.0),
        (dt.date(2020, 2, 19), 202004, 51.0),
        (dt.date(2020, 2, 20), 202003, 52.0),
        (dt.date(2020, 2, 20), 202004, 53.0),
        (dt.date(2020, 2, 21), 202004, 54.0),
        (dt.date(2020, 2, 21), 202005, 55.0),
    ]
    assert prices.get_column("root").unique().to_list() == ["CRUDE_W"]
    assert prices.get_column("volume").null_count() == prices.get_column("open_interest").null_count() == 6
    # Listed and held months come from the expiry code: G H J K.
    assert imported.market.instruments["CRUDE_W"].listed_months == "GHJK"


@pytest.mark.parametrize(
    ("row", "key"),
    [
        # K is the last listed contract: on 1 April tenor 2 has no contract.
        ("2020-04-01,XX02,40.0\n", "series XX02 date 2020-04-01"),
        # Before G's last trade the calendar cannot tell whether an earlier contract is missing.
        ("2020-01-10,XX01,40.0\n", "series XX01 date 2020-01-10"),
    ],
)
def test_a_date_the_expiry_calendar_does_not_cover_is_an_error_naming_series_and_date(tmp_path, row, key):
    settlements = tenor_file(tmp_path, "2020-02-19,XX01,50.0\n" + row)
    with pytest.raises(DataError) as error:
        read_tenor_market(settlements, write(tmp_path / "expiries.csv", EXPIRIES), XX)
    assert error.value.key == key
    assert "expiry calendar cmexx does not cover this date" in error.value.problem


def test_cli_rejects_an_uncovered_tenor_file_with_one_line(tmp_path):
    settlements = tenor_file(tmp_path, "2007-01-03,CL01,61.0\n")
    expiries = write(tmp_path / "expiries.csv", EXPIRY_HEADER + "cmewti,CL,2007-01-19,,,,2007,2,G\n")
    result = run_cli("data", "import", "tenors", settlements, "--expiries", expiries, "--out", tmp_path / "out")
    assert_user_error(
        result,
        f"{settlements}: series CL01 date 2007-01-03: expiry calendar cmewti does not cover this date: tenor 1 "
        "needs a contract expiring before it and 1 on or after it (last trade dates listed: 2007-01-19 to 2007-01-19)",
    )


def test_series_without_a_mapping_or_a_tenor_number_is_an_error(tmp_path):
    expiries = write(tmp_path / "expiries.csv", EXPIRIES)
    with pytest.raises(DataError, match="has no tenor mapping") as error:
        read_tenor_market(tenor_file(tmp_path, "2020-02-19,YY01,50.0\n"), expiries, XX)
    assert error.value.key == "series YY01 date 2020-02-19"
    with pytest.raises(DataError, match="is not a prefix and a tenor number") as error:
        read_tenor_market(tenor_file(tmp_path, "2020-02-19,XX00,50.0\n"), expiries, XX)
    assert error.value.key == "series XX00 date 2020-02-19"


def test_non_session_settlements_are_left_out_and_counted_and_negative_ones_kept(tmp_path):
    # Saturday 22 Feb is not a CMES session; -1.0 on Friday is a price (docs/design.md section 2).
    settlements = tenor_file(tmp_path, "2020-02-21,XX01,-1.0\n2020-02-21,XX02,55.0\n2020-02-22,XX01,56.0\n")
    imported = read_tenor_market(settlements, write(tmp_path / "expiries.csv", EXPIRIES), XX)
    assert imported.market.prices.select("date", "contract", "settle").rows() == [
        (dt.date(2020, 2, 21), 202004, -1.0),
        (dt.date(2020, 2, 21), 202005, 55.0),
    ]
    assert imported.non_session.rows() == [(dt.date(2020, 2, 22), "CRUDE_W", "XX01", 56.0)]


def test_inconsistent_calendar_labels_are_an_error_unless_numbered_consecutively(tmp_path):
    # The second row repeats month 2 for a later last trade (as icebrent does from 2016).
    expiries = write(
        tmp_path / "expiries.csv",
        EXPIRY_HEADER + "cmexx,XX,2016-01-14,,,,2016,2,G\ncmexx,XX,2016-01-29,,,,2016,2,G\ncmexx,XX,2016-02-29,,,,2016,3,H\n",
    )
    calendar = read_expiry_calendar(expiries)
    with pytest.raises(DataError, match="contract 201602 .* does not come after") as error:
        listed_contracts(calendar, XX[0], str(expiries))
    assert error.value.key == "row 3"
    consecutive = XX[0].model_copy(update={"contracts": "consecutive"})
    # Numbered from the first label: 201602, then 201603, 201604.
    assert listed_contracts(calendar, consecutive).select("contract", "position").rows() == [
        (201602, 0),
        (201603, 1),
        (201604, 2),
    ]


def test_a_gap_in_a_consecutive_listing_is_an_error(tmp_path):
    expiries = write(tmp_path / "expiries.csv", EXPIRY_HEADER + "cmexx,XX,2016-01-14,,,,2016,2,G\ncmexx,XX,2016-04-14,,,,2016,5,K\n")
    consecutive = XX[0].model_copy(update={"contracts": "consecutive"})
    with pytest.raises(DataError, match="a monthly listing has a gap"):
        listed_contracts(read_expiry_calendar(expiries), consecutive)


def test_tenor_mappings_are_read_from_toml(tmp_path):
    path = write(tmp_path / "tenors.toml", '[[tenor]]\nprefix = "XX"\nroot = "CRUDE_W"\nexpiries = "cmexx"\n')
    assert load_tenor_mappings(path) == XX
    bad = write(tmp_path / "bad.toml", '[[tenor]]\nprefix = "XX"\nroot = "CRUDE_W"\n')
    with pytest.raises(SpecError, match="expiries") as error:
        load_tenor_mappings(bad)
    assert error.value.key == "tenor XX"


def test_price_comparison_counts_agreeing_prices_per_root():
    keys = {"date": [dt.date(2020, 1, day) for day in (2, 3, 6)], "root": ["CL"] * 3, "contract": [202003] * 3}
    prices = pl.DataFrame({**keys, "settle": [50.0, 51.0, 52.0]})
    # 2 Jan: |50 - 50.001| = 0.001 > 1e-6 * 50.001 (5.0e-5) but <= 1e-3 * 50.001 (0.050);
    # 3 Jan equal; 6 Jan |52 - 53| = 1 exceeds both. Strict: 1 of 3 agree; loose: 2 of 3.
    reference = pl.DataFrame({**keys, "settle": [50.001, 51.0, 53.0]})
    strict = agreement_by_root(price_comparison(prices, reference))
    assert strict.rows() == [("CL", 3, 1, 1 / 3)]
    loose = agreement_by_root(price_comparison(prices, reference, relative_tolerance=1e-3))
    assert loose.rows() == [("CL", 3, 2, 2 / 3)]


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=15, max_value=45), min_size=4, max_size=12),
    picks=st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=4)), min_size=1),
)
@pytest.mark.slow
def test_tenor_n_is_the_nth_contract_expiring_on_or_after_the_date(gaps, picks):
    """Against a direct count: contract = sorted last trades, first index with last_trade >= d,
    plus n - 1; dates the calendar does not cover are dropped from the draw."""
    start = dt.date(2020, 1, 15)
    last_trades = [start + dt.timedelta(days=sum(gaps[:index])) for index in range(len(gaps))]
    contracts = [202002 + index % 11 + index // 11 * 100 for index in range(len(gaps))]  # rising labels
    expiries = pl.DataFrame(
        {"code": ["cmexx"] * len(gaps), "contract": contracts, "last_trade": last_trades, "row": range(len(gaps))}
    ).cast({"contract": pl.Int32})
    expected, rows = {}, []
    for offset, tenor in picks:
        day = start + dt.timedelta(days=offset)
        first = next((index for index, last in enumerate(last_trades) if last >= day), None)
        if first is None or first == 0 or first + tenor - 1 >= len(last_trades) or (day, tenor) in expected:
            continue
        expected[(day, tenor)] = contracts[first + tenor - 1]
        rows.append((day, f"XX{tenor:02d}", 1.0))
    if not rows:
        return
    settlements = pl.DataFrame(rows, schema={"date": pl.Date, "series": pl.String, "value": pl.Float64}, orient="row")
    located = tenor_contracts(settlements, expiries, XX)
    assert {(row["date"], row["tenor"]): row["contract"] for row in located.iter_rows(named=True)} == expected


def test_cli_import_writes_a_long_format_market(tmp_path):
    settlements = tenor_file(tmp_path, "2020-02-19,XX01,50.0\n2020-02-21,XX01,54.0\n")
    mapping = write(tmp_path / "map.toml", '[[tenor]]\nprefix = "XX"\nroot = "CRUDE_W"\nexpiries = "cmexx"\n')
    out = tmp_path / "market"
    result = run_cli(
        "data", "import", "tenors", settlements, "--expiries", write(tmp_path / "e.csv", EXPIRIES), "--tenors", mapping, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2 price rows for 1 roots" in result.output
    assert read_long(out).prices.select("date", "contract").rows() == [
        (dt.date(2020, 2, 19), 202003),
        (dt.date(2020, 2, 21), 202004),
    ]


# --- real data -------------------------------------------------------------------------------


def daily_rows(pysystemtrade_dir: Path, root: str, before: dt.date) -> pl.DataFrame:
    """``date, root, contract, settle`` of the PRICE column of pysystemtrade's daily rows (stamped
    23:00:00) before ``before``: exchange settlements per the shared README."""
    raw = pl.read_csv(pysystemtrade_dir / "multiple_prices_csv" / f"{root}.csv", infer_schema=False)
    return (
        raw.filter(pl.col("DATETIME").str.ends_with(" 23:00:00"), pl.col("PRICE").is_not_null())
        .select(
            pl.col("DATETIME").str.slice(0, 10).str.to_date().alias("date"),
            pl.lit(root).alias("root"),
            (pl.col("PRICE_CONTRACT").cast(pl.Int64) // 100).cast(pl.Int32).alias("contract"),
            pl.col("PRICE").cast(pl.Float64).alias("settle"),
        )
        .filter(pl.col("date") < before)
    )


@pytest.fixture(scope="module")
def shared_tenors(shared_real_dir):
    return read_tenor_market(shared_real_dir / "energy_settlements.csv", shared_real_dir / "contract_expiries.csv")


@pytest.mark.realdata
@pytest.mark.parametrize("root", ["CRUDE_W", "BRENT_W"])
def test_shared_tenors_name_the_contracts_of_pysystemtrade_daily_rows(shared_tenors, pysystemtrade_dir, root):
    reference = daily_rows(pysystemtrade_dir, root, dt.date(2012, 1, 1))
    comparison = price_comparison(shared_tenors.market.prices, reference)
    # Nearly every daily row's held contract is priced by the tenor file (2007-2011: ~1,250 days).
    assert comparison.height >= 0.99 * reference.filter(pl.col("date") >= dt.date(2007, 1, 3)).height
    share = agreement_by_root(comparison).row(0, named=True)["share"]
    assert share >= 0.99, f"{root}: {share:.4f} of overlapping days agree"


@pytest.mark.realdata
def test_brent_contracts_numbered_consecutively_expire_when_pysystemtrade_stops_pricing_them(
    shared_real_dir, pysystemtrade_dir
):
    calendar = read_expiry_calendar(shared_real_dir / "contract_expiries.csv")
    brent = next(mapping for mapping in DEFAULT_TENOR_MAPPINGS if mapping.root == "BRENT_W")
    listed = listed_contracts(calendar, brent).filter(
        pl.col("last_trade").is_between(dt.date(2012, 1, 1), dt.date(2023, 6, 30))
    )
    raw = pl.read_csv(pysystemtrade_dir / "multiple_prices_csv" / "BRENT_W.csv", infer_schema=False)
    last_priced = (
        pl.concat(
            raw.select(
                pl.col("DATETIME").str.slice(0, 10).str.to_date().alias("date"),
                (pl.col(f"{column}_CONTRACT").cast(pl.Int64) // 100).cast(pl.Int32).alias("contract"),
            ).filter(raw.get_column(column).is_not_null())
            for column in ("PRICE", "FORWARD", "CARRY")
        )
        .group_by("contract")
        .agg(pl.col("date").max().alias("last_priced"))
    )
    joined = listed.join(last_priced, on="contract")
    assert joined.height >= 130
    # With the calendar's own labels (one month early from 2016) this fails from 2016 on.
    assert joined.filter(pl.col("last_trade") != pl.col("last_priced")).height == 0


def test_cli_import_to_a_prices_file_counts_what_it_left_out(tmp_path):
    settlements = tenor_file(tmp_path, "2020-02-21,XX01,-1.0\n2020-02-21,XX02,55.0\n2020-02-22,XX01,56.0\n")
    mapping = write(tmp_path / "map.toml", '[[tenor]]\nprefix = "XX"\nroot = "CRUDE_W"\nexpiries = "cmexx"\n')
    out = tmp_path / "prices.parquet"
    result = run_cli(
        "data", "import", "tenors", settlements, "--expiries", write(tmp_path / "e.csv", EXPIRIES), "--tenors", mapping, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "not positive" not in result.output
    assert "left out 1 settlement(s) not on a session (first: XX01 2020-02-22 56.0)" in result.output
    assert pl.read_parquet(out).select("date", "contract", "settle").rows() == [
        (dt.date(2020, 2, 21), 202004, -1.0),
        (dt.date(2020, 2, 21), 202005, 55.0),
    ]
