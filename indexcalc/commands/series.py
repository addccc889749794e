"""``indexcalc series``: linked single-commodity series per root (docs/design.md section 2).

Writes ``OUT/ROOT.csv`` per root (``date, root, level, daily_return, tr_level, carry,
carry_near, carry_far, held_contracts, disrupted``: the carry and the two contracts it was
taken from) and ``OUT/series.parquet`` with every root and column. Every file is written to a
temporary name and renamed into place; the series are computed completely before the first file
is written. Market disruptions follow docs/design.md section 2
(:func:`indexcalc.series.build_series`).
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
from indexcalc.disruption import MAX_DISRUPTED_SESSIONS
from indexcalc.series import build_series
from indexcalc.specs.base import DataRoll, WindowRoll

CSV_COLUMNS = (
    "date", "root", "level", "daily_return", "tr_level", "carry", "carry_near", "carry_far", "held_contracts",
    "disrupted",
)
PARQUET_NAME = "series.parquet"
ROLL_RULES = {"window": WindowRoll(), "data": DataRoll()}


def write_series(series: pl.DataFrame, directory: Path) -> list[Path]:
    """``ROOT.csv`` per root and ``series.parquet`` in ``directory``; returns the paths."""
    written = [
        write_frame(frame.select(CSV_COLUMNS), directory / f"{root}.csv")
        for (root,), frame in series.partition_by("root", as_dict=True, maintain_order=True).items()
    ]
    written.append(write_frame(series, directory / PARQUET_NAME))
    return written


def disruption_options(command):
    """``--max-disrupted-sessions N`` and ``--carry-forward``; the command receives
    ``max_disrupted_sessions`` and ``carry_forward`` (:func:`disruption_policy` turns them
    into build_series arguments)."""
    command = click.option(
        "--carry-forward", is_flag=True,
        help="Carry held contracts' last settlements through any number of consecutive disrupted "
             "sessions (no limit; the roll still waits for the settlements).")(command)
    return click.option(
        "--max-disrupted-sessions", type=click.IntRange(min=0), default=MAX_DISRUPTED_SESSIONS, show_default=True,
        help="Market disruption (a held contract without a settlement on a session): the price is "
             "kept, flagged, and the roll waits; more consecutive disrupted sessions than this stop "
             "the run (0: the first one stops it).")(command)


def disruption_policy(max_disrupted_sessions: int, carry_forward: bool) -> dict:
    """build_series keyword arguments for the disruption options."""
    if carry_forward:
        return {"disruption": "carry_forward"}
    return {"disruption": "rules", "max_disrupted_sessions": max_disrupted_sessions}


@main.command("series")
@market_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for ROOT.csv files and series.parquet (created if needed).")
@click.option("--roll", "roll", type=click.Choice(sorted(ROLL_RULES)), default=None,
              help="Roll rule: the index roll window (business days 5-9) or the contract the data "
                   "holds (pysystemtrade PRICE). Default: data when the market names held "
                   "contracts, else window.")
@disruption_options
def series_command(
    data_path: Path | None, data_format: str | None, out_dir: Path, roll: str | None,
    max_disrupted_sessions: int, carry_forward: bool,
) -> None:
    """Linked excess-return, total-return and carry series for every root of the market.

    Market disruptions follow docs/design.md section 2: a held contract without a settlement on
    a session keeps its last one (column disrupted), a roll step due then waits for the next
    session with settlements, and more than --max-disrupted-sessions consecutive disrupted
    sessions of a root stop the run with one line naming root, contract and dates."""
    market = load_market(data_path, data_format, not_after=run_today())
    roll = roll or ("data" if market.held is not None else "window")
    series = build_series(market, ROLL_RULES[roll], **disruption_policy(max_disrupted_sessions, carry_forward))
    write_series(series, out_dir)
    roots = series.get_column("root").n_unique()
    disrupted = series.get_column("disrupted").sum()
    click.echo(
        f"{roots} roots, {series.height} rows ({roll} roll) written to {out_dir}; "
        f"{disrupted} disrupted sessions (last settlement kept, roll postponed)"
    )
