"""The daily run's stored day state and what the ledger alone tells (docs/design.md section 7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.daystate import DayState, reference_fingerprint
from indexcalc.errors import StateError
from indexcalc.ledger import Ledger, input_hash, methodology_version
from indexcalc.operations.options import Disruption
from indexcalc.pipeline import rule_key
from indexcalc.specs import IndexSpecBase

LEDGER_FOLDER = "ledger"
STATE_FILE = "day-state.json"
"""The daily run's stored state (:mod:`indexcalc.daystate`), in the ledger folder."""
# --- the stored state -----------------------------------------------------------------------------


def state_path(out_dir: Path | str) -> Path:
    """Where the daily run keeps its state (:data:`STATE_FILE` in the ledger folder)."""
    return Path(out_dir) / LEDGER_FOLDER / STATE_FILE


def read_state(path: Path) -> DayState | None:
    """The stored state at ``path``; None when there is none or it cannot be read (the state is
    a cache of the ledger and the data: without it the run calculates in full)."""
    try:
        return DayState.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_state(path: Path, state: DayState | None) -> None:
    """Write the state atomically (remove it when ``state`` is None)."""
    from indexcalc.atomic import atomic_write_bytes

    if state is None:
        path.unlink(missing_ok=True)
        return
    atomic_write_bytes(path, state.model_dump_json().encode())


def state_problem(
    state: DayState | None,
    published: pl.DataFrame,
    specs: list[IndexSpecBase],
    market: MarketData,
    disruption: Disruption,
    data_hash: str | None = None,
) -> str | None:
    """Why ``state`` cannot continue the published state on ``market`` (None when it can): it
    must be as of the last published date, hold for each index its last published date and
    level exactly, have been computed with the same specs, roll rules, disruption policy,
    instruments and package version, and on the same data up to its date: ``data_hash`` is the
    :func:`indexcalc.ledger.input_hash` of ``market.up_to(state.as_of)`` (computed here when None)."""
    if state is None:
        return "no stored state"
    if state.as_of != published.get_column("date").max():
        return f"the stored state is as of {state.as_of}, not the last published date"
    if state.disruption != disruption:
        return "the stored state was computed with another disruption policy"
    if state.reference != reference_fingerprint(market):
        return "the instruments or the indexcalc version changed since the stored state"
    for spec in specs:
        index = state.indexes.get(spec.id)
        if index is not None and (index.methodology != methodology_version(spec) or index.rule != rule_key(spec, market)):
            return f"the spec or roll rule of {spec.id} changed since the stored state"
    last = published.group_by("index_id").agg(pl.col("date").last(), pl.col("level").last())
    stored = pl.DataFrame(
        [(index_id, index.last_date, index.last_level) for index_id, index in state.indexes.items()],
        schema={"index_id": pl.String(), "state_date": pl.Date(), "state_level": pl.Float64()},
        orient="row",
    )
    moved = stored.join(last, on="index_id", how="left").filter(
        (pl.col("date") != pl.col("state_date")).fill_null(True) | (pl.col("level") != pl.col("state_level")).fill_null(True)
    )
    if moved.height:
        return f"the stored state of {moved.item(0, 'index_id')} is not its last published level"
    if (data_hash or input_hash(market.up_to(state.as_of))) != state.input_hash:
        return f"the data up to {state.as_of} changed since the stored state"
    return None


def published_already(out_dir: Path | str, date: dt.date, publish: bool) -> bool:
    """Whether a run for ``date`` has nothing to do, judged from the ledger alone (before the
    market is loaded): ``date`` is published and either earlier than the last published date
    (never republished) or ``publish`` is False (a publishing run of the last date republishes
    it, which repairs an interrupted publication)."""
    ledger = Ledger(Path(out_dir) / LEDGER_FOLDER)
    if not ledger.exists():
        return False
    dates = ledger.read_all().get_column("date")
    return bool((dates == date).any()) and (date < dates.max() or not publish)


# --- history ------------------------------------------------------------------------------------


def published_history(ledger_dir: Path | str, index_id: str, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """``date, level, version, run_time, calculated_level``: the official levels of
    ``index_id`` as published at ``as_of`` (None: now; naive = UTC) and the full-precision
    levels the calculation continues from. An index with nothing published by then is a
    StateError."""
    ledger = Ledger(ledger_dir)
    if not ledger.exists():
        raise StateError("no ledger here (nothing published yet)", file=str(ledger.directory))
    view = ledger.current(as_of).filter(pl.col("index_id") == index_id)
    if view.is_empty():
        when = f" at {as_of.isoformat()}" if as_of is not None else ""
        raise StateError(f"nothing published for this index{when}", file=str(ledger.directory), key=f"index {index_id}")
    return view.select("date", pl.col("official_level").alias("level"), "version", "run_time",
                       pl.col("level").alias("calculated_level"))
