"""Issue 20, point 9: ``indexcalc serve`` serves only the published files, bounded and quietly.

Each test reproduces what the hostile pass found at commit 4c1ad00, where ``serve`` was a plain
``ThreadingHTTPServer`` with ``SimpleHTTPRequestHandler``: folder listings (ledger, lock and
state file included), a symlink to ``/etc`` followed, leftover ``.tmp`` files served, no
timeout on a half-sent request, one thread per connection, a traceback on stderr for every
client disconnect and for ``%00`` in a path. There each assertion marked "4c1ad00:" fails.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from indexcalc import atomic
from indexcalc.publish.serve import make_server

BIG_FILE_BYTES = 8 * 1024 * 1024


def write_site(staging: Path, home: str) -> None:
    atomic.atomic_write_text(staging / "index.html", f"<html>{home}</html>")
    atomic.atomic_write_text(staging / "factsheets" / "LS-ER.html", "<html>factsheet</html>")
    atomic.atomic_write_text(staging / "levels" / "LS-ER.csv", "date,level\n2024-01-02,100.0\n")
    atomic.atomic_write_text(staging / "data" / "summary.json", '{"level": 100.0}')
    atomic.atomic_write_bytes(staging / "levels" / "all_levels.parquet", b"PAR1")
    atomic.atomic_write_bytes(staging / "big.csv", b"x" * BIG_FILE_BYTES)
    (staging / "factsheets" / ".LS-ER.html.abc.tmp").write_text("half written")  # a killed writer's
    (staging / "levels" / "LS-ER.csv.tmp").write_text("half written")
    os.symlink("/etc", staging / "etc")
    os.symlink("/etc/passwd", staging / "passwd")


@pytest.fixture()
def site(tmp_path) -> Path:
    """A versioned publication (two versions) beside a ledger with its lock and state file, and
    a top-level symlink to /etc."""
    out = tmp_path / "outputs"
    for home in ("first", "second"):
        with atomic.publish_directory(out) as staging:
            write_site(staging, home)
    (out / "ledger").mkdir()
    (out / "ledger" / ".lock").write_text("")
    (out / "ledger" / "day-state.json").write_text("{}")
    (out / "ledger" / "part-1.parquet").write_bytes(b"PAR1")
    os.symlink("/etc", out / "outside")
    return out


class Running:
    """A server for ``directory`` in a background thread (stopped on exit)."""

    def __init__(self, directory: Path, **options) -> None:
        self.server = make_server(directory, port=0, **options)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Running":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def get(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)  # path sent as given
            connection.endheaders()
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


@pytest.mark.slow
def test_published_files_are_served_with_their_content_types(site):
    with Running(site) as server:
        cases = {
            "/": ("text/html; charset=utf-8", b"<html>second</html>"),
            "/index.html": ("text/html; charset=utf-8", b"<html>second</html>"),
            "/data/summary.json": ("application/json", b'{"level": 100.0}'),
            "/levels/LS-ER.csv": ("text/csv; charset=utf-8", b"date,level\n2024-01-02,100.0\n"),
            "/levels/all_levels.parquet": ("application/vnd.apache.parquet", b"PAR1"),
            "/factsheets/LS-ER.html?from=site#top": ("text/html; charset=utf-8", b"<html>factsheet</html>"),
        }
        for path, (expected_type, body) in cases.items():
            status, headers, content = server.get(path)
            assert (status, headers["Content-Type"], content) == (200, expected_type, body), path
        status, headers, content = server.get("/data/summary.json", method="HEAD")
        assert (status, headers["Content-Length"], content) == (200, "16", b"")
        assert server.server.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize("path", [
    "/factsheets/",                      # a folder: no listing (4c1ad00: a listing)
    "/ledger/",                          # the ledger, its lock and state (4c1ad00: listed and served)
    "/ledger/.lock",
    "/ledger/day-state.json",
    "/ledger/part-1.parquet",
    "/versions/",                        # the versions are reached only through current
    "/versions/1/index.html",
    "/current/index.html",
    "/etc/passwd",                       # symlinks out of the publication (4c1ad00: /etc/passwd served)
    "/passwd",
    "/outside/passwd",
    "/../../../../etc/passwd",           # traversal
    "/%2e%2e/%2e%2e/etc/passwd",
    "/factsheets/.LS-ER.html.abc.tmp",  # leftovers of a killed writer (4c1ad00: served)
    "/levels/LS-ER.csv.tmp",
    "/index.html%00.csv",                # 4c1ad00: a traceback
    "/%ff%fe",                           # not UTF-8
    "/levels\\LS-ER.csv",
])
@pytest.mark.slow
def test_nothing_but_published_files_is_served(site, path):
    with Running(site) as server:
        status, _, content = server.get(path)
    assert status == 404, (path, content[:200])
    assert b"root:" not in content and b"PAR1" not in content


@pytest.mark.slow
def test_a_folder_written_in_place_is_served_without_its_ledger(tmp_path):
    out = tmp_path / "outputs"
    write_site(out, "in place")  # the layout written before versions: no current link
    (out / "ledger").mkdir()
    (out / "ledger" / "part-1.parquet").write_bytes(b"PAR1")
    (out / "restatements").mkdir()
    (out / "restatements" / "2024-01-02.csv").write_text("index")
    with Running(out) as server:
        assert server.get("/")[2] == b"<html>in place</html>"
        for path in ("/ledger/part-1.parquet", "/restatements/2024-01-02.csv", "/etc/passwd", "/levels/LS-ER.csv.tmp"):
            assert server.get(path)[0] == 404, path


def test_request_paths_are_parsed_strictly():
    from indexcalc.publish.serve import request_parts

    assert request_parts("/levels/LS-ER.csv?x=1") == ["levels", "LS-ER.csv"]
    assert request_parts("http://example/levels//x.csv") == ["levels", "x.csv"]
    assert request_parts("/a%20b.html") == ["a b.html"]
    for bad in ("/%00", "/a\x01", "/..", "/./x", "/.hidden", "/x.tmp", "/a\\b", "/%c3"):
        assert request_parts(bad) is None, bad


def test_each_request_follows_the_current_version(site):
    from indexcalc.publish.serve import published_file

    assert published_file(site, "/").read_text() == "<html>second</html>"
    with atomic.publish_directory(site) as staging:
        write_site(staging, "third")
    assert published_file(site, "/").read_text() == "<html>third</html>"
    assert published_file(site, "/ledger/part-1.parquet") is None


@pytest.mark.slow
def test_a_half_sent_request_is_closed_after_the_timeout(site):
    with Running(site, request_timeout=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            client.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")  # never finished
            started = time.monotonic()
            try:
                received = client.recv(1024)  # 4c1ad00: nothing until the client's 5 s timeout
            except ConnectionResetError:
                received = b""
            waited = time.monotonic() - started
        assert received == b"" and 0.3 < waited < 4, (received, waited)
        assert server.get("/")[0] == 200


@pytest.mark.slow
def test_idle_connections_use_no_more_threads_than_the_pool(site):
    before = threading.active_count()
    with Running(site, threads=4, request_timeout=5) as server:
        clients = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(30)]
        try:
            for client in clients:
                client.sendall(b"GET / HTTP/1.1\r\n")
            time.sleep(0.5)
            # 4c1ad00: one thread per connection, 30 more
            assert threading.active_count() - before <= 1 + 4  # serve_forever + the pool
        finally:
            for client in clients:
                client.close()


@pytest.mark.slow
def test_connections_beyond_the_pending_limit_get_503_at_once(site):
    with Running(site, threads=1, request_timeout=5, max_pending=2) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.3)  # both accepted: one held by the only thread, one waiting for it
            started = time.monotonic()
            status, _, _ = server.get("/")
            assert status == 503 and time.monotonic() - started < 2
        finally:
            for client in idle:
                client.close()
        time.sleep(0.3)
        assert server.get("/")[0] == 200


def drop_mid_response(port: int, path: str = "/big.csv") -> None:
    """Ask for a large file and reset the connection without reading it."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
    client.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    client.recv(1024)
    client.close()


@pytest.mark.slow
def test_client_disconnects_and_nul_bytes_leave_no_traceback(site, capfd):
    with Running(site) as server:
        for _ in range(5):
            drop_mid_response(server.port)
        assert server.get("/index.html%00")[0] == 404
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.0\r\n")  # gone before the request ends
        time.sleep(0.5)
        assert server.get("/")[0] == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err, captured.err  # 4c1ad00: one per disconnect and for %00
    assert captured.err == ""


@pytest.mark.slow
def test_the_serve_command_stays_on_loopback_and_stops_quietly(site):
    process = subprocess.Popen(
        [sys.executable, "-c", "from indexcalc.cli import main; main()", "serve", "--dir", str(site), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        drop_mid_response(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/%00")
        assert connection.getresponse().status == 404
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
    assert process.returncode == 0
    assert errors == "", errors


@pytest.mark.slow
def test_load_of_2000_requests_from_50_clients_has_no_error(site):
    paths = ["/", "/factsheets/LS-ER.html", "/levels/LS-ER.csv", "/data/summary.json"]
    with Running(site) as server:
        def client(number: int) -> list[int]:
            connection_errors = []
            for request in range(40):
                try:
                    status, _, _ = server.get(paths[(number + request) % len(paths)])
                    connection_errors.append(status)
                except OSError:
                    connection_errors.append(0)
            return connection_errors

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as clients:
            statuses = [status for result in clients.map(client, range(50), timeout=120) for status in result]
        elapsed = time.monotonic() - started
    assert len(statuses) == 2000
    assert statuses.count(200) == 2000, {status: statuses.count(status) for status in set(statuses)}
    assert elapsed < 120
