"""The real-data publication of examples/ (examples/realdata.py, examples/README.md): its one
command runs on the shared data into tmp_path, publishes the Long/Short family on exchange
sessions without a synthetic label, keeps the family identities, prices WTI, Brent and natural
gas from the settlement file, and prints the summary table that the published levels give (and
that examples/README.md shows). Skips where ../shared/data is absent."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "examples" / "realdata.py"
ENERGY = ("BRENT_W", "CRUDE_W", "GAS_US")
FAMILY = ("LS", "LF", "SF", "LO", "SO")


def _example():
    spec = importlib.util.spec_from_file_location("realdata_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(pysystemtrade_dir: Path, shared_real_dir: Path, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The README's command, from the project folder, into a temporary folder."""
    out = tmp_path_factory.mktemp("realdata")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(pysystemtrade_dir.parent), "--out", str(out)],
        cwd=PROJECT, capture_output=True, text=True, timeout=900,
    )
    return done, out


@pytest.fixture(scope="module")
def out(run) -> Path:
    done, folder = run
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@pytest.fixture(scope="module")
def levels(out: Path) -> dict[str, pl.DataFrame]:
    return {code: pl.read_csv(out / "site" / "levels" / f"{code}-RD-ER.csv", try_parse_dates=True) for code in FAMILY}


@pytest.fixture(scope="module")
def weights(out: Path) -> dict[str, pl.DataFrame]:
    return {code: pl.read_csv(out / "site" / "weights" / f"{code}-RD-ER.csv", try_parse_dates=True) for code in FAMILY}


@pytest.fixture(scope="module")
def merged(out: Path):
    from indexcalc.data.merge import read_merged

    return read_merged(out / "inputs" / "merge.toml").market


def test_the_command_publishes_the_five_indexes_and_prints_the_table(run) -> None:
    done, folder = run
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published 5 indexes" in done.stdout
    assert "| LS-RD-ER |" in done.stdout and "Common period: " in done.stdout
    for code in FAMILY:
        for path in (folder / "site" / "levels" / f"{code}-RD-ER.csv", folder / "site" / "factsheets" / f"{code}-RD-ER.html"):
            assert path.is_file(), path
    assert (folder / "summary.csv").is_file()


def test_a_missing_shared_folder_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(tmp_path / "none"), "--out", str(tmp_path / "o")],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_levels_are_finite_and_end_with_the_data(levels: dict[str, pl.DataFrame]) -> None:
    for code, frame in levels.items():
        level = frame.get_column("level").to_numpy()
        assert frame.height > 3_000 and np.isfinite(level).all() and (level > 0).all(), code
        assert frame.item(0, "level") == 1000.0
        assert frame.get_column("date").max() == dt.date(2023, 8, 31), code


def test_no_published_date_outside_the_constituents_sessions(out: Path, merged, levels, weights) -> None:
    from indexcalc.data.calendars import business_days

    codes = {instrument.calendar for instrument in merged.instruments.values()}
    assert codes == {"CMES", "IEPA"}
    checked = 0
    for code in FAMILY:
        for frame in (levels[code], weights[code], pl.read_csv(out / "site" / "universe" / f"{code}-RD-ER.csv", try_parse_dates=True)):
            for column in (name for name, dtype in frame.schema.items() if dtype == pl.Date):
                dates = frame.get_column(column).drop_nulls().unique()
                sessions = pl.concat([business_days(c, dates.min(), dates.max()) for c in codes]).unique()
                outside = dates.filter(~dates.is_in(sessions.implode()))
                assert outside.len() == 0, f"{code} {column}: {outside.sort().head(5).to_list()}"
                checked += dates.len()
    assert checked > 20_000


def test_no_synthetic_label(out: Path) -> None:
    site = out / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 10
    assert not [page for page in pages if "data-synthetic-market" in page.read_text() or "SYNTHETIC" in page.read_text()]
    metadata = json.loads((site / "levels" / "metadata.json").read_text())
    assert metadata["synthetic"] is False
    assert pl.read_parquet_metadata(site / "levels" / "all_levels.parquet")["indexcalc.synthetic"] == "false"


def _period_returns(frame: pl.DataFrame, anchors: pl.Series) -> np.ndarray:
    """``L_t / L_a - 1`` with ``a`` the latest anchor (effective date, or the base date) before ``t``."""
    dates = frame.get_column("date")
    level = frame.get_column("level").to_numpy()
    starts = np.concatenate([[0], dates.search_sorted(anchors.unique().sort()).to_numpy()])
    anchor = starts[np.searchsorted(starts, np.arange(len(level)), side="left") - 1]
    anchor[0] = 0
    return level / level[anchor] - 1.0


def test_family_identities_hold_in_every_period(levels, weights) -> None:
    # weights: LS = LF + SF, LO = -SO, |LO| = LS magnitude per rebalance and root; levels: within
    # every holding period the period returns add up the same way (composite: C_t/C_a - 1 =
    # sum_i W_i (ER_i,t / ER_i,a - 1), linear in W)
    keys = ["date", "root"]
    joined = weights["LS"].select(*keys, "effective_date", "magnitude", pl.col("weight").alias("ls"))
    for code in ("LF", "SF", "LO", "SO"):
        joined = joined.join(weights[code].select(*keys, pl.col("weight").alias(code.lower())), on=keys, how="full",
                             coalesce=True)
    assert joined.null_count().sum_horizontal().item() == 0
    np.testing.assert_allclose(joined["ls"], joined["lf"] + joined["sf"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(joined["lo"], -joined["so"], rtol=0, atol=0)
    np.testing.assert_allclose(joined["lo"], joined["magnitude"], rtol=0, atol=0)
    axis = levels["LS"].get_column("date")
    for code in FAMILY:
        assert levels[code].get_column("date").equals(axis), code
    anchors = joined.get_column("effective_date")
    period = {code: _period_returns(levels[code], anchors) for code in FAMILY}
    np.testing.assert_allclose(period["LS"], period["LF"] + period["SF"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(period["LO"], -period["SO"], rtol=0, atol=1e-12)
    assert anchors.n_unique() > 180


def test_roots_without_cftc_open_interest_share_equally_and_the_cap_holds(out: Path, weights) -> None:
    ls = weights["LS"]
    assert ls.get_column("magnitude").max() <= 0.2 + 1e-12
    sums = ls.group_by("date").agg(pl.col("magnitude").sum()).get_column("magnitude")
    np.testing.assert_allclose(sums, 1.0, rtol=0, atol=1e-12)
    # the seven roots the CFTC file does not report have one magnitude per rebalance
    others = ls.filter(~pl.col("root").is_in(["COPPER", "GOLD", "PALLAD"]))
    spread = others.group_by("date").agg((pl.col("magnitude").max() - pl.col("magnitude").min()).alias("spread"))
    assert spread.get_column("spread").max() <= 1e-15
    # and the methodology document says so, naming the seven
    html = (out / "site" / "methodology" / "LS-RD-ER.html").read_text()
    assert "does not cover (BRENT_W, COFFEE, CORN, CRUDE_W, GAS_US, SOYBEAN, WHEAT)" in " ".join(html.split())
    # COFFEE (data from February 2007) enters at the first December with a full year: 2008
    first = ls.group_by("root").agg(pl.col("date").min()).sort("root")
    assert dict(first.iter_rows())["COFFEE"] == dt.date(2008, 12, 31)
    assert dict(first.iter_rows())["GOLD"] == dt.date(2007, 6, 29)


def test_energy_held_contracts_are_priced_by_the_settlement_file(out: Path, merged) -> None:
    # Independently: the shared settlement file read by the tenor importer, restricted as the
    # example states (natural gas from 2008, nothing after the last pysystemtrade date). On every
    # session where it prices the contract a root's series held at the previous close, the merged
    # price is that settlement (provenance "settlements") and the series' daily return is the
    # settlement return.
    from indexcalc.data.tenors import read_tenor_market

    spec = (out / "inputs" / "merge.toml").read_text()
    expiries = Path(spec.split('expiries = "')[1].split('"')[0])
    original = expiries.parent / "energy_settlements.csv"
    settlements = read_tenor_market(original, expiries).market.prices.filter(
        (pl.col("date") <= dt.date(2023, 8, 31))
        & ((pl.col("root") != "GAS_US") | (pl.col("date") >= dt.date(2008, 1, 1)))
    ).select("date", "root", "contract", pl.col("settle").alias("settlement"))
    provenance = merged.provenance.select("date", "root", "contract", "source")
    prices = merged.prices.select("date", "root", "contract", "settle")
    for root in ENERGY:
        series = (
            pl.read_csv(out / "series" / f"{root}.csv", try_parse_dates=True)
            .sort("date")
            .with_columns(
                pl.col("held_contracts").str.extract(r"^(\d+):1$").cast(pl.Int32).shift(1).alias("contract"),
                pl.col("date").shift(1).alias("previous"),
            )
        )
        assert series.get_column("held_contracts").str.contains(r"^\d+:1$").all()  # data roll: one contract
        today = settlements.filter(pl.col("root") == root)
        days = (
            series.join(today, on=["date", "root", "contract"], how="inner")
            .join(today.select(pl.col("date").alias("previous"), "contract", pl.col("settlement").alias("before")),
                  on=["previous", "contract"], how="inner")
            .join(provenance, on=["date", "root", "contract"], how="left")
            .join(prices, on=["date", "root", "contract"], how="left")
        )
        assert days.height > 3_500, root
        assert days.get_column("source").to_list() == ["settlements"] * days.height, root
        assert (days.get_column("settle") == days.get_column("settlement")).all(), root
        expected = (days.get_column("settlement") / days.get_column("before") - 1.0).to_numpy()
        np.testing.assert_allclose(days.get_column("daily_return").to_numpy(), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=root)
        # and natural gas of 2007 comes from pysystemtrade, as stated
        if root == "GAS_US":
            early = provenance.filter((pl.col("root") == root) & (pl.col("date").dt.year() == 2007))
            assert early.height > 0 and early.get_column("source").unique().to_list() == ["pysystemtrade"]


def test_printed_table_is_what_the_published_levels_give(run, levels) -> None:
    # pandas as the oracle: common period = latest first date .. earliest last date; 252 sessions
    # a year; geometric annualised return; sample volatility; Sharpe = mean / stdev * sqrt(252)
    # (ER: no risk-free rate); max drawdown = min(L / running max - 1); disrupted sessions =
    # dates of the period on which any root's series is flagged disrupted.
    import pandas as pd

    done, out = run
    summary = pl.read_csv(out / "summary.csv", try_parse_dates=True)
    frames = {code: frame.to_pandas().set_index("date")["level"] for code, frame in levels.items()}
    start = max(frame.index.min() for frame in frames.values())
    end = min(frame.index.max() for frame in frames.values())
    flagged = pd.concat(pd.read_csv(path, parse_dates=["date"]) for path in sorted((out / "series").glob("*.csv")))
    flagged = flagged[flagged["disrupted"].astype(bool) & (flagged["date"] >= start) & (flagged["date"] <= end)]
    disrupted = flagged["date"].nunique()
    assert disrupted > 0
    for code, level in frames.items():
        level = level[(level.index >= start) & (level.index <= end)]
        returns = level.pct_change().dropna()
        row = summary.filter(pl.col("index") == f"{code}-RD-ER").row(0, named=True)
        assert (pd.Timestamp(row["start"]), pd.Timestamp(row["end"]), row["sessions"]) == (start, end, len(level))
        assert row["annualised_return"] == pytest.approx((level.iloc[-1] / level.iloc[0]) ** (252 / len(returns)) - 1, rel=1e-9)
        assert row["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert row["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert row["max_drawdown"] == pytest.approx((level / level.cummax() - 1).min(), rel=1e-9)
        assert row["disrupted_sessions"] == disrupted
    # the printed table is the one examples/README.md shows
    printed = done.stdout[done.stdout.index("| index |"):].strip()
    assert printed == _example().markdown(summary)
    readme = (PROJECT / "examples" / "README.md").read_text()
    assert printed in readme, "examples/README.md's table differs from the script's output: paste it again"
