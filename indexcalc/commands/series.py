"""``indexcalc series``: linked single-commodity series per root (DESIGN.md section 2).

Writes ``OUT/ROOT.csv`` per root (``date, root, level, daily_return, tr_level, carry,
held_contracts``, plus ``disrupted`` with ``--carry-forward``) and ``OUT/series.parquet`` with
every root and column. Every file is written to a temporary name and renamed into place; the
series are computed completely before the first file is written.
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from indexcalc.cli import main
from indexcalc.clock import run_today
from indexcalc.commands.data import market_options
from indexcalc.data.load import load_market
from indexcalc.data.longformat import write_frame
from indexcalc.series import build_series
from indexcalc.specs.base import DataRoll, WindowRoll

CSV_COLUMNS = ("date", "root", "level", "daily_return", "tr_level", "carry", "held_contracts")
PARQUET_NAME = "series.parquet"
ROLL_RULES = {"window": WindowRoll(), "data": DataRoll()}


def write_series(series: pl.DataFrame, directory: Path, flag_disruptions: bool) -> list[Path]:
    """``ROOT.csv`` per root and ``series.parquet`` in ``directory``; returns the paths."""
    columns = list(CSV_COLUMNS) + (["disrupted"] if flag_disruptions else [])
    written = [
        write_frame(frame.select(columns), directory / f"{root}.csv")
        for (root,), frame in series.partition_by("root", as_dict=True, maintain_order=True).items()
    ]
    written.append(write_frame(series, directory / PARQUET_NAME))
    return written


@main.command("series")
@market_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for ROOT.csv files and series.parquet (created if needed).")
@click.option("--roll", "roll", type=click.Choice(sorted(ROLL_RULES)), default=None,
              help="Roll rule: the index roll window (business days 5-9) or the contract the data "
                   "holds (pysystemtrade PRICE). Default: data when the market names held "
                   "contracts, else window.")
@click.option("--carry-forward", is_flag=True,
              help="On a market disruption carry the last settle forward and flag the row "
                   "(column disrupted) instead of stopping with an error.")
def series_command(
    data_path: Path | None, data_format: str | None, out_dir: Path, roll: str | None, carry_forward: bool
) -> None:
    """Linked excess-return, total-return and carry series for every root of the market."""
    market = load_market(data_path, data_format, not_after=run_today())
    roll = roll or ("data" if market.held is not None else "window")
    series = build_series(market, ROLL_RULES[roll], disruption="carry_forward" if carry_forward else "error")
    write_series(series, out_dir, carry_forward)
    roots = series.get_column("root").n_unique()
    disrupted = series.get_column("disrupted").sum()
    click.echo(
        f"{roots} roots, {series.height} rows ({roll} roll) written to {out_dir}"
        + (f"; {disrupted} disrupted rows carried forward" if carry_forward else "")
    )
