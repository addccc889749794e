"""A market built from several sources with a stated priority per root (docs/design.md section 1).

A merge spec (TOML) names the sources, highest priority first, and may reorder them per root:

    [[source]]                       # the first source has the highest priority
    name = "settlements"
    format = "tenors"                # tenors | pysystemtrade | long
    path = "energy_settlements.csv"  # relative to the spec file
    expiries = "contract_expiries.csv"
    # tenors = "tenors.toml"         # [[tenor]] prefix -> root mapping (default CL, BRN, NG)

    [[source]]
    name = "pysystemtrade"
    format = "pysystemtrade"
    path = "pysystemtrade"

    [priority]                       # optional, per root: the sources it uses, in order
    GAS_US = ["pysystemtrade", "settlements"]

    # held = "pysystemtrade"         # the source of the held-contract frame (default: the first
                                     # source that has one)

Merge rule, for every (date, root, contract): settle = the settle of the highest-priority source
of the root that prices it; the provenance frame keeps that source and the next one that priced
the same key (:mod:`indexcalc.data.provenance`). A root's instrument comes from the held source,
else from the first source that defines it. A row dated on a day that is not a session of its
root's calendar is left out, so the merged dates stay sessions; so is, unless ``fill_days =
true``, a row of a lower-priority source on a day inside a higher-priority source's span (first
to last date it prices the root) that the latter does not price at all: that day is not a
settlement day (a US holiday on which Globex trades and intraday rows exist, for instance), so
the preferred source is the calendar within its span. Both are counted in :class:`Merge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexcalc.data.instruments import Instrument
from indexcalc.data.market import HELD_SCHEMA, PRICES_SCHEMA, MarketData
from indexcalc.data.provenance import DEFAULT_RELATIVE_TOLERANCE, PROVENANCE_SCHEMA
from indexcalc.data.longformat import read_long
from indexcalc.data.pysystemtrade import read_pysystemtrade
from indexcalc.data.tenors import DEFAULT_TENOR_MAPPINGS, load_tenor_mappings, read_tenor_market, root_sessions
from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import SpecError

SourceFormat = Literal["tenors", "pysystemtrade", "long"]


class MergeSource(BaseModel):
    """One source of a merge spec; ``expiries`` (and optionally ``tenors``) for tenor files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    format: SourceFormat
    path: Path
    expiries: Path | None = None
    tenors: Path | None = None

    @model_validator(mode="after")
    def _expiries_for_tenors(self) -> "MergeSource":
        if self.format == "tenors" and self.expiries is None:
            raise ValueError("a tenors source needs expiries (the expiry calendar CSV)")
        if self.format != "tenors" and (self.expiries is not None or self.tenors is not None):
            raise ValueError("expiries and tenors only apply to a tenors source")
        return self


class MergeSpec(BaseModel):
    """Sources in priority order (first = highest), optional per-root orders, held source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[MergeSource, ...] = Field(min_length=1)
    priority: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    held: str | None = None
    fill_days: bool = False
    relative_tolerance: float = Field(DEFAULT_RELATIVE_TOLERANCE, ge=0)

    @model_validator(mode="after")
    def _known_names(self) -> "MergeSpec":
        names = [source.name for source in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        for root, order in self.priority.items():
            unknown = [name for name in order if name not in names]
            if unknown or not order or len(set(order)) != len(order):
                raise ValueError(f"priority.{root} must list distinct source names from {names}, got {list(order)}")
        if self.held is not None and self.held not in names:
            raise ValueError(f"held names no source ({self.held!r}; sources: {names})")
        return self

    def order(self, root: str) -> tuple[str, ...]:
        """The sources a root uses, highest priority first."""
        return self.priority.get(root, tuple(source.name for source in self.sources))


NOT_A_SESSION = "not a session"
NOT_PREFERRED_DAY = "day the preferred source does not price"
LEFT_OUT_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.String(),
    "source": pl.String(),
    "reason": pl.String(),
    "rows": pl.UInt32(),
    "first": pl.Date(),
}


@dataclass(frozen=True)
class Merge:
    """The merged market and the price rows the merge left out."""

    market: MarketData
    left_out: pl.DataFrame
    """``root, source, reason, rows, first``: rows left out per root, source and reason
    (:data:`NOT_A_SESSION`, :data:`NOT_PREFERRED_DAY`) and the first date
    concerned."""


def load_merge_spec(path: Path | str) -> MergeSpec:
    """A merge spec TOML (module docstring); relative paths are taken from the spec's folder."""
    path = Path(path)
    raw = read_toml(path)
    sources = raw.pop("source", None)
    if not isinstance(sources, list):
        raise SpecError("no [[source]] tables (name, format, path)", file=str(path))
    base = path.parent
    for source in sources:
        for key in ("path", "expiries", "tenors"):
            if isinstance(source.get(key), str):
                source[key] = base / source[key]
    try:
        return MergeSpec(sources=tuple(sources), **raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=str(path)) from None


def read_sources(spec: MergeSpec) -> tuple[dict[str, MarketData], pl.DataFrame]:
    """Every source of ``spec`` read and validated, by name, and the rows their importers left
    out (``root, source, reason, rows, first``: a tenor file's settlements that are
    not on a session). Tenor files are read last, with the other sources' instruments for the
    roots those define."""
    markets: dict[str, MarketData] = {}
    for source in spec.sources:
        if source.format == "pysystemtrade":
            markets[source.name] = read_pysystemtrade(source.path)
        elif source.format == "long":
            markets[source.name] = read_long(source.path)
    instruments = _instruments(spec, markets)
    left_out = []
    for source in spec.sources:
        if source.format == "tenors":
            mappings = DEFAULT_TENOR_MAPPINGS if source.tenors is None else load_tenor_mappings(source.tenors)
            imported = read_tenor_market(source.path, source.expiries, mappings, instruments)
            markets[source.name] = imported.market
            left_out.append(
                imported.non_session.with_columns(pl.lit(source.name).alias("source"), pl.lit(NOT_A_SESSION).alias("reason"))
            )
    found = _left_out_counts(pl.concat(left_out) if left_out else None)
    return {source.name: markets[source.name] for source in spec.sources}, found


def merge_markets(markets: dict[str, MarketData], spec: MergeSpec, source: str = "") -> Merge:
    """The market of the merge rule (module docstring) over ``markets`` (name -> market)."""
    instruments = _instruments(spec, markets)
    used = [
        _ranked_prices(name, market, spec, instruments)
        for name, market in markets.items()
        if market.prices.height and any(name in spec.order(root) for root in market.roots)
    ]
    if not used:
        raise SpecError("no source prices a root that lists it in its priority", file=source or None)
    ranked = pl.concat(used)
    sessions = root_sessions(ranked, instruments)
    in_session = ranked.join(sessions, on=["root", "date"], how="semi")
    not_preferred = _not_preferred_days(in_session) if not spec.fill_days else in_session.head(0)
    kept = in_session.join(not_preferred, on=["root", "date", "rank"], how="anti")
    left_out = _left_out_counts(
        pl.concat(
            [
                ranked.join(sessions, on=["root", "date"], how="anti").with_columns(
                    pl.lit(NOT_A_SESSION).alias("reason")
                ),
                in_session.join(not_preferred, on=["root", "date", "rank"], how="semi").with_columns(
                    pl.lit(NOT_PREFERRED_DAY).alias("reason")
                ),
            ]
        )
    )
    # In key then rank order, the first row of a key wins and the next row (same key) is compared.
    key = ("root", "date", "contract")
    same_as_next = pl.all_horizontal(pl.col(name) == pl.col(name).shift(-1) for name in key).fill_null(False)
    same_as_previous = pl.all_horizontal(pl.col(name) == pl.col(name).shift(1) for name in key).fill_null(False)
    with_next = (
        kept.sort(*key, "rank")
        .with_columns(
            pl.when(same_as_next).then(pl.col("source").shift(-1)).alias("compared_source"),
            pl.when(same_as_next).then(pl.col("settle").shift(-1)).alias("compared_settle"),
        )
        .filter(~same_as_previous)
    )
    prices = with_next.select(pl.col(name).cast(dtype) for name, dtype in PRICES_SCHEMA.items())
    provenance = with_next.select(pl.col(name).cast(dtype) for name, dtype in PROVENANCE_SCHEMA.items())
    held = _held(markets, spec)
    if held is not None:
        held = held.join(sessions, on=["root", "date"], how="semi").filter(
            pl.col("root").is_in(prices.get_column("root").unique().implode())
        )
    roots = set(prices.get_column("root").unique().to_list())
    market = MarketData(
        prices=prices,
        instruments={root: instrument for root, instrument in instruments.items() if root in roots},
        rates=_first_non_empty(markets, spec, "rates"),
        inflation=_first_non_empty(markets, spec, "inflation"),
        macro=_first_non_empty(markets, spec, "macro"),
        held=held,
        source=source,
        provenance=provenance,
    )
    return Merge(market, left_out)


def read_merged(path: Path | str) -> Merge:
    """Read the sources of the merge spec at ``path`` and merge them; ``left_out`` counts the
    rows the importers and the merge left out."""
    spec = load_merge_spec(path)
    markets, left_at_import = read_sources(spec)
    merged = merge_markets(markets, spec, str(path))
    left_out = pl.concat([left_at_import, merged.left_out]).sort("root", "source", "reason")
    return Merge(merged.market, left_out)


# --- steps -----------------------------------------------------------------------------------


def _ranked_prices(
    name: str, market: MarketData, spec: MergeSpec, instruments: dict[str, Instrument]
) -> pl.DataFrame:
    """The source's prices of the roots that use it, with ``source`` and ``rank`` (0 = first)."""
    ranks = {root: spec.order(root).index(name) for root in instruments if name in spec.order(root)}
    return (
        market.prices.filter(pl.col("root").is_in(list(ranks)))
        .with_columns(
            pl.lit(name).alias("source"),
            pl.col("root").replace_strict(ranks, return_dtype=pl.Int32).alias("rank"),
        )
    )


def _left_out_counts(rows: pl.DataFrame | None) -> pl.DataFrame:
    """``root, source, reason, rows, first`` of left-out rows (``date, root, source, reason``)."""
    if rows is None:
        return pl.DataFrame(schema=LEFT_OUT_SCHEMA)
    return (
        rows.group_by("root", "source", "reason")
        .agg(pl.len().alias("rows"), pl.col("date").min().alias("first"))
        .cast(LEFT_OUT_SCHEMA)
        .select(LEFT_OUT_SCHEMA.keys())
        .sort("root", "source", "reason")
    )


def _not_preferred_days(prices: pl.DataFrame) -> pl.DataFrame:
    """``root, date, rank``: days of a source that fall inside the span of a higher-priority
    source of the root on which that source prices nothing (module docstring)."""
    days = prices.select("root", "date", "rank").unique()
    spans = days.group_by("root", "rank").agg(
        pl.col("date").min().alias("span_first"), pl.col("date").max().alias("span_last")
    )
    inside = (
        days.join(spans.rename({"rank": "preferred"}), on="root")
        .filter((pl.col("preferred") < pl.col("rank")) & pl.col("date").is_between("span_first", "span_last"))
    )
    return (
        inside.join(days.rename({"rank": "preferred"}), on=["root", "date", "preferred"], how="anti")
        .select("root", "date", "rank")
        .unique()
    )


def _instruments(spec: MergeSpec, markets: dict[str, MarketData]) -> dict[str, Instrument]:
    """Per root: the held source's instrument, else the first source's (spec order) that has one."""
    order = [source.name for source in spec.sources]
    held = _held_source(spec, markets)
    if held is not None:
        order = [held] + [name for name in order if name != held]
    instruments: dict[str, Instrument] = {}
    for name in order:
        if name in markets:
            for root, instrument in markets[name].instruments.items():
                instruments.setdefault(root, instrument)
    return instruments


def _held_source(spec: MergeSpec, markets: dict[str, MarketData]) -> str | None:
    if spec.held is not None:
        return spec.held
    with_held = [name for name, market in markets.items() if market.held is not None]
    return next((source.name for source in spec.sources if source.name in with_held), None)


def _held(markets: dict[str, MarketData], spec: MergeSpec) -> pl.DataFrame | None:
    name = _held_source(spec, markets)
    if name is None:
        return None
    held = markets[name].held
    if held is None:
        raise SpecError(f"held source {name!r} has no held contracts")
    return held.select(pl.col(column).cast(dtype) for column, dtype in HELD_SCHEMA.items())


def _first_non_empty(markets: dict[str, MarketData], spec: MergeSpec, frame: str) -> pl.DataFrame:
    """The first source's (spec order) non-empty reference frame (rates, inflation, macro)."""
    frames = [getattr(markets[source.name], frame) for source in spec.sources if source.name in markets]
    return next((candidate for candidate in frames if candidate.height), frames[0])
