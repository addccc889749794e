"""``indexcalc data ...``: check, report on and import market data (docs/design.md section 1).

:func:`market_options` gives any command the shared ``--data PATH --format FMT`` options;
the command then calls :func:`indexcalc.data.load.load_market` with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
import polars as pl

from indexcalc.cli import data
from indexcalc.clock import run_today
from indexcalc.data.load import DATA_FORMATS, load_market, refuse_future_market
from indexcalc.data.longformat import write_frame, write_long
from indexcalc.data.provenance import merge_report
from indexcalc.data.pysystemtrade import DEFAULT_TIME_ZONE
from indexcalc.data.pysystemtrade import import_pysystemtrade as read_pysystemtrade_with_report
from indexcalc.data.quality import QualitySpec, coverage, quality_report
from indexcalc.data.validate import validate_inflation, validate_macro, validate_prices, validate_rates
from indexcalc.disruption import MAX_DISRUPTED_SESSIONS

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
@click.option("--roll", "roll", type=click.Choice(["data", "window"]), default=None,
              help="Roll rule to check with, as `indexcalc series --roll`. Default: data when the market "
                   "names held contracts, else window.")
@click.option("--max-disrupted-sessions", type=click.IntRange(min=0), default=MAX_DISRUPTED_SESSIONS,
              show_default=True, help="The calculation's limit of consecutive disrupted sessions (as for series).")
@click.option("--carry-forward", is_flag=True, help="Check as a run with --carry-forward (no limit).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (one object) instead of a table.")
def check(path: Path | None, data_format: str | None, roll: str | None, max_disrupted_sessions: int,
          carry_forward: bool, as_json: bool) -> None:
    """Validate market data and run every check the calculation runs, per root.

    PATH is a long-format prices file (.csv/.parquet: date, root, contract, settle
    [, volume, open_interest]), a long-format directory (prices.* [, rates.*, inflation.*,
    macro.*, held.*, instruments.toml]) or a pysystemtrade folder (multiple_prices_csv/,
    csvconfig/). Without PATH the embedded market is checked.

    Per root: rows, contracts, sessions, the importer's own report when it gives one,
    disrupted sessions (a held contract without a settlement: last settlement kept), the longest
    run of them and the first, roll steps that waited (late_rolls), held contracts never priced,
    and data ending before the market's last date (docs/design.md section 2). A file that cannot
    be read is one line (file, row or key, problem) and exit code 2; so is every case that makes
    `indexcalc series` (same roll, same limit) stop, after the table, with the same root,
    contract and date.
    """
    from indexcalc.checks import check_market
    from indexcalc.commands.series import ROLL_RULES, disruption_policy

    market = load_market(path, data_format, not_after=run_today())
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
    roll = roll or ("data" if market.held is not None else "window")
    report = check_market(market, ROLL_RULES[roll], **disruption_policy(max_disrupted_sessions, carry_forward))
    sources = merge_report(market.prices, market.provenance) if market.provenance is not None else None
    if as_json:
        extra = {"roll": roll}
        if sources is not None:
            extra["sources"] = sources.to_dicts()
        click.echo(json.dumps(report.as_json() | extra, indent=1, default=str))
    else:
        click.echo(format_table(report.table.drop("problem")))
        if sources is not None:
            click.echo("sources (merged market):")
            click.echo(format_table(sources))
        for root, problem in report.problems.iter_rows():
            click.echo(f"{root}: {problem}")
    if report.error is not None:
        raise report.error
    if not as_json:
        click.echo(f"OK: {report.table.height} roots, {report.first} to {report.last}")


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
    market = load_market(path, data_format, not_after=run_today())
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
@click.option(
    "--time-zone",
    "time_zone",
    default=DEFAULT_TIME_ZONE,
    show_default=True,
    help="Time zone of the files' DATETIME stamps (an IANA name such as UTC or Europe/London).",
)
def import_pysystemtrade(directory: Path, out: Path, time_zone: str) -> None:
    """Convert a pysystemtrade data folder DIRECTORY to the long format.

    Reads multiple_prices_csv/ROOT.csv and csvconfig/ (instruments). Each row goes to a session
    of its root's exchange (an evening row after the exchange's reopen to the next session); a
    session's close is taken from its daily 23:00 rows and the intraday rows at or before the
    root's settlement time (PRICE, FORWARD and CARRY give the contracts priced, each closing at
    its last eligible price; the PRICE_CONTRACT of the last eligible row is the held contract).
    Files are written atomically (temporary file, then rename). Prints the import report per
    root: rows read, sessions, rows re-attributed to another date, rows after the settlement
    time, sessions closed by a daily or an intraday row.
    """
    imported = read_pysystemtrade_with_report(directory, time_zone=time_zone)
    market = imported.market
    refuse_future_market(market, run_today())
    report = imported.report.frame().select(
        "root", "calendar", "rows", "sessions", "reattributed", "after_settlement", "daily_closes", "intraday_closes"
    )
    click.echo(f"stamps read as {time_zone}")
    click.echo(format_table(report))
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
