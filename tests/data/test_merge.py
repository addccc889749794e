"""Markets merged from several sources: priority per (date, root, contract), provenance, the
merge report, left-out rows, the spec file and the CLI; the shared WTI, Brent and natural-gas
settlements over pysystemtrade's files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from builders import instrument
from data_cli import run_cli

from indexcalc.data.load import load_market
from indexcalc.data.longformat import read_long, write_long
from indexcalc.data.market import HELD_SCHEMA, MarketData
from indexcalc.data.merge import (
    NOT_A_SESSION,
    NOT_PREFERRED_DAY,
    MergeSource,
    MergeSpec,
    load_merge_spec,
    merge_markets,
    read_merged,
)
from indexcalc.data.provenance import merge_report
from indexcalc.data.validate import validate_prices
from indexcalc.errors import DataError, SpecError
from indexcalc.series import build_series
from indexcalc.specs import DataRoll

MON, TUE, WED, THU, FRI, SAT = (dt.date(2020, 3, day) for day in (2, 3, 4, 5, 6, 7))
INSTRUMENTS = {"XX": instrument("XX")}


def market(rows: list[tuple[dt.date, int, float]], held: list[tuple[dt.date, int]] | None = None) -> MarketData:
    prices = pl.DataFrame(
        {
            "date": [row[0] for row in rows],
            "root": ["XX"] * len(rows),
            "contract": [row[1] for row in rows],
            "settle": [row[2] for row in rows],
        }
    )
    held_frame = None
    if held is not None:
        held_frame = pl.DataFrame(
            {"date": [row[0] for row in held], "root": ["XX"] * len(held), "contract": [row[1] for row in held]}
        ).cast(HELD_SCHEMA)
    return MarketData(
        prices=validate_prices(prices, INSTRUMENTS, "test", first_row=None), instruments=INSTRUMENTS, held=held_frame
    )


def spec(**fields) -> MergeSpec:
    sources = (
        MergeSource(name="settlements", format="long", path=Path("s")),
        MergeSource(name="intraday", format="long", path=Path("i")),
    )
    return MergeSpec(sources=sources, **fields)


SETTLEMENTS = market([(MON, 202004, 50.0), (MON, 202005, 50.5), (TUE, 202004, 51.0)])
# Agrees on Monday, conflicts on Tuesday, alone on Wednesday (after the settlements' span), and
# a Saturday row that is no CMES session.
INTRADAY = market(
    [(MON, 202004, 50.0), (TUE, 202004, 51.2), (WED, 202004, 52.0), (SAT, 202004, 53.0)],
    held=[(MON, 202004), (TUE, 202004), (WED, 202004), (SAT, 202004)],
)


def test_the_highest_priority_source_that_prices_a_contract_wins_and_is_kept():
    merged = merge_markets({"settlements": SETTLEMENTS, "intraday": INTRADAY}, spec())
    rows = (
        merged.market.prices.join(merged.market.provenance, on=["date", "root", "contract"])
        .select("date", "contract", "settle", "source", "compared_source", "compared_settle")
        .rows()
    )
    assert rows == [
        (MON, 202004, 50.0, "settlements", "intraday", 50.0),
        (MON, 202005, 50.5, "settlements", None, None),
        (TUE, 202004, 51.0, "settlements", "intraday", 51.2),
        (WED, 202004, 52.0, "intraday", None, None),
    ]
    # Settlements: 3 rows, 2 also priced by intraday, 1 of them equal (Monday): share 1/2.
    assert merge_report(merged.market.prices, merged.market.provenance).select(
        "source", "rows", "compared", "agree", "share"
    ).rows() == [("intraday", 1, 0, 0, None), ("settlements", 3, 2, 1, 0.5)]
    assert merged.left_out.select("source", "reason", "rows", "first").rows() == [("intraday", NOT_A_SESSION, 1, SAT)]
    # The held contracts come from the only source that has them, without the Saturday.
    assert merged.market.held.get_column("date").to_list() == [MON, TUE, WED]


def test_a_root_priority_reverses_the_sources_for_that_root():
    merged = merge_markets(
        {"settlements": SETTLEMENTS, "intraday": INTRADAY}, spec(priority={"XX": ("intraday", "settlements")})
    )
    tuesday = merged.market.prices.filter(pl.col("date") == TUE).get_column("settle").to_list()
    assert tuesday == [51.2]
    # A root may also leave a source out.
    only = merge_markets({"settlements": SETTLEMENTS, "intraday": INTRADAY}, spec(priority={"XX": ("settlements",)}))
    assert only.market.prices.get_column("date").unique().sort().to_list() == [MON, TUE]


def test_a_lower_source_adds_no_day_inside_the_preferred_source_span():
    # Settlements price Monday and Thursday, not Wednesday (a holiday of theirs); intraday has a
    # Wednesday row: left out by default, kept with fill_days.
    settlements = market([(MON, 202004, 50.0), (THU, 202004, 53.0)])
    intraday = market([(WED, 202004, 52.0), (FRI, 202004, 54.0)])
    merged = merge_markets({"settlements": settlements, "intraday": intraday}, spec())
    assert merged.market.prices.get_column("date").to_list() == [MON, THU, FRI]
    assert merged.left_out.select("source", "reason", "rows", "first").rows() == [("intraday", NOT_PREFERRED_DAY, 1, WED)]
    filled = merge_markets({"settlements": settlements, "intraday": intraday}, spec(fill_days=True))
    assert filled.market.prices.get_column("date").to_list() == [MON, WED, THU, FRI]


def test_held_contract_return_of_the_merged_market_is_the_settlement_return():
    # Data roll on 202004; settlements 50 -> 51 on Tuesday: return 51 / 50 - 1 = 0.02, not the
    # intraday 51.2 / 50 - 1 = 0.024; Wednesday only intraday: 52 / 51 - 1.
    merged = merge_markets({"settlements": SETTLEMENTS, "intraday": INTRADAY}, spec()).market
    series = build_series(merged, DataRoll())
    assert series.get_column("daily_return").to_list() == pytest.approx([0.0, 0.02, 52 / 51 - 1])


def test_the_spec_file_resolves_paths_and_rejects_unknown_names(tmp_path):
    (tmp_path / "spec.toml").write_text(
        '[[source]]\nname = "settlements"\nformat = "tenors"\npath = "s.csv"\nexpiries = "e.csv"\n\n'
        '[[source]]\nname = "intraday"\nformat = "long"\npath = "i"\n\n[priority]\nXX = ["intraday", "settlements"]\n'
    )
    loaded = load_merge_spec(tmp_path / "spec.toml")
    assert loaded.sources[0].path == tmp_path / "s.csv" and loaded.sources[0].expiries == tmp_path / "e.csv"
    assert loaded.order("XX") == ("intraday", "settlements") and loaded.order("YY") == ("settlements", "intraday")
    (tmp_path / "bad.toml").write_text(
        '[[source]]\nname = "intraday"\nformat = "long"\npath = "i"\n\n[priority]\nXX = ["vendor"]\n'
    )
    with pytest.raises(SpecError, match="priority.XX must list distinct source names"):
        load_merge_spec(tmp_path / "bad.toml")
    (tmp_path / "tenors.toml").write_text('[[source]]\nname = "s"\nformat = "tenors"\npath = "s.csv"\n')
    with pytest.raises(SpecError, match="a tenors source needs expiries"):
        load_merge_spec(tmp_path / "tenors.toml")


def test_cli_merge_writes_provenance_and_data_check_reports_the_sources(tmp_path):
    write_long(SETTLEMENTS, tmp_path / "settlements")
    write_long(INTRADAY, tmp_path / "intraday")
    spec_path = tmp_path / "merge.toml"
    spec_path.write_text(
        '[[source]]\nname = "settlements"\nformat = "long"\npath = "settlements"\n\n'
        '[[source]]\nname = "intraday"\nformat = "long"\npath = "intraday"\n'
    )
    result = run_cli("data", "merge", spec_path, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert "XX    settlements  3     2020-03-02  2020-03-03  2         1      0.5" in result.output
    assert "left out:" in result.output
    written = read_long(tmp_path / "merged")
    assert written.provenance.equals(read_merged(spec_path).market.provenance)
    check = run_cli("data", "check", spec_path)
    assert check.exit_code == 0, check.output
    assert "sources (merged market):" in check.output
    assert load_market(spec_path).provenance.get_column("source").to_list() == [
        "settlements",
        "settlements",
        "settlements",
        "intraday",
    ]


# --- real data -------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_shared_merged_market_returns_equal_settlement_returns(tmp_path, shared_real_dir, pysystemtrade_dir):
    """WTI, Brent, natural gas 2008-2023: build_series (data roll) on settlements merged over
    pysystemtrade; wherever the settlement file prices the contract held at t-1 on t-1 and on t,
    the series return is the settlement return."""
    from indexcalc.data.tenors import read_tenor_market

    spec_path = tmp_path / "merge.toml"
    spec_path.write_text(
        f'[[source]]\nname = "settlements"\nformat = "tenors"\npath = "{shared_real_dir / "energy_settlements.csv"}"\n'
        f'expiries = "{shared_real_dir / "contract_expiries.csv"}"\n\n'
        f'[[source]]\nname = "pysystemtrade"\nformat = "pysystemtrade"\npath = "{pysystemtrade_dir}"\n'
    )
    roots = ["BRENT_W", "CRUDE_W", "GAS_US"]
    merged = read_merged(spec_path).market
    series = build_series(merged, DataRoll(), roots=roots, disruption="carry_forward")
    settlements = read_tenor_market(
        shared_real_dir / "energy_settlements.csv", shared_real_dir / "contract_expiries.csv", instruments=merged.instruments
    ).market.prices.select("date", "root", "contract", "settle")
    steps = series.sort("root", "date").with_columns(
        pl.col("held_contracts").str.split(":").list.first().cast(pl.Int32).shift(1).over("root").alias("contract"),
        pl.col("date").shift(1).over("root").alias("previous"),
    )
    compared = (
        steps.join(settlements, on=["date", "root", "contract"])
        .join(settlements.rename({"date": "previous", "settle": "previous_settle"}), on=["previous", "root", "contract"])
        .filter(pl.col("date").dt.year().is_between(2008, 2023))
        .with_columns((pl.col("settle") / pl.col("previous_settle") - 1).alias("settlement_return"))
    )
    counts = compared.group_by("root").len().sort("root")
    # About 250 days a year for 16 years each (measured: 4,078 Brent, 3,980 WTI, 3,981 gas days).
    assert counts.get_column("root").to_list() == roots and counts.get_column("len").min() > 3900
    differences = compared.filter((pl.col("daily_return") - pl.col("settlement_return")).abs() > 1e-12)
    assert differences.height == 0, differences.head()


def test_a_provenance_file_is_validated_when_read_back(tmp_path):
    write_long(SETTLEMENTS, tmp_path / "market")
    (tmp_path / "market" / "provenance.csv").write_text(
        "date,root,contract,source\n2020-03-02,XX,202004,settlements\n2020-03-02,XX,202004,intraday\n"
    )
    with pytest.raises(DataError, match=r"duplicated \(date, root, contract\): same as row 2") as error:
        read_long(tmp_path / "market")
    assert error.value.key == "row 3"


def test_rows_a_tenor_source_left_out_at_import_appear_in_the_merge_report(tmp_path):
    (tmp_path / "tenors.csv").write_text("date,series,value\n2020-03-02,XX01,-1.0\n2020-03-02,XX02,50.5\n2020-03-07,XX01,52.0\n")
    (tmp_path / "expiries.csv").write_text(
        "cmdty,Last.Trade,Year,Month\ncmexx,2020-02-20,2020,3\ncmexx,2020-03-20,2020,4\ncmexx,2020-04-21,2020,5\n"
    )
    (tmp_path / "map.toml").write_text('[[tenor]]\nprefix = "XX"\nroot = "XX"\nexpiries = "cmexx"\n')
    write_long(INTRADAY, tmp_path / "intraday")
    (tmp_path / "merge.toml").write_text(
        '[[source]]\nname = "settlements"\nformat = "tenors"\npath = "tenors.csv"\nexpiries = "expiries.csv"\n'
        'tenors = "map.toml"\n\n[[source]]\nname = "intraday"\nformat = "long"\npath = "intraday"\n'
    )
    merged = read_merged(tmp_path / "merge.toml")
    # On Monday 2 March XX01 = 202004 (-1.0: a price), XX02 = 202005; Saturday 7 March left out.
    assert merged.left_out.select("source", "reason", "rows", "first").rows() == [
        ("intraday", NOT_A_SESSION, 1, SAT),
        ("settlements", NOT_A_SESSION, 1, SAT),
    ]
    monday = merged.market.prices.join(merged.market.provenance, on=["date", "root", "contract"]).filter(
        pl.col("date") == MON
    )
    assert monday.select("contract", "settle", "source").rows() == [(202004, -1.0, "settlements"), (202005, 50.5, "settlements")]
