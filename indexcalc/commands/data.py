"""``indexcalc data ...``: check, report on and import market data (DESIGN.md section 1).

:func:`market_options` gives any command the shared ``--data PATH --format FMT`` options;
the command then calls :func:`indexcalc.data.load.load_market` with them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import polars as pl

from indexcalc.cli import data
from indexcalc.data.load import DATA_FORMATS, load_market
from indexcalc.data.longformat import write_frame, write_long
from indexcalc.data.provenance import merge_report
from indexcalc.data.pysystemtrade import read_pysystemtrade
from indexcalc.data.quality import QualitySpec, coverage, quality_report
from indexcalc.data.validate import validate_inflation, validate_macro, validate_prices, validate_rates

_FORMAT_HELP = (
    "Data layout; default: pysystemtrade if PATH has multiple_prices_csv/, merge if PATH ends in .toml, "
    "else long format."
)
PRICE_FILE_SUFFIXES = (".csv", ".parquet")


def market_options(command: Callable) -> Callable:
    """Add ``--data PATH`` (default: the embedded market) and ``--format long|pysystemtrade``;
    the command receives them as ``data_path`` and ``data_format``."""
    command = click.option("--format", "data_format", type=click.Choice(DATA_FORMATS), default=None, help=_FORMAT_HELP)(
        command
    )
    return click.option(
        "--data",
        "data_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Market data: a long-format prices file or directory, a pysystemtrade folder, or a "
        "merge spec (.toml, see `indexcalc data merge`). Default: the embedded market.",
    )(command)


@data.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "data_format", type=click.Choice(DATA_FORMATS), default=None, help=_FORMAT_HELP)
def check(path: Path | None, data_format: str | None) -> None:
    """Validate market data and print what it covers, per root.

    PATH is a long-format prices file (.csv/.parquet: date, root, contract, settle
    [, volume, open_interest]), a long-format directory (prices.* [, rates.*, inflation.*,
    macro.*, held.*, instruments.toml]) or a pysystemtrade folder (multiple_prices_csv/,
    csvconfig/). Without PATH the embedded market is checked. The first problem found is
    printed as one line (file, row or key, problem) and the exit code is 2.
    """
    market = load_market(path, data_format)
    if path is None:
        # Files read from a path are validated by their reader; the embedded market here.
        source = market.source or "embedded market"
        validate_prices(market.prices, market.instruments, source, first_row=None)
        for frame, validator in (
            (market.rates, validate_rates),
            (market.inflation, validate_inflation),
            (market.macro, validate_macro),
        ):
            if frame.height:
                validator(frame, source, first_row=None)
    summary = coverage(market.prices).select("root", "first", "last", "years", "rows", "contracts")
    click.echo(format_table(summary))
    if market.provenance is not None:
        click.echo("sources (merged market):")
        click.echo(format_table(merge_report(market.prices, market.provenance)))
    first, last = market.prices.get_column("date").min(), market.prices.get_column("date").max()
    click.echo(f"OK: {summary.height} roots, {first} to {last}")


@data.command("quality")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "data_format", type=click.Choice(DATA_FORMATS), default=None, help=_FORMAT_HELP)
@click.option(
    "--jump-sigmas",
    type=float,
    default=QualitySpec().jump_sigmas,
    show_default=True,
    help="Flag a step of a contract's price above this many robust sigmas of its root.",
)
@click.option(
    "--jump-fraction",
    type=float,
    default=QualitySpec().jump_fraction,
    show_default=True,
    help="Also flag a step above this fraction of the price (0.25 = 25%).",
)
@click.option(
    "--max-gap-days",
    type=int,
    default=QualitySpec().max_gap_days,
    show_default=True,
    help="Count gaps between trading days longer than this many calendar days.",
)
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON (one object per root, every column, fractions as fractions).")
def quality(
    path: Path | None, data_format: str | None, jump_sigmas: float, jump_fraction: float, max_gap_days: int,
    as_json: bool,
) -> None:
    """Print a data-quality report per root: date range, years, rows, contracts, trading days,
    longest gap between trading days, gaps over the threshold, suspicious jumps and the worst one.

    PATH as for `indexcalc data check` (default: the embedded market).
    """
    market = load_market(path, data_format)
    spec = QualitySpec(jump_sigmas=jump_sigmas, jump_fraction=jump_fraction, max_gap_days=max_gap_days)
    report = quality_report(market, spec)
    if as_json:
        click.echo(report.write_json())
        return
    click.echo(format_table(quality_table(report, max_gap_days)))


def quality_table(report: pl.DataFrame, max_gap_days: int) -> pl.DataFrame:
    """The quality report for reading: short headers, thousands separators, the longest gap
    with its end date, the worst jump as a signed percentage with its contract and date."""
    def thousands(column: str) -> pl.Expr:  # display only: one row per root
        return pl.col(column).map_elements(lambda value: f"{value:,}", return_dtype=pl.String)

    worst = pl.format(
        "{}% {} on {}",
        (pl.col("worst_jump") * 100).round(1).cast(pl.String),
        pl.col("worst_jump_contract").cast(pl.String),
        pl.col("worst_jump_date").cast(pl.String),
    )
    return report.select(
        "root",
        pl.col("first").alias("from"),
        pl.col("last").alias("to"),
        pl.col("years").round(1).cast(pl.String).alias("years"),
        thousands("rows").alias("rows"),
        pl.col("contracts").cast(pl.String),
        thousands("trading_days").alias("days"),
        pl.format("{}d to {}", pl.col("longest_gap_days"), pl.col("longest_gap_end")).alias("longest gap"),
        pl.col("gaps").cast(pl.String).alias(f"gaps > {max_gap_days}d"),
        pl.col("jumps").cast(pl.String),
        pl.when(pl.col("jumps") > 0).then(worst).alias("worst jump"),
    )


@data.group("import")
def import_() -> None:
    """Convert vendor data layouts to the long format."""


@import_.command("pysystemtrade")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A directory (written: prices.parquet, held.parquet, instruments.toml) or a prices "
    "file ending in .csv or .parquet.",
)
def import_pysystemtrade(directory: Path, out: Path) -> None:
    """Convert a pysystemtrade data folder DIRECTORY to the long format.

    Reads multiple_prices_csv/ROOT.csv (PRICE, FORWARD and CARRY give the contracts priced that
    day, each closing at its last non-empty price of the day; the PRICE_CONTRACT of the day's
    last row is the held contract) and csvconfig/ (instruments). Files are written atomically
    (temporary file, then rename).
    """
    market = read_pysystemtrade(directory)
    if out.suffix in PRICE_FILE_SUFFIXES:
        write_frame(market.prices, out)
        click.echo(f"wrote {market.prices.height} price rows for {len(market.roots)} roots to {out}")
        click.echo("note: a prices file keeps no instruments or held contracts; --out DIRECTORY keeps both")
        return
    write_long(market, out)
    click.echo(f"wrote {market.prices.height} price rows for {len(market.roots)} roots to {out}/")


def format_table(frame: pl.DataFrame) -> str:
    """A frame as aligned plain text (floats to 2 decimals, nulls as '-')."""
    cells = frame.select(
        pl.col(name).round(2).cast(pl.String) if dtype.is_float() else pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
    ).fill_null("-")
    columns = [[name] + cells.get_column(name).to_list() for name in cells.columns]
    widths = [max(len(value) for value in column) for column in columns]
    lines = []
    for row in zip(*columns):
        lines.append("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
    return "\n".join(lines)
