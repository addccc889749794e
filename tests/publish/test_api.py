"""The machine-readable publication (indexcalc.publish.api): documents by hand, and every
api/ file of a written publication against the CSV files."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from indexcalc.publish.api import catalogue_document, latest_document, levels_document, weights_document
from indexcalc.results import IndexResult
from indexcalc.specs import parse_spec

D1, D2 = dt.date(2026, 10, 29), dt.date(2026, 10, 30)


def small_result() -> IndexResult:
    spec = parse_spec({"id": "X-ER", "kind": "momentum", "name": "X index", "family": "long_only", "precision": 2})
    levels = pl.DataFrame({"date": [D1, D2], "level": [1000.0, 1012.35], "daily_return": [0.0, 0.01235]})
    weights = pl.DataFrame({"date": [D1, D1, dt.date(2026, 9, 30)], "effective_date": [D2, D2, D1],
                            "root": ["GC", "CL", "CL"], "weight": [0.4, -0.6, 1.0]})
    return IndexResult(spec=spec, levels=levels, weights=weights, axis_roots=("CL", "GC"))


def test_levels_latest_and_weights_documents_hold_the_published_figures():
    result = small_result()
    assert json.loads(levels_document("X-ER", result)) == {
        "index": "X-ER", "precision": 2,
        "levels": [{"date": "2026-10-29", "level": 1000.0, "daily_return": 0.0},
                   {"date": "2026-10-30", "level": 1012.35, "daily_return": 0.01235}],
    }
    assert json.loads(latest_document("X-ER", result)) == {
        "index": "X-ER", "date": "2026-10-30", "level": 1012.35, "daily_return": 0.01235,
        "previous_date": "2026-10-29", "previous_level": 1000.0,
    }
    # the latest fixing (D1) only, roots sorted
    assert json.loads(weights_document("X-ER", result)) == {
        "index": "X-ER", "rebalance_date": "2026-10-29", "effective_date": "2026-10-30",
        "weights": [{"root": "CL", "weight": -0.6}, {"root": "GC", "weight": 0.4}],
    }
    catalogue = json.loads(catalogue_document({"X-ER": result}))
    (entry,) = catalogue["indexes"]
    assert catalogue["as_of"] == "2026-10-30"
    assert (entry["first_date"], entry["last_date"], entry["level"], entry["precision"]) == (
        "2026-10-29", "2026-10-30", 1012.35, 2)
    assert entry["files"]["levels"] == "api/X-ER/levels.json" and entry["files"]["holdings_csv"] == "holdings/X-ER.csv"


def test_every_api_file_of_a_publication_matches_its_csv_levels(published_site, fabricated_results):
    catalogue = json.loads((published_site / "api" / "catalogue.json").read_text())
    assert [entry["id"] for entry in catalogue["indexes"]] == list(fabricated_results)
    for entry in catalogue["indexes"]:
        for name, path in entry["files"].items():
            if name != "holdings_csv" or (published_site / path).exists():
                assert (published_site / path).is_file(), path
        document = json.loads((published_site / entry["files"]["levels"]).read_text())
        csv = pl.read_csv(published_site / entry["files"]["levels_csv"], try_parse_dates=True)
        from_json = pl.DataFrame(document["levels"]).with_columns(pl.col("date").str.to_date())
        assert from_json.equals(csv)
        latest = json.loads((published_site / entry["files"]["latest"]).read_text())
        assert (latest["date"], latest["level"]) == (str(csv.item(-1, "date")), csv.item(-1, "level")) == (
            entry["last_date"], entry["level"])
    index_page = (published_site / "index.html").read_text()
    assert 'href="api/catalogue.json"' in index_page
