"""Prices keyed for the roll engine and the series: contract-month arithmetic, integer lookup
keys per root, day and contract, the keyed price table and each root's business days
(docs/design.md section 2).

Contracts are ``YYYYMM`` integers; a contract month is handled as a month index ``year * 12 +
month - 1`` so that month arithmetic is integer addition. A root's business days are the dates
on which the market has prices for it. ``day_key`` packs (root position, day number) and
``price_key`` (root position, day number, contract) into one integer each (:data:`KEY_SCALE`),
so lookups are binary searches and sorts are on one column.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from indexcalc.data.instruments import Instrument
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError


MONTHS_PER_YEAR = 12


def contract_month_index(contract: pl.Expr) -> pl.Expr:
    """``YYYYMM`` contract -> month index ``year * 12 + month - 1`` (Int32)."""
    contract = contract.cast(pl.Int32)
    return (contract // 100) * MONTHS_PER_YEAR + contract % 100 - 1


def month_index_contract(month_index: pl.Expr) -> pl.Expr:
    """Month index ``year * 12 + month - 1`` -> ``YYYYMM`` contract (Int32)."""
    return ((month_index // MONTHS_PER_YEAR) * 100 + month_index % MONTHS_PER_YEAR + 1).cast(pl.Int32)


def select_roots(market: MarketData, roots: list[str] | None) -> list[str]:
    """The roots to work on, sorted: all roots with prices, or ``roots`` (each must have prices)."""
    available = market.roots  # found once per market (MarketData caches it)
    if roots is None:
        return available
    missing = sorted(set(roots) - set(available))
    if missing:
        raise DataError("no prices for this root", file=market.source or None, key=f"root {missing[0]}")
    return sorted(set(roots))


def price_roots(prices: pl.DataFrame) -> list[str]:
    """The sorted roots that have prices (cheap when the frame is sorted by root)."""
    runs = _root_runs(prices)
    if runs is not None:
        return runs.get_column("value").to_list()
    return sorted(prices.get_column("root").unique().to_list())


def _root_runs(prices: pl.DataFrame) -> pl.DataFrame | None:
    """``len, value``: the runs of equal ``root`` values, if each root is one run and the runs
    are in root order (the documented sort of the prices frame); None otherwise."""
    runs = prices.select(pl.col("root").rle()).unnest("root")
    values = runs.get_column("value")
    if values.null_count() or not (values.shift(-1) > values).head(values.len() - 1).all():
        return None
    return runs


PRICE_BLOCK_ROWS = 4_000_000
"""Price rows per block of roots (:func:`root_blocks`) in work done root by root over the price
rows: a memory bound (a block's intermediates are a few hundred bytes per row), not a
methodology parameter, since the results are the same for any block size. Markets up to this
size are one block."""


def root_blocks(prices: pl.DataFrame, roots: list[str], max_rows: int) -> list[tuple[list[str], pl.DataFrame]]:
    """``prices`` cut into blocks of whole roots, each holding about ``max_rows`` rows of ``roots``.

    Returns ``(block roots, block prices)`` pairs in root order; together the block roots are
    the sorted ``roots``. A root with more than ``max_rows`` rows is a block of its own. On
    prices sorted by root (the documented order) a block's prices are a zero-copy slice from
    its first root's rows to its last root's (rows of other roots in between are left for the
    caller to drop, as :func:`indexed_prices` does); otherwise, or when all the prices fit, one
    block ``(sorted roots, prices)``. Work done per root (roll schedules, linked series) can
    then run block by block, so that its per-price-row intermediates take a block's memory
    rather than the whole market's.
    """
    wanted = sorted(roots)
    if prices.height <= max_rows:
        return [(wanted, prices)]
    runs = _root_runs(prices)
    if runs is None:
        return [(wanted, prices)]
    keep = set(wanted)
    blocks: list[list] = []  # [roots, first row, end row, rows of the roots]
    offset = 0
    for root, length in zip(runs.get_column("value").to_list(), runs.get_column("len").to_list()):
        if root in keep:
            if blocks and blocks[-1][3] + length <= max_rows:
                blocks[-1][0].append(root)
                blocks[-1][2] = offset + length
                blocks[-1][3] += length
            else:
                blocks.append([[root], offset, offset + length, length])
        offset += length
    if len(blocks) <= 1:
        return [(wanted, prices)]
    return [(block, prices.slice(first, end - first)) for block, first, end, _ in blocks]


KEY_SCALE = 2**20
"""Packing base of the integer lookup keys: contracts (YYYYMM) and day numbers are below it."""


def root_id(roots: list[str]) -> pl.Expr:
    """Position of ``root`` in the sorted ``roots`` (Int64; null for a root not in ``roots``)."""
    return pl.col("root").cast(pl.Enum(sorted(roots)), strict=False).to_physical().cast(pl.Int64)


def day_key(roots: list[str], date: str = "date") -> pl.Expr:
    """Integer key of (root, date), increasing in root then date."""
    return root_id(roots) * KEY_SCALE + pl.col(date).cast(pl.Int32).cast(pl.Int64)


def price_key(roots: list[str], date: str = "date", contract: str = "contract") -> pl.Expr:
    """Integer key of (root, date, contract), increasing in root, date, contract."""
    return day_key(roots, date) * KEY_SCALE + pl.col(contract).cast(pl.Int64)


def indexed_prices(prices: pl.DataFrame, roots: list[str], source: str = "") -> pl.DataFrame:
    """The prices of ``roots`` sorted by root, date, contract, with integer keys.

    Columns ``date, root, contract, settle, day_key, price_key`` (see :func:`day_key`,
    :func:`price_key`); ``price_key`` is strictly increasing, so lookups are binary searches.
    A duplicated (date, root, contract) is a DataError.
    """
    frame = prices.select("date", "root", "contract", "settle")
    runs = _root_runs(frame)
    price_key = None
    if runs is not None and frame.get_column("date").null_count() == 0 and frame.get_column("contract").null_count() == 0:
        frame, price_key = _keyed_runs(frame, runs, roots)
    elif runs is not None:
        # Sorted by root: each run's position in ``roots`` (-1: not wanted), repeated per row.
        position = {root: index for index, root in enumerate(sorted(roots))}
        run_ids = np.array([position.get(root, -1) for root in runs.get_column("value").to_list()], dtype=np.int64)
        ids = pl.Series("root_position", np.repeat(run_ids, runs.get_column("len").to_numpy()))
        frame = frame.with_columns(ids)
        if (run_ids < 0).any():
            frame = frame.filter(pl.col("root_position") >= 0)
    else:
        frame = frame.with_columns(root_id(roots).alias("root_position")).filter(pl.col("root_position").is_not_null())
    if price_key is None:
        day = pl.col("root_position") * KEY_SCALE + pl.col("date").cast(pl.Int32).cast(pl.Int64)
        frame = frame.with_columns(day.alias("day_key")).with_columns(
            (pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64)).alias("price_key")
        ).drop("root_position")
        in_order = frame.select((pl.col("price_key").diff() > 0).all()).item()
    else:
        in_order = bool((price_key[1:] > price_key[:-1]).all())
    if not in_order:
        frame = frame.sort("price_key")
        duplicated = frame.filter(pl.col("price_key").is_duplicated())
        if duplicated.height:
            date, root, contract = duplicated.row(0)[:3]
            raise DataError(
                "duplicated price row", file=source or None, key=f"root {root}, contract {contract}, date {date}"
            )
    return frame


def _keyed_runs(frame: pl.DataFrame, runs: pl.DataFrame, roots: list[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """``frame`` (sorted by root, no null date or contract) cut to ``roots``, with ``day_key`` and
    ``price_key`` built in numpy from the root runs (the same integers as :func:`price_key`: a
    root's position times KEY_SCALE plus the date's day number, and so on, without a pass of
    polars expressions and their temporaries over every price row)."""
    position = {root: index for index, root in enumerate(sorted(roots))}
    run_ids = np.array([position.get(root, -1) for root in runs.get_column("value").to_list()], dtype=np.int64)
    lengths = runs.get_column("len").to_numpy()
    wanted = run_ids >= 0
    if not wanted.all():
        frame = frame.filter(pl.Series(np.repeat(wanted, lengths)))
        run_ids, lengths = run_ids[wanted], lengths[wanted]
    day_keys = np.repeat(run_ids * KEY_SCALE, lengths)
    day_keys += frame.get_column("date").to_physical().to_numpy()
    price_keys = day_keys * KEY_SCALE
    price_keys += frame.get_column("contract").to_numpy()
    return frame.with_columns(pl.Series("day_key", day_keys), pl.Series("price_key", price_keys)), price_keys


def lookup_settle(prices: pl.DataFrame, keys: pl.Series) -> pl.Series:
    """Settle of each ``price_key`` in ``keys`` from :func:`indexed_prices` output (null if absent)."""
    known = prices.get_column("price_key")
    if known.len() == 0:
        return pl.Series("settle", [None] * keys.len(), dtype=pl.Float64)
    position = known.search_sorted(keys, side="left").clip(0, known.len() - 1)
    found = known.gather(position) == keys
    return pl.select(
        pl.when(found).then(prices.get_column("settle").gather(position)).alias("settle")
    ).to_series()


def business_days(prices: pl.DataFrame, roots: list[str] | None = None) -> pl.DataFrame:
    """The business days of each root: the dates on which it has prices.

    Columns ``root, date, day_key, day_index`` (0, 1, ... per root), ``month`` (month index
    ``year * 12 + month - 1``), ``day_of_month`` (business day number in the month, from 1),
    ``days_in_month`` (business days the root has in that month) and ``month_complete`` (the root
    has a later date, so the month's business days are all known). Sorted by root, date.
    """
    roots = price_roots(prices) if roots is None else sorted(roots)
    return indexed_business_days(indexed_prices(prices, roots))


def indexed_business_days(indexed: pl.DataFrame) -> pl.DataFrame:
    """:func:`business_days` of prices already passed through :func:`indexed_prices`."""
    # Rows are sorted by root and date, so per-root and per-month counts are distances between
    # run starts and ends (cheaper than window expressions).
    root_position = pl.col("day_key") // KEY_SCALE
    month = (pl.col("date").dt.year() * MONTHS_PER_YEAR + pl.col("date").dt.month() - 1).cast(pl.Int32)
    new_root = root_position != root_position.shift(1)
    new_month = new_root | (pl.col("month") != pl.col("month").shift(1))
    last_of_root = root_position != root_position.shift(-1)
    last_of_month = last_of_root | (pl.col("month") != pl.col("month").shift(-1))
    row = pl.int_range(pl.len(), dtype=pl.Int32)
    return (
        indexed.lazy()
        .filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
        .select("root", "date", "day_key", month.alias("month"))
        .with_columns(
            (row - pl.when(new_root.fill_null(True)).then(row).forward_fill()).alias("day_index"),
            (row - pl.when(new_month.fill_null(True)).then(row).forward_fill() + 1).alias("day_of_month"),
            (
                pl.when(last_of_month.fill_null(True)).then(row).backward_fill()
                - pl.when(new_month.fill_null(True)).then(row).forward_fill()
                + 1
            ).alias("days_in_month"),
            (pl.col("month") < pl.when(last_of_root.fill_null(True)).then(pl.col("month")).backward_fill()).alias(
                "month_complete"
            ),
        )
        .collect()
    )


def instruments_for(market: MarketData, roots: list[str], rule_name: str) -> list[Instrument]:
    """The instruments of ``roots``; a root without one is a SpecError naming the roll rule."""
    missing = [root for root in roots if root not in market.instruments]
    if missing:
        raise SpecError(
            f"no instrument definition (the {rule_name} roll needs its months and roll terms)",
            file=market.source or None,
            key=f"root {missing[0]}",
        )
    return [market.instruments[root] for root in roots]


def month_mask(roots: list[str], months: dict[str, tuple[int, ...]]) -> pl.Expr:
    """True where the delivery month of ``contract`` is in ``months[root]`` (e.g. hold months),
    on frames with a ``day_key`` (a table lookup by root position and calendar month)."""
    table = pl.Series(
        [month in set(months[root]) for root in sorted(roots) for month in range(1, MONTHS_PER_YEAR + 1)]
    )
    position = (pl.col("day_key") // KEY_SCALE) * MONTHS_PER_YEAR + pl.col("contract").cast(pl.Int64) % 100 - 1
    return pl.lit(table).gather(position)
