"""Roots whose data ends early (indexcalc.rules.ended; docs/design.md sections 2, 3 and 7): one
rule for the rebuild and the daily run. The market is the embedded SYNTHETIC market cut to
2023-01 .. 2024-10 with lumber (LB, CME calendar) priced up to Monday 15 July 2024 only; the
catalogue is LS-ER and LO-ER with 3-month windows and the catalogue's annual reconstitution."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.data.longformat import write_long
from indexcalc.errors import DataError
from indexcalc.ledger import Ledger
from indexcalc.operations import RunStamp, rebuild, run_daily
from indexcalc.pipeline import rebuild_all
from indexcalc.rules.ended import ENDED_AFTER_BUSINESS_DAYS, ended_at, ended_roots, priced_days

LAST_LB = dt.date(2024, 7, 15)
SPAN = (dt.date(2023, 1, 1), dt.date(2024, 10, 31))
STAMP = RunStamp(dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc), "run0000")
CATALOGUE = """
[[index]]
id = "LS-ER"
kind = "momentum"
name = "Long/Short"
family = "long_short"
base_value = 1000.0
[index.magnitude]
window_months = 3
[index.direction]
window_months = 3
[index.reconstitution]
min_dollar_open_interest = 0.0

[[index]]
id = "LO-ER"
kind = "momentum"
name = "Long-Only"
family = "long_only"
base_value = 1000.0
[index.magnitude]
window_months = 3
[index.direction]
window_months = 3
[index.reconstitution]
min_dollar_open_interest = 0.0
"""


@pytest.fixture(scope="module")
def market(embedded_market):
    inside = pl.col("date").is_between(*SPAN)
    cut = replace(
        embedded_market,
        prices=embedded_market.prices.filter(inside & ((pl.col("root") != "LB") | (pl.col("date") <= LAST_LB))),
        rates=embedded_market.rates.filter(inside),
        inflation=embedded_market.inflation.filter(inside),
        macro=embedded_market.macro.filter(inside),
    )
    return cut


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    from indexcalc.catalogue import load_catalogue

    folder = tmp_path_factory.mktemp("catalogue")
    (folder / "momentum.toml").write_text(CATALOGUE)
    return folder, load_catalogue(folder)


def test_a_root_has_ended_after_more_than_five_business_days_without_a_settlement(market):
    assert ENDED_AFTER_BUSINESS_DAYS == 5
    days = priced_days(market.prices, ["LB", "GC"])
    # after Monday 15 July: Tue 16 .. Mon 22 are five business days (not yet ended), Tue 23 six
    assert ended_roots(days, market.instruments, dt.date(2024, 7, 22)).is_empty()
    assert ended_roots(days, market.instruments, dt.date(2024, 7, 23)).rows() == [("LB", LAST_LB, 6)]
    # and as of each date, from the root's own days up to that date only
    dates = pl.Series([dt.date(2024, 7, 15), dt.date(2024, 7, 22), dt.date(2024, 7, 23), dt.date(2024, 7, 31)])
    assert ended_at(days, market.instruments, dates).rows() == [
        (dt.date(2024, 7, 23), "LB"), (dt.date(2024, 7, 31), "LB")
    ]
    # a root that has not started has not ended
    assert ended_at(days, market.instruments, pl.Series([dt.date(2022, 6, 30)])).is_empty()


def test_the_business_days_come_from_the_market_s_sessions_when_given(market):
    days = priced_days(market.prices, ["LB", "GC"])
    dates = pl.Series([dt.date(2024, 7, 15), dt.date(2024, 7, 22), dt.date(2024, 7, 23), dt.date(2024, 7, 31)])
    assert market.sessions is not None  # loaded with the embedded market
    assert ended_at(days, market.instruments, dates, sessions=market.sessions).rows() == [
        (dt.date(2024, 7, 23), "LB"), (dt.date(2024, 7, 31), "LB")
    ]
    assert ended_roots(days, market.instruments, dt.date(2024, 7, 23), sessions=market.sessions).rows() == [
        ("LB", LAST_LB, 6)
    ]
    # the sessions are what counts: with Tue 16 July a holiday of LB's exchange, Tue 23 is day 5
    calendar = market.instruments["LB"].calendar
    holiday = market.sessions.filter((pl.col("calendar") != calendar) | (pl.col("date") != dt.date(2024, 7, 16)))
    assert ended_roots(days, market.instruments, dt.date(2024, 7, 23), sessions=holiday).is_empty()
    with pytest.raises(DataError, match=f"no calendar {calendar}"):
        ended_roots(days, market.instruments, dt.date(2024, 7, 23), sessions=market.sessions.filter(pl.col("calendar") != calendar))


def test_an_ended_root_leaves_the_momentum_indexes_at_the_next_rebalance(market, specs):
    _, catalogue = specs
    results = rebuild_all(market, catalogue)
    for index_id in ("LS-ER", "LO-ER"):
        weights = results[index_id].weights
        lb = weights.filter(pl.col("root") == "LB")
        # member at the June 2024 rebalance (held through 31 July), gone from 31 July on
        assert lb.get_column("date").max() == dt.date(2024, 6, 28)
        after = weights.filter(pl.col("date") >= dt.date(2024, 7, 31))
        assert after.height and "LB" not in after.get_column("root").to_list()
        sums = after.group_by("date").agg(pl.col("magnitude").sum())
        assert (sums.get_column("magnitude") - 1.0).abs().max() <= 1e-12
    # it was held, long, through the gap until it left
    lb = results["LO-ER"].weights.filter((pl.col("root") == "LB") & (pl.col("date") == dt.date(2024, 6, 28)))
    assert lb.item(0, "weight") > 0


@pytest.mark.slow
def test_rebuild_and_daily_run_publish_the_same_levels_and_say_so_once(market, specs, tmp_path: Path):
    folder, catalogue = specs
    data = tmp_path / "data"
    write_long(market, data)
    full, daily = tmp_path / "full", tmp_path / "daily"
    rebuilt = CliRunner().invoke(main, ["rebuild", "--data", str(data), "--catalogue", str(folder), "--out", str(full),
                                        "--no-progress"])
    assert rebuilt.exit_code == 0, rebuilt.output
    notice = "notice: root LB has had no settlement since 2024-07-15"
    assert rebuilt.output.count(notice) == 1 and rebuilt.output.count("notice:") == 1

    # the daily ledger as published up to 12 July (before LB's last day) ...
    rebuild(market.up_to(dt.date(2024, 7, 12)), catalogue, daily, STAMP, publish=False)
    # ... refuses a day inside the gap (the data may be late) ...
    with pytest.raises(DataError, match=r"root LB, contract \d+, date 2024-07-16: missing required data"):
        run_daily(market, catalogue, dt.date(2024, 7, 16), daily, STAMP, catch_up=True, calendar_source="data",
                  publish=False)
    # ... and once the gap is longer than the rule's, catches up to it and says so once
    ran = CliRunner().invoke(main, ["run", "--date", "2024-07-24", "--catch-up", "--data", str(data), "--catalogue",
                                    str(folder), "--out", str(daily), "--no-publish", "--no-progress"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.count(notice) == 1 and ran.output.count("notice:") == 1
    assert "(7 business days of its exchange" in ran.output
    for day in ("2024-07-31", "2024-08-01"):  # the rebalance LB leaves at, and the first day after it
        ran = CliRunner().invoke(main, ["run", "--date", day, "--catch-up", "--data", str(data), "--catalogue",
                                        str(folder), "--out", str(daily), "--no-publish", "--no-progress"])
        assert ran.exit_code == 0, ran.output
        assert ran.output.count(notice) == 1
    published = Ledger(daily / "ledger").current().select("index_id", "date", "level").sort("index_id", "date")
    rebuilt_levels = (
        Ledger(full / "ledger").current().select("index_id", "date", "level")
        .filter(pl.col("date") <= dt.date(2024, 8, 1)).sort("index_id", "date")
    )
    assert published.height == rebuilt_levels.height > 2 * 300
    assert published.equals(rebuilt_levels)
    # LB's days without data are published, flat in its contribution, in both
    assert published.filter(pl.col("date").is_between(dt.date(2024, 7, 16), dt.date(2024, 7, 24))).height == 14


def test_a_fixed_universe_shares_an_ended_root_s_weight_among_the_others(market):
    from indexcalc.catalogue import parse_spec

    spec = parse_spec({"id": "LO-EW-ER", "kind": "momentum", "name": "Equal weight", "family": "long_only",
                       "magnitude": {"source": "fixed", "fixed_weights": dict.fromkeys(market.roots, 1.0), "cap": 0.1},
                       "direction": {"window_months": 3}})
    weights = rebuild_all(market, [spec])["LO-EW-ER"].weights
    n = len(market.roots)
    june = weights.filter(pl.col("date") == dt.date(2024, 6, 28))
    july = weights.filter(pl.col("date") == dt.date(2024, 7, 31))
    # 1/23 each while LB trades; from 31 July LB 0 and the other 22 at 1/22
    assert (june.get_column("magnitude") - 1 / n).abs().max() <= 1e-15
    assert july.filter(pl.col("root") == "LB").item(0, "magnitude") == 0.0
    assert (july.filter(pl.col("root") != "LB").get_column("magnitude") - 1 / (n - 1)).abs().max() <= 1e-15


def test_the_methodology_states_the_rule_with_the_code_s_number_of_days(specs, market):
    from indexcalc.publish.methodology import render_methodology

    _, catalogue = specs
    html = render_methodology(catalogue[0], market.instruments)
    paragraph = " ".join(html.split("<p data-ended>")[1].split("</p>")[0].split())
    assert paragraph.startswith(
        f"A commodity with no settlement for more than {ENDED_AFTER_BUSINESS_DAYS} business days of its exchange"
    )
    assert "leaves the index at the next monthly rebalance" in paragraph
