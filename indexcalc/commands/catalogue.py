"""``indexcalc list``: the catalogue of published indexes."""

from __future__ import annotations

import json

import click

from indexcalc.cli import main
from indexcalc.commands.data import market_options


def catalogue_rows(specs, synthetic: bool = False, grid_of: dict[str, str] | None = None) -> list[dict]:
    """One row per index: id, name, family (or basket kind), return type, sector, universe,
    ``grid``: the catalogue grid it is a variant of (None: written as an ``[[index]]``), and
    ``synthetic``: whether the market the indexes are computed on is synthetic."""
    grid_of = grid_of or {}
    rows = []
    for spec in specs:
        family = getattr(spec, "family", None) or spec.kind
        sector = getattr(spec, "sector_label", None) or (",".join(spec.sectors) if spec.sectors else "all")
        single = getattr(spec, "root", None)  # a single-root strategy trades its root whatever its universe
        universe = single or (",".join(spec.universe) if spec.universe
                              else "all roots" + (f" in {sector}" if spec.sectors else ""))
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "family": family,
                "return_type": spec.return_type,
                "sector": sector,
                "universe": universe,
                "grid": grid_of.get(spec.id),
                "synthetic": synthetic,
            }
        )
    return rows


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
@click.option("--catalogue", "catalogue_dir", type=click.Path(file_okay=False), default=None,
              help="Catalogue folder (default: the project's data/catalogue).")
@market_options
def list_indexes(as_json: bool, catalogue_dir: str | None, data_path, data_format) -> None:
    """Print the catalogue: id, name, family, return type, sector, universe, the grid each
    variant comes from (grids expanded; the column shows when the catalogue has grids), and
    whether the market they are computed on (--data, default the embedded one) is synthetic."""
    from indexcalc.data.load import load_market
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, read_catalogue

    specs, grid_of = read_catalogue(catalogue_dir or DEFAULT_CATALOGUE_DIR)
    synthetic = load_market(data_path, data_format).synthetic
    rows = catalogue_rows(specs, synthetic, grid_of)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    columns = ["id", "family", "return_type", "sector", "universe", *(["grid"] if grid_of else []), "name"]
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) if rows else len(column)
              for column in columns}
    click.echo("  ".join(column.ljust(widths[column]) for column in columns).rstrip())
    for row in rows:
        click.echo("  ".join(str("-" if row[column] is None else row[column]).ljust(widths[column]) for column in columns).rstrip())
    if synthetic:
        click.echo("SYNTHETIC market: these indexes are computed on the embedded synthetic market, not real data.")
