"""The append-only ledger: parts, versions, the as-of view, the commit point, the lock, the
input hash (indexcalc.ledger)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.data.market import MarketData
from indexcalc.errors import StateError
from indexcalc.ledger import (
    LEDGER_SCHEMA,
    Ledger,
    current_view,
    input_hash,
    input_hashes,
    ledger_rows,
    methodology_version,
    new_run_id,
)
from indexcalc.catalogue import parse_spec

UTC = dt.timezone.utc
T1 = dt.datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
T2 = dt.datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
T3 = dt.datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


def levels(dates: list[dt.date], values: list[float]) -> pl.DataFrame:
    returns = [0.0] + [after / before - 1.0 for before, after in zip(values, values[1:])]
    return pl.DataFrame(
        {"date": dates, "level": values, "daily_return": returns[: len(values)]},
        schema={"date": pl.Date, "level": pl.Float64, "daily_return": pl.Float64},
    )


def rows(index_id: str, frame: pl.DataFrame, run_time: dt.datetime, run_id: str, version: int = 1,
         reason: str | None = None) -> pl.DataFrame:
    return ledger_rows(frame, index_id, version=version, run_id=run_id, run_time=run_time,
                       methodology_version="1.0.0 spec:test", input_hash_value="abc", reason=reason)


D1, D2, D3 = dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)


def test_empty_ledger_reads_as_an_empty_frame_with_the_schema(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    assert not ledger.exists()
    assert ledger.read_all().schema == pl.Schema(LEDGER_SCHEMA)
    assert ledger.current().is_empty()
    assert ledger.last_date() is None


def test_appended_rows_read_back_exactly_and_each_append_is_one_part(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    first = rows("LS-ER", levels([D1, D2], [1000.0, 1001.2345678901234]), T1, "run1")
    second = rows("LS-ER", levels([D3], [999.5]), T2, "run2")
    ledger.append(first, T1, "run1")
    ledger.append(second, T2, "run2")
    assert len(ledger.parts()) == 2
    read = ledger.read_all()
    assert read.equals(pl.concat([first, second]))  # floats round-trip bit for bit
    assert ledger.last_date() == D3


def test_empty_append_writes_no_part(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    assert ledger.append(rows("X", levels([], []), T1, "r"), T1, "r") is None
    assert ledger.parts() == []


def test_current_takes_the_highest_version_and_as_of_shows_what_was_published_then(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.append(rows("LS-ER", levels([D1, D2], [1000.0, 1010.0]), T1, "v1"), T1, "v1")
    # A restatement of D2 (version 2) at T2, then a new date at T3.
    ledger.append(rows("LS-ER", levels([D2], [1009.0]).with_columns(daily_return=pl.lit(0.009)), T2, "v2",
                       version=2, reason="corrected settlement"), T2, "v2")
    ledger.append(rows("LS-ER", levels([D3], [1011.0]), T3, "v3"), T3, "v3")

    now = ledger.current()
    assert now.select("date", "level", "version").rows() == [(D1, 1000.0, 1), (D2, 1009.0, 2), (D3, 1011.0, 1)]
    assert now.filter(pl.col("date") == D2).get_column("reason").item() == "corrected settlement"
    # Between T1 and T2 only the first publication existed.
    before = ledger.current(dt.datetime(2026, 11, 3, 12, 0, tzinfo=UTC))
    assert before.select("date", "level", "version").rows() == [(D1, 1000.0, 1), (D2, 1010.0, 1)]
    # A naive as-of is UTC: 18:00 naive is T2 exactly, so version 2 is included.
    naive = ledger.current(dt.datetime(2026, 11, 3, 18, 0))
    assert naive.filter(pl.col("date") == D2).get_column("version").item() == 2
    # Old versions stay readable.
    assert ledger.read_all().filter(pl.col("date") == D2).height == 2


def test_append_refuses_duplicated_keys_and_missing_levels(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    doubled = pl.concat([rows("A", levels([D1], [1.0]), T1, "r"), rows("A", levels([D1], [2.0]), T1, "r")])
    with pytest.raises(StateError, match="index A, date 2026-11-02, version 1"):
        ledger.append(doubled, T1, "r")
    no_level = rows("A", levels([D1], [1.0]), T1, "r").with_columns(pl.lit(None, dtype=pl.Float64).alias("level"))
    with pytest.raises(StateError, match="level and a version"):
        ledger.append(no_level, T1, "r")
    assert ledger.parts() == []


def test_a_failure_while_writing_the_part_publishes_nothing(tmp_path: Path, monkeypatch):
    ledger = Ledger(tmp_path / "ledger")
    ledger.append(rows("A", levels([D1], [1.0]), T1, "r1"), T1, "r1")
    before = {path.name: path.read_bytes() for path in ledger.directory.iterdir()}

    def broken_write(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a parquet file")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken_write)
    with pytest.raises(OSError, match="disk full"):
        ledger.append(rows("A", levels([D2], [2.0]), T2, "r2"), T2, "r2")
    monkeypatch.undo()
    after = {path.name: path.read_bytes() for path in ledger.directory.iterdir()}
    assert after == before  # no part, no temporary file
    assert ledger.current().height == 1


def test_a_leftover_temporary_file_is_not_read(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.append(rows("A", levels([D1], [1.0]), T1, "r1"), T1, "r1")
    (ledger.directory / ".tmp-killed.parquet").write_bytes(b"partial")
    assert ledger.read_all().height == 1


def test_a_damaged_part_is_a_state_error_naming_the_ledger(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.directory.mkdir()
    (ledger.directory / "part-20261102T180000000000Z-x.parquet").write_bytes(b"not parquet")
    with pytest.raises(StateError, match="cannot read the ledger"):
        ledger.read_all()


def test_the_lock_admits_one_writer_at_a_time(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    with ledger.lock():
        with pytest.raises(StateError, match="another indexcalc run"):
            with Ledger(tmp_path / "ledger").lock():
                pass
    with ledger.lock():  # released on exit
        pass


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 3), st.integers(0, 3), st.floats(1, 2000)),
        min_size=1,
        max_size=25,
        unique_by=lambda row: (row[0], row[1]),
    ),
    st.integers(0, 4),
)
def test_current_view_is_the_last_version_appended_by_the_time(appends, as_of_hour):
    # Each tuple: (day, version, hour appended, level). Expected view by brute force.
    frame = pl.DataFrame(
        {
            "index_id": "X",
            "date": [D1 + dt.timedelta(days=day) for day, *_ in appends],
            "level": [level for *_, level in appends],
            "daily_return": 0.0,
            "version": [version for _, version, _, _ in appends],
            "run_id": "r",
            "run_time": [T1 + dt.timedelta(hours=hour) for _, _, hour, _ in appends],
            "methodology_version": "m",
            "input_hash": "h",
            "reason": None,
            "official_level": [level for *_, level in appends],
            "released": True,
        },
        schema=LEDGER_SCHEMA,
    )
    as_of = T1 + dt.timedelta(hours=as_of_hour)
    expected = {}
    for day, version, hour, level in appends:
        if T1 + dt.timedelta(hours=hour) <= as_of and version >= expected.get(day, (0, 0))[0]:
            expected[day] = (version, level)
    view = current_view(frame, as_of)
    got = {(row["date"] - D1).days: (row["version"], row["level"]) for row in view.iter_rows(named=True)}
    assert got == expected


# --- input hash and methodology version ---------------------------------------------------------


def small_market() -> MarketData:
    from indexcalc.data.instruments import load_instruments

    prices = pl.DataFrame(
        {
            "date": [D1, D1, D2, D2],
            "root": ["CL", "CL", "CL", "GC"],
            "contract": [202612, 202701, 202612, 202612],
            "settle": [60.0, 61.0, 60.5, 2000.0],
            "volume": [1.0, None, 3.0, 4.0],
            "open_interest": [10.0, 20.0, None, 40.0],
        },
        schema_overrides={"contract": pl.Int32},
    )
    rates = pl.DataFrame({"date": [D1], "tbill": [0.04]})
    return MarketData(prices=prices, instruments=load_instruments(), rates=rates)


def test_input_hash_ignores_row_order_and_sees_every_value():
    market = small_market()
    reference = input_hash(market)
    assert input_hash(replace(market, prices=market.prices.reverse())) == reference
    assert len(reference) == 64
    changed_settle = market.prices.with_columns(
        pl.when(pl.col("root") == "GC").then(2000.1).otherwise(pl.col("settle")).alias("settle")
    )
    changed_null = market.prices.with_columns(pl.col("volume").fill_null(0.0))
    changed_root = market.prices.with_columns(pl.col("root").replace("GC", "SI"))
    variants = [
        replace(market, prices=changed_settle),
        replace(market, prices=changed_null),
        replace(market, prices=changed_root),
        replace(market, rates=market.rates.with_columns(pl.lit(0.05).alias("tbill"))),
        replace(market, prices=market.prices.head(3)),
    ]
    hashes = {input_hash(variant) for variant in variants}
    assert reference not in hashes and len(hashes) == len(variants)


@pytest.mark.slow
def test_input_hash_of_the_embedded_market_is_stable(embedded_market):
    assert input_hash(embedded_market) == input_hash(replace(embedded_market))
    cut = embedded_market.up_to(dt.date(2020, 1, 31))
    assert input_hash(cut) != input_hash(embedded_market)


@pytest.mark.slow
def test_input_hashes_of_several_cuts_in_one_pass_equal_the_hash_of_each_cut_market(embedded_market):
    # before any data, a root's first years, a day inside the data, the day before the end, the whole
    cuts = [dt.date(1990, 1, 1), dt.date(1996, 3, 15), dt.date(2024, 6, 28), dt.date(2026, 10, 29), None]
    expected = [input_hash(embedded_market if cut is None else embedded_market.up_to(cut)) for cut in cuts]
    assert input_hashes(embedded_market, cuts) == expected
    assert input_hashes(embedded_market, cuts[::-1]) == expected[::-1]
    assert len(set(expected)) == len(cuts)


def test_input_hashes_with_nulls_strings_and_a_held_frame():
    market = small_market()
    held = pl.DataFrame({"date": [D1, D2, D1], "root": ["CL", "CL", "GC"], "contract": [202405, 202405, 202406]},
                        schema_overrides={"contract": pl.Int32})
    market = replace(market, held=held)
    last = market.prices.get_column("date").max()
    cuts = [D1, last, None]
    assert input_hashes(market, cuts) == [input_hash(market.up_to(D1)), input_hash(market.up_to(last)),
                                          input_hash(market)]


def test_methodology_version_fingerprints_the_spec():
    raw = {"id": "LS-ER", "kind": "momentum", "name": "x", "family": "long_short"}
    spec = parse_spec(raw)
    same = parse_spec(dict(raw))
    other = parse_spec({**raw, "base_value": 100.0})
    assert methodology_version(spec) == methodology_version(same)
    assert methodology_version(spec) != methodology_version(other)
    assert methodology_version(spec).startswith("1.0.0 spec:")


def test_run_ids_are_short_and_distinct():
    ids = {new_run_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(run_id) == 12 for run_id in ids)


def test_a_part_written_before_the_official_level_reads_as_released_at_its_level(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.append(rows("A", levels([D1], [1000.123456]), T1, "new"), T1, "new")
    old = rows("A", levels([D2], [1001.5]), T2, "old").drop("official_level", "released")
    old.write_parquet(tmp_path / "ledger" / "part-20261103T180000000000Z-old.parquet")
    view = ledger.current()
    assert view.select("date", "level", "official_level", "released").rows() == [
        (D1, 1000.123456, 1000.123456, True),  # ledger_rows without an official level: the level itself
        (D2, 1001.5, 1001.5, True),
    ]


def test_ledger_rows_record_the_official_level_given_and_the_release_flag():
    frame = rows("A", levels([D1], [1000.0]), T1, "r")
    assert frame.select("official_level", "released").row(0) == (1000.0, True)
    held = ledger_rows(levels([D1], [1000.123456]), "A", run_id="r", run_time=T1, methodology_version="m",
                       input_hash_value="h", official_level=pl.col("level").round(2), released=False)
    assert held.select("level", "official_level", "released").row(0) == (1000.123456, 1000.12, False)
