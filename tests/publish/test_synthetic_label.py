"""The synthetic label (docs/design.md section 7): everything published from the embedded
SYNTHETIC market says so (a banner on every page, ``levels/metadata.json`` and the key-value
metadata of ``levels/all_levels.parquet``, a field of ``list --json``); nothing published from
real data does. Whether a market is synthetic is ``MarketData.synthetic``, set by the embedded
generator and by the reader of its files, never guessed from a path."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.data.embedded import MarketGeneratorSpec, generate_market, read_market, write_market
from indexcalc.data.longformat import read_long, write_long

PROJECT = Path(__file__).resolve().parents[2]
BANNER = "data-synthetic-market"


def _pages(out: Path) -> list[Path]:
    pages = sorted(out.rglob("*.html"))
    # the site page, and a factsheet and a methodology document per index
    assert out / "index.html" in pages and any("factsheets" in page.parts for page in pages)
    assert any("methodology" in page.parts for page in pages)
    return pages


def _levels_labels(out: Path) -> tuple[dict, dict[str, str]]:
    metadata = json.loads((out / "levels" / "metadata.json").read_text())
    parquet = pl.read_parquet_metadata(out / "levels" / "all_levels.parquet")
    return metadata, parquet


def test_the_embedded_market_is_synthetic_and_a_long_format_file_is_not(embedded_market, tmp_path):
    assert embedded_market.synthetic is True
    # the generator sets it, and its files keep it (Parquet metadata), whatever their folder's name
    small = generate_market(MarketGeneratorSpec(start="2020-01-01", end="2020-03-31"))
    assert small.synthetic is True
    write_market(small, tmp_path / "real-looking-name")
    assert read_market(tmp_path / "real-looking-name").synthetic is True
    # the same prices written in the long format and read back are just data: nothing says synthetic
    write_long(small, tmp_path / "long")
    assert read_long(tmp_path / "long").synthetic is False
    assert small.up_to(small.prices.get_column("date").min()).synthetic is True


def test_every_page_and_levels_file_of_a_synthetic_publication_carries_the_label(
    fabricated_results, fabricated_market, fabricated_inputs, published_site, tmp_path
):
    from indexcalc.publish import write_publication

    ids = list(fabricated_results)[:3]
    results = {index_id: fabricated_results[index_id] for index_id in ids}
    out = tmp_path / "synthetic"
    write_publication(results, replace(fabricated_market, synthetic=True), out,
                      replace(fabricated_inputs, synthetic=True))
    pages = _pages(out)
    assert len(pages) == 1 + 3 * len(ids)  # site index; factsheet, its detail page, methodology per index
    for page in pages:
        html = page.read_text()
        assert html.count(BANNER) == 1, page
        assert "SYNTHETIC DATA" in html and "not real market data" in html
    metadata, parquet = _levels_labels(out)
    assert metadata["synthetic"] is True and metadata["market"].startswith("SYNTHETIC")
    assert metadata["files"] == [f"{index_id}.csv" for index_id in ids] + ["all_levels.parquet"]
    assert parquet["indexcalc.synthetic"] == "true" and parquet["indexcalc.market"].startswith("SYNTHETIC")
    # the CSVs keep their plain columns
    assert (out / "levels" / f"{ids[0]}.csv").read_text().splitlines()[0] == "date,level,daily_return"

    # the same results from a market that is not synthetic: no label anywhere
    for page in _pages(published_site):
        assert BANNER not in page.read_text(), page
    metadata, parquet = _levels_labels(published_site)
    assert metadata["synthetic"] is False and "SYNTHETIC" not in json.dumps(metadata)
    assert parquet["indexcalc.synthetic"] == "false"


@pytest.mark.slow
def test_publish_on_the_embedded_market_labels_every_page_and_list_json_says_synthetic(tmp_path):
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "momentum.toml").write_text(
        '[[index]]\nid = "LO-ER"\nkind = "momentum"\nname = "Long-Only"\nfamily = "long_only"\n'
        'universe = ["CL", "GC", "HG", "NG", "C", "W", "S", "KC", "SB", "CT"]\n'
    )
    out = tmp_path / "out"
    outcome = CliRunner().invoke(main, ["publish", "--catalogue", str(catalogue), "--out", str(out), "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    for page in _pages(out):
        assert page.read_text().count(BANNER) == 1, page
    metadata, parquet = _levels_labels(out)
    assert metadata["synthetic"] is True and parquet["indexcalc.synthetic"] == "true"

    listed = CliRunner().invoke(main, ["list", "--json", "--catalogue", str(catalogue)])
    assert listed.exit_code == 0, listed.output
    assert [row["synthetic"] for row in json.loads(listed.output)] == [True]
    text = CliRunner().invoke(main, ["list", "--catalogue", str(catalogue)])
    assert text.output.strip().splitlines()[-1].startswith("SYNTHETIC market")


@pytest.mark.realdata
@pytest.mark.slow
def test_list_json_on_pysystemtrade_data_is_not_synthetic(pysystemtrade_dir):
    listed = CliRunner().invoke(main, ["list", "--json", "--data", str(pysystemtrade_dir)])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows and not any(row["synthetic"] for row in rows)
    assert "SYNTHETIC" not in CliRunner().invoke(main, ["list", "--data", str(pysystemtrade_dir)]).output
