"""The machine-readable publication: JSON files under ``api/`` (docs/design.md section 7).

Plain files written with the site, so any static server (``indexcalc serve``) answers them::

    api/catalogue.json        every index: id, name, kind, return type, precision, first and
                              last date, latest official level, and the paths of its files
    api/ID/levels.json        {"index", "precision", "levels": [{"date", "level", "daily_return"}]}
    api/ID/latest.json        {"index", "date", "level", "daily_return", "previous_date", "previous_level"}
    api/ID/weights.json       {"index", "rebalance_date", "effective_date", "weights": [{"root", "weight"}]}

``level`` is the official level (the one in ``levels/ID.csv``, rounded to the spec's
precision; :mod:`indexcalc.official`); ``daily_return`` a fraction; dates ISO ``YYYY-MM-DD``.
``weights.json`` holds the weights of the latest rebalance (signed fractions of the index
notional at its effective date). Paths in the catalogue are relative to the publication root.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from indexcalc.atomic import atomic_write_text
from indexcalc.official import DEFAULT_PRECISION
from indexcalc.results import IndexResult

API_FOLDER = "api"
JSON_CONTENT_TYPE = "application/json"


def levels_document(index_id: str, result: IndexResult) -> str:
    """``api/ID/levels.json``: every published level, in date order."""
    levels = result.levels.select("date", "level", "daily_return").sort("date")
    head = json.dumps({"index": index_id, "precision": _precision(result)})[:-1]
    return f'{head}, "levels": {levels.write_json()}}}\n'


def latest_document(index_id: str, result: IndexResult) -> str:
    """``api/ID/latest.json``: the last level, its daily return and the level before it."""
    levels = result.levels.sort("date")
    last = levels.row(-1, named=True)
    previous = levels.row(-2, named=True) if levels.height > 1 else None
    return _dumps({
        "index": index_id,
        "date": last["date"].isoformat(),
        "level": last["level"],
        "daily_return": last["daily_return"],
        "previous_date": previous["date"].isoformat() if previous else None,
        "previous_level": previous["level"] if previous else None,
    })


def weights_document(index_id: str, result: IndexResult) -> str:
    """``api/ID/weights.json``: the weights of the latest rebalance (by fixing date)."""
    weights = result.weights
    if weights.is_empty():
        return _dumps({"index": index_id, "rebalance_date": None, "effective_date": None, "weights": []})
    latest = weights.filter(pl.col("date") == pl.col("date").max()).sort("root")
    effective = latest.get_column("effective_date").max() if "effective_date" in latest.columns else None
    head = json.dumps({
        "index": index_id,
        "rebalance_date": latest.item(0, "date").isoformat(),
        "effective_date": effective.isoformat() if effective is not None else None,
    })[:-1]
    return f'{head}, "weights": {latest.select("root", "weight").write_json()}}}\n'


def catalogue_document(results: dict[str, IndexResult]) -> str:
    """``api/catalogue.json``: one entry per index, in catalogue order."""
    entries = []
    for index_id, result in results.items():
        levels = result.levels.sort("date")
        last = levels.row(-1, named=True)
        files = {
            "levels": f"{API_FOLDER}/{index_id}/levels.json",
            "latest": f"{API_FOLDER}/{index_id}/latest.json",
            "weights": f"{API_FOLDER}/{index_id}/weights.json",
            "levels_csv": f"levels/{index_id}.csv",
            "factsheet": f"factsheets/{index_id}.html",
            "methodology": f"methodology/{index_id}.html",
        }
        if result.axis_roots:
            files["holdings_csv"] = f"holdings/{index_id}.csv"
        entries.append({
            "id": index_id,
            "name": result.spec.name,
            "kind": result.spec.kind,
            "return_type": result.spec.return_type,
            "precision": _precision(result),
            "first_date": levels.item(0, "date").isoformat(),
            "last_date": last["date"].isoformat(),
            "level": last["level"],
            "daily_return": last["daily_return"],
            "files": files,
        })
    as_of = max((entry["last_date"] for entry in entries), default=None)
    return _dumps({"as_of": as_of, "indexes": entries})


def write_api(results: dict[str, IndexResult], out_dir: Path) -> list[Path]:
    """Write every ``api/`` file of ``results`` into ``out_dir`` (atomically); returns them."""
    written = []
    for index_id, result in results.items():
        folder = out_dir / API_FOLDER / index_id
        for name, document in (
            ("levels.json", levels_document(index_id, result)),
            ("latest.json", latest_document(index_id, result)),
            ("weights.json", weights_document(index_id, result)),
        ):
            atomic_write_text(folder / name, document)
            written.append(folder / name)
    path = out_dir / API_FOLDER / "catalogue.json"
    atomic_write_text(path, catalogue_document(results))
    written.append(path)
    return written


def _precision(result: IndexResult) -> int:
    return getattr(result.spec, "precision", DEFAULT_PRECISION)


def _dumps(document: dict) -> str:
    return json.dumps(document, indent=1) + "\n"
