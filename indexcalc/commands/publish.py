"""``indexcalc publish`` and ``indexcalc serve`` (docs/design.md section 7)."""

from __future__ import annotations

from pathlib import Path

import click

from indexcalc.cli import main
from indexcalc.clock import run_today
from indexcalc.commands.data import market_options
from indexcalc.errors import StateError

DEFAULT_OUT = Path("outputs")
LEDGER_HERE = (
    "holds a ledger of published levels; publish there with `indexcalc rebuild` or `indexcalc run --date D`, "
    "which keep the files and the ledger in step (or choose another --out)"
)


@main.command("publish")
@market_options
@click.option("--catalogue", "catalogue_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Catalogue folder (default: the project's data/catalogue).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Publication folder.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on a terminal when the run takes longer than a second.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes rendering the pages (default: one per CPU, up to 4, for 8 indexes or more).")
@click.option("--carry-forward", is_flag=True,
              help="Market disruption (a held contract without a settlement on a session): its last "
                   "settlement is kept (flagged) and the roll waits; without this switch more than 5 "
                   "consecutive disrupted sessions of a root stop the run, with it there is no limit.")
def publish(data_path: Path | None, data_format: str | None, catalogue_dir: Path | None, out_dir: Path,
            progress: bool, workers: int | None, carry_forward: bool) -> None:
    """Compute every catalogue index and publish levels, weights, tables, factsheets,
    methodology documents and the site's index page into OUT (every folder written is
    replaced whole, on success only; other folders there, such as the ledger, stay).
    A held contract without a settlement keeps its last one and a roll step due then waits; more
    than 5 consecutive such sessions of a root stop the run naming root, contract and dates,
    unless --carry-forward (docs/design.md section 2).

    A folder that holds a ledger of published levels is refused: there `indexcalc rebuild`
    and `indexcalc run` publish, so that the files always show the ledger's levels. While
    another run, rebuild or publish writes OUT, publish is refused at once (exit code 2)."""
    from indexcalc.data.load import load_market
    from indexcalc.ledger import Ledger, output_lock
    from indexcalc.operations import NOTHING_CHANGED, output_stage, remove_stale_staging
    from indexcalc.pipeline import computable, rebuild_all
    from indexcalc.publish import default_workers, publish_all
    from indexcalc.progress import DelayedProgress
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue

    if Ledger(out_dir / "ledger").exists():  # at once, before reading the data (checked again in the lock)
        raise StateError(LEDGER_HERE, file=str(out_dir))
    market = load_market(data_path, data_format, not_after=run_today())
    specs, skipped = computable(load_catalogue(catalogue_dir or DEFAULT_CATALOGUE_DIR), market)
    for index in skipped:
        click.echo(f"skipped {index.index_id}: {index.reason}", err=True)
    if not specs:
        raise StateError("no catalogue index can be computed on this market data", file=market.source or None)
    from indexcalc.operations import rebuild_steps

    with DelayedProgress(total=rebuild_steps(specs, market, publish=False), description="computing",
                         enabled=progress) as bar:
        results = rebuild_all(market, specs, on_step=bar.advance,
                              disruption="carry_forward" if carry_forward else "rules")
    # The folder's writer lock (shared with rebuild and run) around everything that writes, and
    # the ledger check inside it: a rebuild cannot create the ledger between the check and the write.
    with output_lock(out_dir):
        if Ledger(out_dir / "ledger").exists():
            raise StateError(LEDGER_HERE, file=str(out_dir))
        with output_stage(out_dir, NOTHING_CHANGED):
            remove_stale_staging(out_dir)
        with output_stage(out_dir, "nothing was published (the files are as they were); run again once the cause "
                                   "is fixed"):
            publish_all(results, market, out_dir, progress=progress,
                        workers=workers or default_workers(len(results)))
    click.echo(f"published {len(results)} indexes to {out_dir}; open {out_dir / 'index.html'} "
               f"or run `indexcalc serve --dir {out_dir}`")


@main.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but 127.0.0.1 exposes the publication to the network.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Publication folder to serve.")
@click.option("--timeout", "request_timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds a connection may stay silent before it is closed.")
@click.option("--threads", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Threads serving connections (more connections wait their turn).")
def serve(port: int, host: str, directory: Path, request_timeout: float, threads: int) -> None:
    """Serve a publication on http://HOST:PORT/ for a quick look (Ctrl-C stops).

    Only the files of the current publication are served: no folder listings, no dotfiles,
    temporary files, ledger or state, nothing a symlink leads to outside the publication."""
    from indexcalc.publish.serve import LOOPBACK, make_server

    server = make_server(directory, port, host, threads=threads, request_timeout=request_timeout)
    if host != LOOPBACK:
        click.echo(f"warning: listening on {host}, not only on this machine ({LOOPBACK})", err=True)
    click.echo(f"serving {directory} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
