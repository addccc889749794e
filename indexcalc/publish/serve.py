"""A local web server for a look at a publication (``indexcalc serve``; docs/design.md section 7).

Built on the standard library's ``http.server``, hardened: a request path is served only if it
names a regular file of the publication, resolved through ``current`` at each request
(:func:`published_file`): no directory listing, no symlink leading out of the published
version, no dotfile, temporary file, ledger, lock or state file. Each connection is handled
by a fixed pool of threads (:data:`WORKER_THREADS`) with a socket timeout
(:data:`REQUEST_TIMEOUT`); connections beyond :data:`MAX_PENDING` are answered 503 at once. A
client that disconnects or times out is dropped without a log line. Bound to 127.0.0.1 unless
told otherwise. Still a preview server: no TLS, no access control.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from indexcalc.atomic import CURRENT_LINK, VERSIONS_FOLDER
from indexcalc.errors import StateError

LOOPBACK = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay silent (reading the request or accepting the response)."""
WORKER_THREADS = 16
"""Threads serving connections; more connections wait in a queue."""
MAX_PENDING = 256
"""Connections accepted and not yet finished beyond which a new one gets 503 at once."""

UNVERSIONED_PRIVATE = frozenset({"ledger", "restatements", VERSIONS_FOLDER, CURRENT_LINK})
"""Top-level names never served from a folder without ``current`` (one written in place)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def content_type(path: Path | str) -> str:
    """The Content-Type of a published file, from its suffix (:data:`CONTENT_TYPES`)."""
    return CONTENT_TYPES.get(Path(path).suffix.lower(), DEFAULT_CONTENT_TYPE)


def publication_root(directory: Path | str) -> tuple[Path, bool] | None:
    """The real folder whose files are published, and whether it is a version (``current ->
    versions/N``, re-read at every call) rather than ``directory`` itself (a folder written
    in place). None when ``current`` points outside ``directory/versions``."""
    directory = Path(os.path.realpath(directory))
    pointer = directory / CURRENT_LINK
    if not pointer.is_symlink():
        return directory, False
    root = Path(os.path.realpath(pointer))
    if not _inside(root, directory / VERSIONS_FOLDER) or not root.is_dir():
        return None
    return root, True


def request_parts(target: str) -> list[str] | None:
    """The path components of a request target (``/levels/LS-ER.csv?x`` -> ``["levels",
    "LS-ER.csv"]``), or None when it names nothing publishable: undecodable, control
    characters (``%00``), backslashes, ``.``/``..``, a dotfile or a ``.tmp`` file."""
    try:
        path = unquote(urlsplit(target).path, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in path) or "\\" in path:
        return None
    parts = [part for part in path.split("/") if part]
    if any(part.startswith(".") or part.endswith(".tmp") for part in parts):
        return None
    return parts


def published_file(directory: Path | str, target: str) -> Path | None:
    """The real path of the published file a request target names, or None (404).

    ``/`` and a folder name mean its ``index.html``. The file, after resolving every symlink,
    must be a regular file inside the publication root (:func:`publication_root`); from a
    folder without ``current``, the ledger, restatements and version folders are excluded.
    """
    parts = request_parts(target)
    found = publication_root(directory)
    if parts is None or found is None:
        return None
    root, versioned = found
    if not versioned and parts and parts[0] in UNVERSIONED_PRIVATE:
        return None
    candidate = Path(os.path.realpath(root.joinpath(*parts)))
    if candidate.is_dir():
        candidate = Path(os.path.realpath(candidate / "index.html"))
    if not _inside(candidate, root) or not candidate.is_file() or candidate.name.startswith("."):
        return None
    return candidate


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class PublicationHandler(BaseHTTPRequestHandler):
    """GET and HEAD of published files (:func:`published_file`); anything else 404 or 501."""

    server_version = "indexcalc-serve"
    sys_version = ""
    server: "PublicationServer"

    def setup(self) -> None:
        self.timeout = self.server.request_timeout
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (the base class's naming)
        self._send_file(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._send_file(with_body=False)

    def _send_file(self, with_body: bool) -> None:
        path = published_file(self.server.directory, self.path)
        try:
            handle = open(path, "rb") if path is not None else None
        except OSError:  # pruned or replaced since it was resolved
            handle = None
        if handle is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        with handle:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type(path))
            self.send_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if with_body:
                shutil.copyfileobj(handle, self.wfile)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        return


class PublicationServer(HTTPServer):
    """An HTTP server handing each accepted connection to a fixed thread pool."""

    def __init__(self, address: tuple[str, int], directory: Path, *, threads: int = WORKER_THREADS,
                 request_timeout: float = REQUEST_TIMEOUT, max_pending: int = MAX_PENDING) -> None:
        self.directory = directory
        self.request_timeout = request_timeout
        self.request_queue_size = max(5, min(max_pending, 128))
        self._pending = threading.BoundedSemaphore(max_pending)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="indexcalc-serve")
        try:
            super().__init__(address, PublicationHandler)
        except BaseException:
            self._pool.shutdown(wait=False)
            raise

    def server_bind(self) -> None:
        # HTTPServer.server_bind also looks the host name up (a DNS query); not needed here.
        super(HTTPServer, self).server_bind()
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address) -> None:
        if not self._pending.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            self._pool.submit(self._handle, request, client_address)
        except RuntimeError:  # the pool is shut down: the server is closing
            self._pending.release()
            self.shutdown_request(request)

    def _handle(self, request: socket.socket, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._pending.release()

    def _refuse(self, request: socket.socket) -> None:
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client gone or too slow is normal: no log. Anything else: one line, no traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        sys.stderr.write(f"indexcalc serve: {client_address[0]}: {type(error).__name__}: {error}\n")

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_server(directory: Path | str, port: int = 8000, host: str = LOOPBACK, *, threads: int = WORKER_THREADS,
                request_timeout: float = REQUEST_TIMEOUT, max_pending: int = MAX_PENDING) -> PublicationServer:
    """A server for the publication in ``directory`` on ``host``:``port`` (0 = any free port;
    the chosen one is ``server.server_address[1]``). Not started: call ``serve_forever``."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise StateError("no published site here (index.html missing): run `indexcalc publish` first",
                         file=str(directory))
    try:
        return PublicationServer((host, port), directory.resolve(), threads=threads,
                                 request_timeout=request_timeout, max_pending=max_pending)
    except OSError as error:
        raise StateError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None
