"""Load on `indexcalc serve`: N requests from C concurrent clients on 127.0.0.1.

    python3 benchmarks/serve_load.py [--dir outputs] [--requests 2000] [--clients 50]
                                     [--threads 16] [--timeout 10]

Serves ``--dir`` (default: a small fabricated publication in a temporary folder: the site
index, 8 factsheets of 300 kB, 8 level files of 200 kB, a JSON file) with
``indexcalc.publish.serve.make_server`` in this process, and has each client thread request
the published files in turn, one connection per request (the server speaks HTTP/1.0). Prints
the error count (a status other than 200, or a connection error) and the latency percentiles
of every request, from connect to the last byte read.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from indexcalc import atomic
from indexcalc.publish.serve import make_server


def fabricated_site(folder: Path) -> Path:
    """A publication the size of a small real one, written through the versioned switch."""
    out = folder / "outputs"
    with atomic.publish_directory(out) as staging:
        atomic.atomic_write_text(staging / "index.html", "<html>" + "<tr><td>index</td></tr>" * 2_000 + "</html>")
        for number in range(8):
            atomic.atomic_write_text(staging / "factsheets" / f"IDX-{number}.html", "<svg/>" * 50_000)
            atomic.atomic_write_text(staging / "levels" / f"IDX-{number}.csv", "2024-01-02,100.0,0.0\n" * 9_500)
        atomic.atomic_write_text(staging / "data" / "summary.json", '{"level": 100.0}')
    return out


def published_paths(out: Path) -> list[str]:
    """The URL path of every file a reader of ``out`` sees (through the publication's links)."""
    paths = []
    for directory, folders, names in os.walk(out, followlinks=True):
        if Path(directory) == out:
            folders[:] = [name for name in folders if name not in ("versions", "current", "ledger", "restatements")]
        folders[:] = [name for name in folders if not name.startswith(".")]
        paths += ["/" + str((Path(directory) / name).relative_to(out)) for name in names if not name.startswith(".")]
    return sorted(paths)


def fetch(port: int, path: str) -> tuple[float, str | None]:
    """(seconds, error or None) of one GET."""
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            error = None if response.status == 200 else f"HTTP {response.status}"
        finally:
            connection.close()
    except OSError as failure:
        error = type(failure).__name__
    return time.perf_counter() - started, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="publication to serve (default: a fabricated one)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=16, help="server threads")
    parser.add_argument("--timeout", type=float, default=10.0, help="server request timeout, seconds")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="serve-load-") as scratch:
        out = options.dir or fabricated_site(Path(scratch))
        paths = published_paths(out)
        server = make_server(out, port=0, threads=options.threads, request_timeout=options.timeout)
        port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        per_client = [range(client, options.requests, options.clients) for client in range(options.clients)]

        def client(numbers: range) -> list[tuple[float, str | None]]:
            return [fetch(port, paths[number % len(paths)]) for number in numbers]

        started = time.perf_counter()
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=options.clients) as pool:
                results = [result for batch in pool.map(client, per_client) for result in batch]
        finally:
            server.shutdown()
            server.server_close()
        wall = time.perf_counter() - started

    latencies = np.array([seconds for seconds, _ in results]) * 1000.0
    errors = [error for _, error in results if error is not None]
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    print(f"served {len(paths)} files from {out if options.dir else 'a fabricated publication'}; "
          f"{options.clients} clients, {options.threads} server threads")
    print(f"requests {len(results)}  errors {len(errors)}"
          + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))
    print(f"wall {wall:.2f} s  throughput {len(results) / wall:.0f} requests/s")
    print(f"latency ms  p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {latencies.max():.1f}")


if __name__ == "__main__":
    main()
