"""``indexcalc data import tenors`` and ``indexcalc data merge``: settlement files by generic
tenor, and markets merged from several sources (docs/design.md section 1)."""

from __future__ import annotations

from pathlib import Path

import click

from indexcalc.cli import data
from indexcalc.commands.data import PRICE_FILE_SUFFIXES, format_table, import_
from indexcalc.data.longformat import write_frame, write_long
from indexcalc.data.merge import read_merged
from indexcalc.data.provenance import merge_report
from indexcalc.data.quality import coverage
from indexcalc.data.tenors import DEFAULT_TENOR_MAPPINGS, load_tenor_mappings, read_tenor_market

_OUT_HELP = "A directory (written: prices.parquet, instruments.toml ...) or a prices file ending in .csv or .parquet."


@import_.command("tenors")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--expiries",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Expiry calendar CSV (cmdty, Last.Trade, Year, Month per listed contract).",
)
@click.option(
    "--tenors",
    "tenors_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML of [[tenor]] tables (prefix, root, expiries ...); default CL->CRUDE_W (cmewti), "
    "BRN->BRENT_W (icebrent), NG->GAS_US (cmeng).",
)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help=_OUT_HELP)
def import_tenors(file: Path, expiries: Path, tenors_path: Path | None, out: Path) -> None:
    """Convert a generic-tenor settlement file FILE (date, series, value; series CL01..CL36,
    BRN01.., NG01..) to the long format.

    Tenor n on date d is the n-th listed contract whose last trade date is on or after d, from
    the expiry calendar. A date the calendar does not cover is an error naming the series and
    the date. Settlements that are not positive or not dated on a session of the root's
    calendar are left out and counted. Files are written
    atomically.
    """
    mappings = DEFAULT_TENOR_MAPPINGS if tenors_path is None else load_tenor_mappings(tenors_path)
    imported = read_tenor_market(file, expiries, mappings)
    market = imported.market
    if out.suffix in PRICE_FILE_SUFFIXES:
        write_frame(market.prices, out)
    else:
        write_long(market, out)
    click.echo(format_table(coverage(market.prices).select("root", "first", "last", "rows", "contracts")))
    target = out if out.suffix in PRICE_FILE_SUFFIXES else f"{out}/"
    click.echo(f"wrote {market.prices.height} price rows for {len(market.roots)} roots to {target}")
    for left_out, reason in ((imported.non_session, "not on a session"),):
        if left_out.height:
            first = left_out.row(0, named=True)
            click.echo(
                f"left out {left_out.height} settlement(s) {reason} "
                f"(first: {first['series']} {first['date']} {first['value']})"
            )


@data.command("merge")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the merged market (with provenance.parquet) to this long-format directory.",
)
def merge(spec: Path, out: Path | None) -> None:
    """Build the market of the merge spec SPEC (TOML: [[source]] name, format, path in priority
    order; optional [priority] per root and held) and print the merge report.

    Per (date, root, contract) the highest-priority source that prices it gives the settle.
    The report shows per root and source the rows taken, how many a lower-priority source also
    priced (compared) and how many of those agree, then the rows left out (non-sessions, days
    the preferred source does not price). Any command's --data accepts SPEC directly.
    """
    merged = read_merged(spec)
    market = merged.market
    click.echo(format_table(merge_report(market.prices, market.provenance)))
    if merged.left_out.height:
        click.echo("left out:")
        click.echo(format_table(merged.left_out))
    if out is not None:
        write_long(market, out)
        click.echo(f"wrote {market.prices.height} price rows for {len(market.roots)} roots to {out}/")

