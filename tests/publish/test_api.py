"""The machine-readable publication (indexcalc.publish.api): documents by hand, and every
api/ file of a written publication against the CSV files."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from indexcalc.publish.api import catalogue_document, latest_document, levels_document, weights_document
from indexcalc.results import IndexResult
from indexcalc.catalogue import parse_spec

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


@pytest.mark.slow
def test_serve_answers_every_api_file_as_json_equal_to_the_csv_official_levels(published_site, capfd):
    # issue 17: every api/ file requested through `indexcalc serve` on 127.0.0.1, with its JSON
    # content type; the levels document equals the levels CSV served beside it; a client that
    # hangs up mid-response leaves no traceback.
    import http.client
    import io
    import socket
    import threading

    from indexcalc.publish.serve import make_server

    server = make_server(published_site, port=0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def get(path: str) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/" + path)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()

    try:
        api_files = sorted(path.relative_to(published_site).as_posix() for path in (published_site / "api").rglob("*.json"))
        assert "api/catalogue.json" in api_files and len(api_files) > 3
        for path in api_files:
            status, content_type, body = get(path)
            assert (status, content_type.split(";")[0]) == (200, "application/json"), path
            json.loads(body)
        catalogue = json.loads(get("api/catalogue.json")[2])
        for entry in catalogue["indexes"]:
            document = json.loads(get(entry["files"]["levels"])[2])
            status, content_type, body = get(entry["files"]["levels_csv"])
            assert status == 200 and content_type.startswith("text/csv")
            csv = pl.read_csv(io.BytesIO(body), try_parse_dates=True)
            from_json = pl.DataFrame(document["levels"]).with_columns(pl.col("date").str.to_date())
            assert from_json.equals(csv), entry["id"]
        # a client that sends its request and hangs up before reading the answer
        for path in api_files[:5]:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(f"GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        assert get("api/catalogue.json")[0] == 200  # still serving
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert "Traceback" not in capfd.readouterr().err
