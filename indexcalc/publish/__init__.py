"""Publishing: levels, weights and tables as files, HTML factsheets, methodology documents and
the site's index page (DESIGN.md sections 5 and 7).

Layout of a publication folder (``outputs/`` by default)::

    index.html                          every index, latest level, 1-day and YTD change
    factsheets/INDEX.html               factsheet per index
    methodology/INDEX.html              methodology document per index
    levels/INDEX.csv                    date,level,daily_return
    levels/all_levels.parquet           index_id,date,level,daily_return of every index
    weights/INDEX.csv                   the weights behind the levels
    <table>/INDEX.csv                   each family table (analytics, trades, stress...)

The publication is staged and swapped in as a whole (:func:`atomic.publish_directory`): a failed
run leaves the previous one in place; other folders of ``out_dir`` (the ledger) are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.publish.atomic import atomic_write_text, publish_directory
from indexcalc.publish.factsheet import FactsheetInputs, long_only_reference, render_factsheet
from indexcalc.publish.levels import write_data_files
from indexcalc.publish.methodology import render_methodology
from indexcalc.publish.progress import DelayedProgress
from indexcalc.publish.site import render_site_index
from indexcalc.results import IndexResult

__all__ = ["PublicationInputs", "publication_inputs", "publish_all", "write_publication"]


@dataclass(frozen=True)
class PublicationInputs:
    """Market-derived inputs shared by every factsheet: ``rolls``, the roll rule used per index
    id; ``root_levels``, the single-commodity ER levels ``date, root, level`` per roll rule (its
    JSON), for the contributions; ``risk_free``, ``date, collateral_return`` for the Sharpe and
    Sortino ratios of TR indexes (None without TR indexes or rates)."""

    rolls: dict[str, object]
    root_levels: dict[str, pl.DataFrame]
    risk_free: pl.DataFrame | None

    def for_index(self, index_id: str) -> tuple[object, pl.DataFrame | None]:
        rule = self.rolls.get(index_id)
        key = rule.model_dump_json() if rule is not None else None
        return rule, self.root_levels.get(key)


def publication_inputs(results: dict[str, IndexResult], market: MarketData) -> PublicationInputs:
    """Build the series once per roll rule in use, for the roots the indexes' weights hold, and
    the collateral returns on the union of the indexes' dates (the same functions and rule
    choice as :func:`indexcalc.pipeline.rebuild_all`)."""
    from indexcalc.pipeline import roll_rule_for
    from indexcalc.series import build_series, collateral_returns

    rolls = {index_id: roll_rule_for(result.spec, market) for index_id, result in results.items()}
    held: dict[str, set[str]] = {}
    for index_id, result in results.items():
        held.setdefault(rolls[index_id].model_dump_json(), set()).update(result.weights.get_column("root").unique())
    available = set(market.roots)
    root_levels: dict[str, pl.DataFrame] = {}
    for rule in rolls.values():
        key = rule.model_dump_json()
        roots = sorted(held[key] & available)
        if key not in root_levels and roots:
            root_levels[key] = build_series(market, rule, roots=roots).select("date", "root", "level")
    risk_free = None
    if any(result.spec.return_type == "tr" for result in results.values()) and market.rates.height:
        dates = pl.concat([result.levels.get_column("date") for result in results.values()]).unique().sort()
        risk_free = collateral_returns(market.rates, dates)
    return PublicationInputs(rolls, root_levels, risk_free)


def write_publication(
    results: dict[str, IndexResult],
    market: MarketData,
    out_dir: Path,
    inputs: PublicationInputs,
    progress: DelayedProgress | None = None,
) -> None:
    """Write every file of the publication into ``out_dir`` (no staging; see :func:`publish_all`)."""
    write_data_files(results, out_dir)
    if progress:
        progress.advance("levels, weights and tables")
    for index_id, result in results.items():
        roll, root_levels = inputs.for_index(index_id)
        factsheet = render_factsheet(
            FactsheetInputs(
                result=result,
                instruments=market.instruments,
                long_only=long_only_reference(result.spec, results),
                root_levels=root_levels,
                risk_free=inputs.risk_free,
                roll=roll,
            )
        )
        atomic_write_text(out_dir / "factsheets" / f"{index_id}.html", factsheet)
        atomic_write_text(
            out_dir / "methodology" / f"{index_id}.html", render_methodology(result.spec, market.instruments, roll)
        )
        if progress:
            progress.advance(index_id)
    atomic_write_text(out_dir / "index.html", render_site_index(results))
    if progress:
        progress.advance("index page")


def publish_all(
    results: dict[str, IndexResult], market: MarketData, out_dir: Path, progress: bool = False
) -> None:
    """Publish ``results`` into ``out_dir`` atomically (staged, then swapped in).

    ``progress``: show a progress bar on stderr if the run takes longer than a second.
    """
    with DelayedProgress(total=len(results) + 3, description="publishing", enabled=progress) as bar:
        inputs = publication_inputs(results, market)
        bar.advance("series for contributions")
        with publish_directory(out_dir) as staging:
            write_publication(results, market, staging, inputs, bar)
