"""A local web server for a quick look at a publication (``indexcalc serve``).

Static files only, bound to 127.0.0.1 (never another interface): this is a preview, not a
production web server.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from indexcalc.errors import StateError

LOOPBACK = "127.0.0.1"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        return


def make_server(directory: Path | str, port: int = 8000) -> ThreadingHTTPServer:
    """A threading HTTP server for ``directory`` on 127.0.0.1:``port`` (0 = any free port; the
    chosen one is ``server.server_address[1]``). Not started: call ``serve_forever``."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise StateError("no published site here (index.html missing): run `indexcalc publish` first",
                         file=str(directory))
    handler = functools.partial(QuietHandler, directory=str(directory.resolve()))
    try:
        return ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as error:
        raise StateError(f"cannot listen on {LOOPBACK}:{port} ({error.strerror})") from None
