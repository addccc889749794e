"""``indexcalc publish`` and ``indexcalc serve`` (DESIGN.md section 7)."""

from __future__ import annotations

from pathlib import Path

import click

from indexcalc.cli import main
from indexcalc.commands.data import market_options
from indexcalc.errors import StateError

DEFAULT_OUT = Path("outputs")


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
              help="On a market disruption (a held contract without a settlement) carry the last settle "
                   "forward (flagged) instead of stopping.")
def publish(data_path: Path | None, data_format: str | None, catalogue_dir: Path | None, out_dir: Path,
            progress: bool, workers: int | None, carry_forward: bool) -> None:
    """Compute every catalogue index and publish levels, weights, tables, factsheets,
    methodology documents and the site's index page into OUT (every folder written is
    replaced whole, on success only; other folders there, such as the ledger, stay).
    A held contract without a settlement stops the run naming root, contract and date, unless
    --carry-forward (DESIGN.md section 2).

    A folder that holds a ledger of published levels is refused: there `indexcalc rebuild`
    and `indexcalc run` publish, so that the files always show the ledger's levels."""
    from indexcalc.data.load import load_market
    from indexcalc.ledger import Ledger
    from indexcalc.pipeline import computable, rebuild_all
    from indexcalc.publish import default_workers, publish_all
    from indexcalc.progress import DelayedProgress
    from indexcalc.specs import DEFAULT_CATALOGUE_DIR, load_catalogue

    if Ledger(out_dir / "ledger").exists():
        raise StateError(
            "holds a ledger of published levels; publish there with `indexcalc rebuild` or `indexcalc run "
            "--date D`, which keep the files and the ledger in step (or choose another --out)",
            file=str(out_dir),
        )
    market = load_market(data_path, data_format)
    specs, skipped = computable(load_catalogue(catalogue_dir or DEFAULT_CATALOGUE_DIR), market)
    for index in skipped:
        click.echo(f"skipped {index.index_id}: {index.reason}", err=True)
    if not specs:
        raise StateError("no catalogue index can be computed on this market data", file=market.source or None)
    from indexcalc.operations import rebuild_steps

    with DelayedProgress(total=rebuild_steps(specs, market, publish=False), description="computing",
                         enabled=progress) as bar:
        results = rebuild_all(market, specs, on_step=bar.advance,
                              disruption="carry_forward" if carry_forward else "error")
    publish_all(results, market, out_dir, progress=progress, workers=workers or default_workers(len(results)))
    click.echo(f"published {len(results)} indexes to {out_dir}; open {out_dir / 'index.html'} "
               f"or run `indexcalc serve --dir {out_dir}`")


@main.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Publication folder to serve.")
def serve(port: int, directory: Path) -> None:
    """Serve a publication on http://127.0.0.1:PORT/ for a quick look (Ctrl-C stops)."""
    from indexcalc.publish.serve import make_server

    server = make_server(directory, port)
    click.echo(f"serving {directory} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
