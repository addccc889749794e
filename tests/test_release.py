"""The release report and its root events (indexcalc.release): figures by hand, rolls and
carried settlements on the embedded market."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import polars as pl

from indexcalc.release import (
    REPORT_SCHEMA,
    held_dates,
    release_report,
    report_json,
    report_text,
    root_events,
)
from indexcalc.specs import WindowRoll
from indexcalc.catalogue import parse_spec

D0, D1 = dt.date(2026, 10, 29), dt.date(2026, 10, 30)
RULE = WindowRoll().model_dump_json()


def spec(index_id: str, kind: str = "momentum"):
    if kind == "momentum":
        return parse_spec({"id": index_id, "kind": "momentum", "name": index_id, "family": "long_only"})
    return parse_spec({"id": index_id, "kind": "base_metals", "name": index_id, "weighting": "equal"})


def view() -> pl.DataFrame:
    return pl.DataFrame({
        "index_id": ["A", "A", "B", "B"],
        "date": [D0, D1, D0, D1],
        "level": [1000.0, 1035.000049, 200.0, 201.0],
        "official_level": [1000.0, 1035.0, 200.0, 201.0],
        "daily_return": [0.0, 0.035000049, 0.0, 0.005],
        "released": [True, True, True, False],
    })


def test_the_report_holds_official_levels_changes_events_and_flags():
    events = pl.DataFrame({"rule": [RULE] * 3, "root": ["CL", "GC", "HG"],
                           "rolled": [True, False, True], "carried": [False, True, False]})
    roots = {"A": (RULE, ["CL", "GC"]), "B": (RULE, ["HG"])}
    report = release_report(view(), [spec("A"), spec("B", "base_metals")], D1, events, roots, anchors={"B": D1})
    assert report.schema == pl.Schema(REPORT_SCHEMA)
    # A: momentum threshold 3%: |0.035000049| > 0.03 -> flagged; B: base metals 4%: 0.5% is not
    assert report.rows() == [
        ("A", "momentum", D1, 1035.0, D0, 1000.0, 0.035000049, None, "CL", "GC", 0.03, True),
        ("B", "base_metals", D1, 201.0, D0, 200.0, 0.005, True, "HG", "", 0.04, False),
    ]
    text = report_text(report)
    assert "REVIEW" in text.splitlines()[2] and "1 flagged for review" in text
    document = json.loads(report_json(report, D1, held=True))
    assert (document["date"], document["held"], document["flagged"]) == ("2026-10-30", True, ["A"])
    assert document["indexes"][1]["level"] == 201.0
    assert held_dates(view()) == [D1]


def test_a_threshold_given_for_every_family_overrides_the_defaults():
    roots = {"A": (RULE, []), "B": (RULE, [])}
    events = pl.DataFrame(schema={"rule": pl.String, "root": pl.String, "rolled": pl.Boolean, "carried": pl.Boolean})
    report = release_report(view(), [spec("A"), spec("B", "base_metals")], D1, events, roots,
                            thresholds={"momentum": 0.04, "base_metals": 0.001})
    assert report.select("index", "flagged").rows() == [("A", False), ("B", True)]


def test_roots_roll_inside_the_roll_window_and_a_missing_held_settlement_is_carried(embedded_market):
    momentum = [spec("LO-X")]
    market = embedded_market.up_to(dt.date(2026, 6, 30))
    # 2026-06-05 is business day 5 of June (the window roll's first day): roots holding a July
    # contract (CL rolls every month) move 20% of it; mid-month nothing rolls
    rolling = root_events(market, momentum, dt.date(2026, 6, 5))
    quiet = root_events(market, momentum, dt.date(2026, 6, 18))
    assert rolling.filter(pl.col("root") == "CL").get_column("rolled").to_list() == [True]
    assert not quiet.get_column("rolled").any() and not quiet.get_column("carried").any()
    # without CL's held contract settlement on the 18th, its settlement is carried
    day = dt.date(2026, 6, 18)
    from indexcalc.rolls import roll_schedule

    (held,) = roll_schedule(market.up_to(dt.date(2026, 6, 17)), WindowRoll(), ["CL"]).filter(
        pl.col("date") == dt.date(2026, 6, 17)).get_column("contract").to_list()
    gappy = replace(market, prices=market.prices.filter(
        ~((pl.col("root") == "CL") & (pl.col("date") == day) & (pl.col("contract") == held))))
    carried = root_events(gappy, momentum, day).filter(pl.col("carried")).get_column("root").to_list()
    assert carried == ["CL"]


def test_a_long_report_prints_the_flagged_indexes_first_and_says_how_many_more(capsys):
    from indexcalc.release import PRINTED_ROWS, REPORT_SCHEMA, print_report

    count = PRINTED_ROWS + 40
    date = dt.date(2024, 7, 1)
    report = pl.DataFrame({
        "index": [f"V{n:04d}" for n in range(count)], "kind": ["momentum"] * count, "date": [date] * count,
        "level": [1000.0] * count, "previous_date": [date] * count, "previous_level": [1000.0] * count,
        "daily_change": [0.0] * count, "rebalanced": [False] * count, "rolled": [""] * count,
        "carried": [""] * count, "threshold": [0.03] * count, "flagged": [n == count - 1 for n in range(count)],
    }, schema=REPORT_SCHEMA)
    print_report(report, date)
    printed = capsys.readouterr().out
    assert f"{count} indexes, 1 flagged" in printed
    assert f"V{count - 1:04d}" in printed and "V0000" in printed and f"V{PRINTED_ROWS - 1:04d}" not in printed
    assert printed.index(f"V{count - 1:04d}") < printed.index("V0000")
    assert f"{count - PRINTED_ROWS} more indexes, none flagged" in printed
