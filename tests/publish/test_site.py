"""The publication folder: data files, site index page, links, atomic swap, CLI commands."""

from __future__ import annotations

import os

import threading
import urllib.request
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from publish_pages import external_references, links, marked

from indexcalc import analytics
from indexcalc.cli import main
from indexcalc.errors import StateError
from indexcalc import atomic
from indexcalc.publish.formatting import level, signed_percent
from indexcalc.publish.levels import ALL_LEVELS_FILE
from indexcalc.publish.serve import make_server
from indexcalc.publish.site import site_rows


def test_levels_csv_and_parquet_hold_every_level(published_site, fabricated_results):
    for index_id, result in fabricated_results.items():
        written = pl.read_csv(published_site / "levels" / f"{index_id}.csv", try_parse_dates=True)
        assert written.columns == ["date", "level", "daily_return"]
        assert written.equals(result.levels.select("date", "level", "daily_return"))
    combined = pl.read_parquet(published_site / "levels" / ALL_LEVELS_FILE)
    assert combined.columns == ["index_id", "date", "level", "daily_return"]
    assert combined.height == sum(result.levels.height for result in fabricated_results.values())
    ls = combined.filter(pl.col("index_id") == "LS-ER").drop("index_id")
    assert ls.equals(fabricated_results["LS-ER"].levels)


def test_weights_and_family_tables_are_written_per_index(published_site, fabricated_results):
    weights = pl.read_csv(published_site / "weights" / "LS-ER.csv", try_parse_dates=True)
    assert weights.columns == ["date", "effective_date", "root", "magnitude", "signal", "direction", "weight"]
    assert weights.height == fabricated_results["LS-ER"].weights.height
    analytics_table = pl.read_csv(published_site / "analytics" / "CARRY-RANK-TR.csv")
    assert analytics_table.equals(fabricated_results["CARRY-RANK-TR"].tables["analytics"])
    assert (published_site / "correlation_matrix" / "BM-IV-ER.csv").is_file()
    assert not (published_site / "analytics" / "LS-ER.csv").exists()


def test_a_family_table_cannot_overwrite_a_publication_folder(tmp_path, fabricated_results):
    from dataclasses import replace

    from indexcalc.publish.levels import write_data_files

    result = fabricated_results["LS-ER"]
    clashing = replace(result, tables={"weights": result.weights})
    with pytest.raises(ValueError, match="'weights' is reserved"):
        write_data_files({"LS-ER": clashing}, tmp_path)


def test_progress_bar_appears_only_after_the_delay():
    import io

    from rich.console import Console

    from indexcalc.progress import DelayedProgress

    quick_output, slow_output = io.StringIO(), io.StringIO()
    with DelayedProgress(3, "quick", delay=60.0, console=Console(file=quick_output, force_terminal=True)) as bar:
        for step in ("a", "b", "c"):
            bar.advance(step)
    assert not bar.shown and quick_output.getvalue() == ""
    with DelayedProgress(3, "slow", delay=0.0, console=Console(file=slow_output, force_terminal=True)) as bar:
        for step in ("a", "b", "c"):
            bar.advance(step)
    assert bar.shown and "slow" in slow_output.getvalue() and "3/3" in slow_output.getvalue()
    hidden = io.StringIO()
    with DelayedProgress(3, "off", enabled=False, delay=0.0, console=Console(file=hidden, force_terminal=True)) as bar:
        bar.advance("a")
    assert not bar.shown and hidden.getvalue() == ""


def test_site_index_lists_every_index_with_latest_level_and_changes(published_site, fabricated_results):
    html = (published_site / "index.html").read_text()
    assert set(marked(html, "data-index")) == set(fabricated_results)
    levels, day_returns, ytds = marked(html, "data-level"), marked(html, "data-day-return"), marked(html, "data-ytd")
    for index_id, result in fabricated_results.items():
        closes = result.levels.get_column("level")
        periods = analytics.period_returns(result.levels)
        assert levels[index_id] == level(closes[-1])
        assert day_returns[index_id] == signed_percent(closes[-1] / closes[-2] - 1)
        ytd = periods.filter(pl.col("period") == "YTD").get_column("period_return")[0]
        assert ytds[index_id] == signed_percent(ytd)
    assert [row["id"] for row in site_rows(fabricated_results)] == list(fabricated_results)



def test_site_index_groups_kinds_in_a_fixed_order_whatever_the_catalogue_order(fabricated_results):
    from indexcalc.publish.site import render_site_index

    reordered = dict(reversed(list(fabricated_results.items())))  # base metals, carry, momentum
    html = render_site_index(reordered)
    positions = {kind: html.index(f'data-kind="{kind}"') for kind in ("momentum", "carry_basket", "base_metals")}
    assert sorted(positions, key=positions.get) == ["momentum", "carry_basket", "base_metals"]
    assert html.index('data-index="LO-ER"') < html.index('data-index="LS-ER"')  # catalogue order within a kind


def test_every_link_of_every_page_points_to_a_published_file(published_site):
    pages = [published_site / "index.html", *published_site.glob("factsheets/*.html"),
             *published_site.glob("methodology/*.html")]
    assert len(pages) == 1 + 3 * 4  # factsheet, its detail page, methodology
    for page in pages:
        html = page.read_text()
        assert external_references(html) == [], page
        for target in links(html):
            assert not target.startswith(("http:", "https:", "//")), (page, target)
            assert (page.parent / target).resolve().is_file(), (page, target)


def test_publish_directory_swaps_in_new_entries_and_keeps_others(tmp_path):
    target = tmp_path / "outputs"
    (target / "ledger").mkdir(parents=True)
    (target / "ledger" / "part-1.parquet").write_text("ledger")
    (target / "factsheets").mkdir()
    (target / "factsheets" / "OLD.html").write_text("old")
    with atomic.publish_directory(target) as staging:
        (staging / "factsheets").mkdir()
        (staging / "factsheets" / "NEW.html").write_text("new")
        atomic.atomic_write_text(staging / "index.html", "home")
    assert sorted(path.name for path in target.iterdir()) == ["current", "factsheets", "index.html", "ledger",
                                                             "versions"]
    assert [path.name for path in (target / "factsheets").iterdir()] == ["NEW.html"]
    assert (target / "factsheets").is_symlink() and (target / "index.html").read_text() == "home"
    assert (target / "ledger" / "part-1.parquet").read_text() == "ledger"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["outputs"]  # no staging left behind
    # the folder written in place became version 1 before the switch to version 2
    assert os.readlink(target / "current") == "versions/2"
    assert sorted(path.name for path in (target / "versions").iterdir()) == ["1", "2"]
    assert [path.name for path in (target / "versions" / "1" / "factsheets").iterdir()] == ["OLD.html"]


def test_a_failed_publication_leaves_the_previous_one_intact(tmp_path):
    target = tmp_path / "outputs"
    with atomic.publish_directory(target) as staging:
        atomic.atomic_write_text(staging / "index.html", "first")
    with pytest.raises(RuntimeError, match="render failed"):
        with atomic.publish_directory(target) as staging:
            atomic.atomic_write_text(staging / "index.html", "second")
            raise RuntimeError("render failed")
    assert (target / "index.html").read_text() == "first"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["outputs"]
    assert sorted(path.name for path in (target / "versions").iterdir()) == ["1"]


def test_a_switch_that_fails_leaves_the_old_publication_shown(tmp_path, monkeypatch):
    target = tmp_path / "outputs"
    with atomic.publish_directory(target) as staging:
        atomic.atomic_write_text(staging / "a.html", "old a")
        atomic.atomic_write_text(staging / "b.html", "old b")
    real_replace = atomic.os.replace

    def failing_replace(source, destination):
        if Path(destination).name == "current":
            raise OSError("disk full")
        return real_replace(source, destination)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        with atomic.publish_directory(target) as staging:
            atomic.atomic_write_text(staging / "a.html", "new a")
            atomic.atomic_write_text(staging / "b.html", "new b")
    monkeypatch.undo()
    assert (target / "a.html").read_text() == "old a"
    assert (target / "b.html").read_text() == "old b"


def test_atomic_writes_leave_no_temporary_files(tmp_path):
    atomic.atomic_write_text(tmp_path / "deep" / "file.txt", "text")
    atomic.atomic_write_parquet(tmp_path / "deep" / "frame.parquet", pl.DataFrame({"a": [1, 2]}))
    atomic.atomic_write_bytes(tmp_path / "deep" / "file.txt", b"replaced")
    assert sorted(path.name for path in (tmp_path / "deep").iterdir()) == ["file.txt", "frame.parquet"]
    assert (tmp_path / "deep" / "file.txt").read_bytes() == b"replaced"
    assert pl.read_parquet(tmp_path / "deep" / "frame.parquet").get_column("a").to_list() == [1, 2]
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    for path in (tmp_path / "deep").iterdir():
        assert path.stat().st_mode & 0o777 == ordinary.stat().st_mode & 0o777 == atomic.FILE_MODE, path


@pytest.mark.slow
def test_server_serves_the_publication_on_loopback_only(published_site):
    server = make_server(published_site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/factsheets/LS-ER.html", timeout=10) as response:
            assert response.status == 200
            assert "Long/Short Commodity Index ER" in response.read().decode()
    finally:
        server.shutdown()
        server.server_close()


def test_serving_a_folder_without_a_publication_is_a_user_error(tmp_path):
    with pytest.raises(StateError, match="index.html missing"):
        make_server(tmp_path)
    result = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no published site here" in result.output


def test_publish_with_missing_data_path_is_a_user_error(tmp_path):
    result = CliRunner().invoke(main, ["publish", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output
    assert not (tmp_path / "out").exists()


TEST_CATALOGUE = """
[[index]]
id = "T-LO-ER"
kind = "momentum"
name = "Test Long-Only ER"
family = "long_only"

[[index]]
id = "T-LS-ER"
kind = "momentum"
name = "Test Long/Short ER"
family = "long_short"

[[index]]
id = "T-LS-TR"
kind = "momentum"
name = "Test Long/Short TR"
family = "long_short"
return_type = "tr"
"""


@pytest.mark.slow
def test_publish_command_computes_and_publishes_the_catalogue_and_keeps_the_ledger(tmp_path):
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "test.toml").write_text(TEST_CATALOGUE)
    out = tmp_path / "outputs"
    (out / "ledger").mkdir(parents=True)
    (out / "ledger" / "part.parquet").write_text("kept")
    result = CliRunner().invoke(main, ["publish", "--catalogue", str(catalogue), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "published 3 indexes" in result.output
    assert sorted(path.name for path in out.iterdir()) == [".lock", "api", "current", "factsheets", "holdings",
                                                            "index.html", "ledger", "levels", "methodology", "versions",
                                                            "weights"]  # .lock: the writer lock
    assert sorted(path.name for path in (out / "holdings").iterdir()) == ["T-LO-ER.csv", "T-LS-ER.csv", "T-LS-TR.csv"]
    assert (out / "ledger" / "part.parquet").read_text() == "kept"
    # the ER index is compared with the ER Long-Only index; no TR Long-Only index exists
    assert "Pearson correlation of daily returns on common dates with Test Long-Only ER (T-LO-ER)" in (
        out / "factsheets" / "T-LS-ER.html").read_text()
    tr_page = (out / "factsheets" / "T-LS-TR.html").read_text()
    assert "T-LO-ER" not in tr_page and "3-month T-bill collateral return" in tr_page
    weights = pl.read_csv(out / "weights" / "T-LS-TR.csv")
    assert weights.columns[:3] == ["date", "effective_date", "root"] and weights.columns[-1] == "weight"
    assert {"magnitude", "direction"} <= set(weights.columns)


@pytest.mark.slow
def test_parallel_rendering_writes_the_same_files(tmp_path, published_site, fabricated_results, fabricated_market,
                                                  fabricated_inputs):
    from indexcalc.publish import write_publication

    write_publication(fabricated_results, fabricated_market, tmp_path, fabricated_inputs, workers=2)
    serial = sorted(path.relative_to(published_site) for path in published_site.rglob("*") if path.is_file())
    parallel = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    assert parallel == serial
    for relative in serial:
        assert (tmp_path / relative).read_bytes() == (published_site / relative).read_bytes(), relative


def test_publish_refuses_a_folder_whose_ledger_it_would_contradict(tmp_path):
    # A real ledger part (part-<stamp>-<run>.parquet) makes OUT a publication of record.
    out = tmp_path / "outputs"
    (out / "ledger").mkdir(parents=True)
    (out / "ledger" / "part-20260101T000000000000Z-abc.parquet").write_bytes(b"x")
    result = CliRunner().invoke(main, ["publish", "--out", str(out), "--no-progress"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {out}: holds a ledger of published levels; publish there with `indexcalc rebuild` or "
        "`indexcalc run --date D`, which keep the files and the ledger in step (or choose another --out)"
    ]
    assert sorted(path.name for path in out.iterdir()) == ["ledger"]
