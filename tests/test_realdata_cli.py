"""``indexcalc publish`` on pysystemtrade's data folder through the CLI (real data, README
"pysystemtrade" and examples/README.md): the default catalogue has nothing it can compute there
and says why for each index; the example catalogue ``examples/pysystemtrade/catalogue``
(equal-weight momentum family and a CFTC-weighted metals Long/Short) publishes with
``--carry-forward``, and without it stops where a root has more consecutive disrupted sessions
than the default limit (5), as ``indexcalc data check`` reports."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result
from families.momentum_checks import assert_equal_weight_long_only_is_the_mean_of_root_period_returns

from indexcalc.cli import main
from indexcalc.catalogue import load_catalogue

pytestmark = pytest.mark.realdata

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOGUE = PROJECT / "examples" / "pysystemtrade" / "catalogue"
EQUAL_WEIGHT_LONG_ONLY = "LO-EW-ER"


def _publish(*arguments: str | Path) -> Result:
    """``indexcalc publish ARGUMENTS --no-progress`` in-process, from the project folder (the
    example's ``cftc_file`` is relative to it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(PROJECT)
        return CliRunner().invoke(main, ["publish", *map(str, arguments), "--no-progress"])


@pytest.fixture(scope="module")
def published(pysystemtrade_dir: Path, shared_real_dir: Path, tmp_path_factory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("publication")
    result = _publish("--data", pysystemtrade_dir, "--catalogue", EXAMPLE_CATALOGUE, "--out", out, "--carry-forward")
    return result, out


@pytest.mark.slow
def test_example_catalogue_publishes_every_index(published: tuple[Result, Path]) -> None:
    result, out = published
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stderr
    ids = [spec.id for spec in load_catalogue(EXAMPLE_CATALOGUE)]
    assert len(ids) == 6
    for index_id in ids:
        for path in (out / "levels" / f"{index_id}.csv", out / "weights" / f"{index_id}.csv",
                     out / "factsheets" / f"{index_id}.html", out / "methodology" / f"{index_id}.html"):
            assert path.is_file(), path
        levels = pl.read_csv(out / "levels" / f"{index_id}.csv", try_parse_dates=True)
        assert levels.height > 3_000 and levels.get_column("date").max().isoformat() == "2023-08-31", index_id
        assert levels.item(0, "level") == 1000.0
    assert f"published {len(ids)} indexes to {out}" in result.stdout


def test_published_equal_weight_long_only_is_the_mean_of_root_period_returns(
    published: tuple[Result, Path], pysystemtrade_market, pysystemtrade_series: pl.DataFrame
) -> None:
    # pysystemtrade_series is the data-roll series with prices carried forward: what
    # `publish --carry-forward` computes from.
    result, out = published
    assert result.exit_code == 0, result.output
    levels = pl.read_csv(out / "levels" / f"{EQUAL_WEIGHT_LONG_ONLY}.csv", try_parse_dates=True)
    weights = pl.read_csv(out / "weights" / f"{EQUAL_WEIGHT_LONG_ONLY}.csv", try_parse_dates=True)
    assert weights.get_column("weight").unique().to_list() == [0.1]  # 10 roots, equal, cap 0.10
    periods = assert_equal_weight_long_only_is_the_mean_of_root_period_returns(
        levels, weights.get_column("effective_date"), pysystemtrade_series, pysystemtrade_market.roots
    )
    assert periods > 150


@pytest.mark.slow
def test_without_carry_forward_more_than_five_disrupted_sessions_stop_the_run(pysystemtrade_dir: Path,
                                                                             tmp_path: Path) -> None:
    # CORN holds December 2020 from late 2019; the file's intraday rows price it on few days, and
    # around Christmas 2019 not on the CME sessions 24, 26, 27, 30, 31 December and 2 January:
    # the 6th stops the run. (PALLAD's
    # 1978-01-06, a daily row whose held March 1978 has no PRICE, is one session: its last
    # settlement is kept.) data check stops with the same line.
    result = _publish("--data", pysystemtrade_dir, "--catalogue", EXAMPLE_CATALOGUE, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = (
        rf"error: {re.escape(str(pysystemtrade_dir))}: root CORN, contract 202012, dates 2019-12-24 to "
        r"2020-01-02: market disruption on 6 consecutive sessions \(more than 5\): held contract has no "
        r"settlement\n"
    )
    assert re.fullmatch(line, result.stderr), result.stderr
    check = CliRunner().invoke(main, ["data", "check", str(pysystemtrade_dir)])
    assert check.exit_code == 2 and check.stderr == result.stderr
    assert "PALLAD" in check.stdout and "1978-01-06" in check.stdout  # PALLAD's first disrupted session
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_default_catalogue_skips_every_index_and_names_the_reason(pysystemtrade_dir: Path, tmp_path: Path) -> None:
    result = _publish("--data", pysystemtrade_dir, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[-1] == f"error: {pysystemtrade_dir}: no catalogue index can be computed on this market data"
    reasons = dict(line.removeprefix("skipped ").split(": ", 1) for line in lines[:-1])
    assert list(reasons) == [spec.id for spec in load_catalogue()]
    assert reasons["LS-ER"] == "no open interest in the market data (magnitude source 'open_interest'; use 'cftc' or 'fixed')"
    assert reasons["CARRY-RANK-GLOBAL-ER"] == "no inflation (CPI) series in the market data; real carry needs it"
    assert reasons["BM-IV-ER"] == "roots not in the market data: HG, LA, LL, LN, LX"
    assert reasons["LS-METALS-ER"] == "magnitude cap 0.2 cannot hold over its 3 roots in this market (COPPER, GOLD, PALLAD)"
    assert all(reason for reason in reasons.values())


def test_published_dates_are_sessions_of_the_constituents_exchanges(
    published: tuple[Result, Path], pysystemtrade_market
) -> None:
    # Every date column of every published level and weight file (levels, rebalance, fixing
    # and effective dates) is a business day of one of the index's constituents' calendars.
    from indexcalc.data.calendars import business_days

    result, out = published
    assert result.exit_code == 0, result.output
    checked = 0
    for spec in load_catalogue(EXAMPLE_CATALOGUE):
        codes = {pysystemtrade_market.instruments[root].calendar for root in spec.universe}
        for path in (out / "levels" / f"{spec.id}.csv", out / "weights" / f"{spec.id}.csv"):
            frame = pl.read_csv(path, try_parse_dates=True)
            for column in (name for name, dtype in frame.schema.items() if dtype == pl.Date):
                dates = frame.get_column(column).drop_nulls().unique()
                sessions = pl.concat([business_days(code, dates.min(), dates.max()) for code in codes]).unique()
                outside = dates.filter(~dates.is_in(sessions.implode()))
                assert outside.len() == 0, f"{path.name} {column}: {outside.sort().head(5).to_list()}"
                checked += dates.len()
    assert checked > 20_000


def test_a_publication_from_real_data_carries_no_synthetic_label(published: tuple[Result, Path]) -> None:
    # the label of the embedded market (tests/publish/test_synthetic_label.py) must never reach
    # pages or levels files built on real data
    import json

    result, out = published
    assert result.exit_code == 0, result.output
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 3
    assert not [page for page in pages if "data-synthetic-market" in page.read_text() or "SYNTHETIC" in page.read_text()]
    metadata = json.loads((out / "levels" / "metadata.json").read_text())
    assert metadata["synthetic"] is False and "SYNTHETIC" not in json.dumps(metadata)
    assert pl.read_parquet_metadata(out / "levels" / "all_levels.parquet")["indexcalc.synthetic"] == "false"
