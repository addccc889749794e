"""Magnitude of each commodity in the momentum family (docs/design.md section 3).

Dollar open interest of root ``i`` on its business day ``t`` (USD)::

    DOI_{i,t} = sum_c OI_{c,t} * multiplier_i * F_{c,t}

averaged over the trailing window ending at the rebalance date ``r`` (the daily values of the
``window_months`` calendar months ending with ``r``'s month, see
:func:`indexcalc.rules.calendar.window_means`), normalised over the index's roots
``m_i = avgDOI_i / sum_j avgDOI_j`` and capped (:func:`cap_weights`).

Sources of open interest (``MagnitudeSpec.source``):

- ``open_interest``: the per-contract open interest of the market's prices frame;
- ``cftc``: the weekly CFTC total futures open interest (contracts) of each root's market, known
  ``release_lag_days`` calendar days after its report date (positions as of Tuesday are
  published on Friday), forward-filled to the root's business days and valued at the nearest
  listed contract's settlement: ``DOI_{i,t} = OI^{CFTC}_{i,known at t} * multiplier_i * F_{front,t}``;
- ``fixed``: given weights, normalised over the index's roots, the same at every rebalance.

A ``cftc`` magnitude with ``cftc_fallback = "mean_of_reported"`` covers roots the CFTC file does
not report (:func:`impute_unreported`): at each rebalance such a root's average is the mean
``A = (1 / n_R) sum_{j in R} avgDOI_j`` over the reported roots ``R`` with a full window, so after
normalisation over ``n`` roots a reported root gets ``(n_R / n) * avgDOI_i / sum_{j in R} avgDOI_j``
and every unreported root ``1 / n`` (equal shares of the weight the reported roots leave), then the cap.

The only I/O is :func:`read_cftc_open_interest` (the file reader, called at the edge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from indexcalc.data.instruments import Instrument
from indexcalc.data.longformat import read_table
from indexcalc.errors import DataError, SpecError
from indexcalc.panel import Panel
from indexcalc.rules.calendar import in_root_date_order

CAP_TOLERANCE = 1e-12
"""Slack of the feasibility test ``positive roots * cap >= 1`` (10 * 0.1 is not exactly 1)."""

CFTC_SCHEMA: dict[str, pl.DataType] = {"report_date": pl.Date(), "market": pl.String(), "open_interest": pl.Float64()}
"""Columns of the CFTC open-interest file: weekly report date, market name, contracts."""

MAGNITUDE_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "root": pl.String(), "magnitude": pl.Float64()}


def cap_weights(weights: Sequence[float] | np.ndarray, cap: float) -> np.ndarray:
    """Normalise non-negative weights to sum 1, then cap each at ``cap`` (fraction).

    Iterative proportional redistribution (docs/design.md section 3): every weight above the cap is
    set to the cap and the excess is shared among the uncapped weights in proportion to their
    weights; repeated until no weight exceeds the cap. Since the weights sum to 1, sharing the
    excess is scaling the uncapped weights by ``(1 - cap * n_capped) / sum(uncapped)``, so order is
    preserved and a zero weight stays zero.

    ``weights`` is one vector, or a matrix whose rows are capped independently (one row per
    rebalance date). A :class:`SpecError` when the cap cannot hold: fewer than ``1 / cap``
    positive weights in a row. A :class:`DataError` for a negative, non-finite or all-zero row.
    """
    matrix = np.array(weights, dtype=float, ndmin=2)
    if matrix.ndim != 2:
        raise DataError(f"weights must be a vector or a matrix, got {matrix.ndim} dimensions")
    if not (0.0 < cap <= 1.0):
        raise SpecError(f"magnitude cap must be in (0, 1], got {cap}")
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise DataError("magnitude weights must be finite and non-negative")
    totals = matrix.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise DataError("magnitude weights of a rebalance sum to zero")
    matrix = matrix / totals
    positive = (matrix > 0).sum(axis=1)
    if (positive * cap < 1.0 - CAP_TOLERANCE).any():
        fewest = int(positive.min())
        raise SpecError(
            f"magnitude cap {cap:g} cannot hold over {fewest} root(s) with positive weight "
            f"({fewest} x {cap:g} < 1): needs at least {math.ceil(1.0 / cap - CAP_TOLERANCE)} roots "
            f"or a cap of at least {1.0 / fewest:.4g}"
        )
    capped = np.zeros(matrix.shape, dtype=bool)
    for _ in range(matrix.shape[1]):  # each pass caps at least one more weight
        over = (matrix > cap) & ~capped
        if not over.any():
            break
        capped |= over
        uncapped_total = np.where(capped, 0.0, matrix).sum(axis=1, keepdims=True)
        room = 1.0 - cap * capped.sum(axis=1, keepdims=True)
        scale = np.divide(room, uncapped_total, out=np.zeros_like(room), where=uncapped_total > 0)
        matrix = np.where(capped, cap, matrix * scale)
    return matrix[0] if np.ndim(weights) == 1 else matrix


def dollar_open_interest(
    prices: pl.DataFrame,
    instruments: Mapping[str, Instrument],
    roots: Sequence[str],
    block_rows: int | None = None,
) -> pl.DataFrame:
    """``date, root, dollar_open_interest``: DOI_{i,t} = sum_c OI_{c,t} * multiplier_i * F_{c,t} (USD).

    ``prices`` is the market's ``date, root, contract, settle, open_interest`` frame. Open
    interest missing for a root is a :class:`SpecError` naming the root (the index then needs
    the ``cftc`` or ``fixed`` magnitude source).

    The market's prices are sorted by root and date (:mod:`indexcalc.data.market`; every root
    is in ``instruments``), so each (root, date) is a run of consecutive rows and the contract
    sum is a segmented sum over run starts (numpy ``add.reduceat``): a hash group-by over
    millions of rows costs several times more. Prices found out of order are sorted first.
    The sums are taken over blocks of whole roots of about ``block_rows`` price rows
    (:func:`indexcalc.keyed_prices.root_blocks`; ``None``: :data:`indexcalc.keyed_prices.PRICE_BLOCK_ROWS`), so
    that the per-row products take a block's memory; each day's sum is the same whatever the blocks.
    """
    # imported here: indexcalc.rolls imports the specs, which import this module
    from indexcalc.keyed_prices import PRICE_BLOCK_ROWS, root_blocks

    block_rows = PRICE_BLOCK_ROWS if block_rows is None else block_rows
    wanted = list(roots)
    parts = []
    for _, block in root_blocks(prices, wanted, block_rows):
        daily = _daily_contract_values(block, instruments)
        if daily is None:
            return dollar_open_interest(prices.sort("root", "date", "contract"), instruments, roots, block_rows)
        parts.append(daily.filter(pl.col("root").is_in(wanted)))
    daily = pl.concat(parts) if len(parts) > 1 else parts[0]
    missing = daily.filter(pl.col("value").is_nan())
    if missing.height:
        first = missing.sort("date", "root").row(0, named=True)
        contract = (
            prices.filter((pl.col("root") == first["root"]) & (pl.col("date") == first["date"]))
            .filter(pl.col("open_interest").is_null() | pl.col("settle").is_null())
            .item(0, "contract")
        )
        raise SpecError(
            f"open interest or settle missing on {first['date']} (contract {contract}): "
            "magnitude source 'open_interest' needs them; use source 'cftc' or 'fixed'",
            key=f"root {first['root']}",
        )
    multiplier = _multipliers(instruments, roots)
    return daily.select(
        "date",
        "root",
        (pl.col("value") * pl.col("root").replace_strict(multiplier["root"], multiplier["multiplier"])).alias(
            "dollar_open_interest"
        ),
    )


def _daily_contract_values(prices: pl.DataFrame, instruments: Mapping[str, Instrument]) -> pl.DataFrame | None:
    """``date, root, value``: sum_c OI_{c,t} * F_{c,t} per root and date of ``prices`` (NaN where
    an open interest or settle is null), or None when ``prices`` is not sorted by root, date."""
    selected = prices.select("date", "root", "contract", "settle", "open_interest")
    # runs start where the date changes or a root's block begins (binary search in the sorted
    # root column: comparing millions of strings row by row costs more than the sum itself)
    run_start = selected.select((pl.col("date") != pl.col("date").shift(1)).fill_null(True)).to_series().to_numpy()
    root_blocks = selected.get_column("root").search_sorted(pl.Series(sorted(instruments), dtype=pl.String)).to_numpy()
    run_start = run_start.copy()
    run_start[root_blocks[root_blocks < selected.height]] = True
    starts = np.flatnonzero(run_start)
    daily = selected.select("date", "root").filter(pl.Series(run_start))
    if not in_root_date_order(daily):
        return None
    contract_value = selected.select(pl.col("open_interest") * pl.col("settle")).to_series()
    # a null open interest or settle makes the day's sum NaN: found by the caller, per selected root
    value = np.add.reduceat(contract_value.fill_null(np.nan).to_numpy(), starts) if starts.size else []
    return daily.with_columns(pl.Series("value", value, dtype=pl.Float64))


def read_cftc_open_interest(path: Path | str) -> pl.DataFrame:
    """Read the CFTC file (``report_date, market, open_interest``; CSV or Parquet) into
    :data:`CFTC_SCHEMA`. A missing column, or an empty, unreadable or negative value, is a
    :class:`DataError` naming the file and row."""
    path = Path(path)
    frame, first_row = read_table(path)
    absent = [column for column in CFTC_SCHEMA if column not in frame.columns]
    if absent:
        raise DataError(f"missing column(s) {', '.join(absent)}", file=str(path), key="columns")
    report_date = pl.col("report_date")
    as_text = frame.schema["report_date"] == pl.String  # CSV cells arrive as text, Parquet typed
    parsed = frame.select(
        report_date.str.to_date(strict=False) if as_text else report_date.cast(pl.Date, strict=False),
        pl.col("market").cast(pl.String),
        pl.col("open_interest").cast(pl.Float64, strict=False),
    )
    bad = parsed.with_row_index("row", offset=first_row).filter(
        pl.any_horizontal(pl.col(list(CFTC_SCHEMA)).is_null()) | (pl.col("open_interest") < 0)
    )
    if bad.height:
        row = frame.row(bad.item(0, "row") - first_row, named=True)
        raise DataError(
            f"empty, unreadable or negative value (report_date {row['report_date']}, market {row['market']}, "
            f"open_interest {row['open_interest']})",
            file=str(path),
            key=f"row {bad.item(0, 'row')}",
        )
    return parsed


def cftc_dollar_open_interest(
    reports: pl.DataFrame,
    markets: Mapping[str, str],
    prices: pl.DataFrame,
    instruments: Mapping[str, Instrument],
    roots: Sequence[str],
    release_lag_days: int,
) -> pl.DataFrame:
    """``date, root, dollar_open_interest`` from weekly CFTC reports (USD).

    On each of the root's price dates ``t``: the open interest of the latest report with
    ``report_date + release_lag_days <= t`` (forward fill; none before the first release) times
    the multiplier times the settlement of the nearest contract priced on ``t``.
    """
    unmapped = [root for root in roots if root not in markets]
    if unmapped:
        raise SpecError(
            "magnitude source 'cftc' has no CFTC market for this root (add it to cftc_markets)",
            key=f"root {unmapped[0]}",
        )
    known_markets = set(reports.get_column("market").unique().to_list())
    for root in roots:
        if markets[root] not in known_markets:
            raise DataError(
                f"CFTC market {markets[root]!r} (for root {root}) is not in the open-interest reports",
                key=f"root {root}",
            )
    released = (
        reports.join(
            pl.DataFrame({"root": list(roots), "market": [markets[root] for root in roots]}), on="market", how="inner"
        )
        .select(
            pl.col("report_date").dt.offset_by(f"{release_lag_days}d").alias("date"), "root", "open_interest"
        )
        .sort("date")
    )
    front = (
        prices.filter(pl.col("root").is_in(list(roots)) & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
        .sort("root", "date", "contract")
        .group_by("root", "date", maintain_order=True)
        .agg(pl.col("settle").first().alias("front_settle"))
        .sort("date")
    )
    return (
        front.join_asof(released, on="date", by="root", strategy="backward", check_sortedness=False)
        .drop_nulls("open_interest")
        .join(_multipliers(instruments, roots), on="root", how="left")
        .select(
            "date",
            "root",
            (pl.col("open_interest") * pl.col("multiplier") * pl.col("front_settle")).alias("dollar_open_interest"),
        )
        .sort("root", "date")
    )


def magnitude_weights(averages: Panel, cap: float, members: Panel | None = None) -> Panel:
    """Per rebalance date (row) ``r`` with members ``M_r``: ``m_i = avg_i / sum_{j in M_r} avg_j``
    for ``i in M_r``, capped at ``cap`` (:func:`cap_weights`); 0 for a non-member.

    ``averages``: the open-interest averages (rebalance dates x roots; NaN where none).
    ``members``: a boolean panel on the same dates and roots (a reconstituted universe,
    :mod:`indexcalc.families.momentum.reconstitution`), or None: every root a member at every
    date. Rows without a member are left out. Non-members enter the capping matrix at zero (a
    zero weight stays zero, so the result is the magnitude over the members, bit for bit the
    fixed-universe one when every root is a member). A member without an average is a
    :class:`DataError` naming the root and the date (the first in date, then root order).
    """
    if members is None:
        member = np.ones(averages.values.shape, dtype=bool)
    else:
        rows = np.flatnonzero(members.values.any(axis=1))
        averages, member = averages.take(rows), members.values[rows]
    missing = np.argwhere(member & np.isnan(averages.values))
    if missing.size:
        row, column = missing[0]
        raise DataError(
            f"no open-interest average on {averages.dates[int(row)]} (no observation in the window)",
            key=f"root {averages.roots[int(column)]}",
        )
    weights = averages.values if members is None else np.where(member, averages.values, 0.0)
    return Panel(averages.dates, averages.roots, cap_weights(weights, cap))


def member_magnitude_weights(averages: pl.DataFrame, members: pl.DataFrame, cap: float) -> pl.DataFrame:
    """``date, root, magnitude`` of the members only (``members``: ``date, root``; a reconstituted
    universe) from ``averages`` (``date, root, average`` of every candidate root at every date):
    :func:`magnitude_weights` with a members panel, on the panels of these frames; sorted by
    date, root. A member outside the averages is a :class:`DataError`; the caller checks
    beforehand that every date has at least ``1 / cap`` members."""
    panel = Panel.from_long(averages, "average")
    member = Panel.from_long(members.with_columns(pl.lit(1.0).alias("member")), "member", dates=panel.dates,
                             roots=panel.roots, fill=0.0)
    member = Panel(member.dates, member.roots, member.values > 0.0)
    if int(member.values.sum()) != members.height:
        raise DataError("magnitude averages incomplete for a member", key="rebalance")
    magnitude = magnitude_weights(panel, cap, members=member)
    held = member.values[np.flatnonzero(member.values.any(axis=1))]
    return (
        magnitude.to_long("magnitude")
        .filter(pl.Series(held.T.ravel()))
        .select(list(MAGNITUDE_SCHEMA))
        .sort("date", "root")
    )


def impute_unreported(
    average: np.ndarray, has_average: np.ndarray, full_window: np.ndarray, reported: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebalances x roots ``average, has_average, full_window`` with every unreported column
    (``reported`` false) replaced by the row's mean over the reported columns with an average and
    a full window: ``A_r = (1 / |R_r|) sum_{j in R_r} avgDOI_{j,r}``. Normalising the row then
    gives the reported roots ``|R_r| / n`` of the weight in proportion to open interest and each
    unreported root ``1 / n`` (with every reported root counted). A row with no such reported
    column leaves the unreported columns without an average (not eligible)."""
    reported = np.asarray(reported, dtype=bool)
    counted = has_average & full_window & reported[None, :]
    count = counted.sum(axis=1)
    total = np.where(counted, average, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
    unreported = ~reported[None, :]
    known = (count > 0)[:, None]
    return (
        np.where(unreported, mean[:, None], average),
        np.where(unreported, known, has_average),
        np.where(unreported, known, full_window),
    )


def fixed_magnitude(fixed_weights: Mapping[str, float], roots: Sequence[str], rebalances: pl.Series, cap: float) -> Panel:
    """The given weights of ``roots`` (columns sorted), normalised and capped
    (:func:`cap_weights`), the same at every rebalance date (rows). Weights of roots outside
    ``roots`` are ignored (one table serves the sector sub-indexes); a root without a weight is a
    :class:`SpecError` (the first in the caller's order)."""
    fixed_weights_of(fixed_weights, roots)  # a missing weight named in the caller's root order
    ordered = sorted(roots)
    capped = cap_weights(fixed_weights_of(fixed_weights, ordered), cap)
    return Panel(rebalances, pl.Series("root", ordered, dtype=pl.String), np.tile(capped, (rebalances.len(), 1)))


def fixed_weights_of(fixed_weights: Mapping[str, float], roots: Sequence[str]) -> list[float]:
    """The given weights of ``roots``, in their order; a root without one is a :class:`SpecError`."""
    missing = [root for root in roots if root not in fixed_weights]
    if missing:
        raise SpecError("magnitude source 'fixed' has no weight for this root", key=f"root {missing[0]}")
    return [fixed_weights[root] for root in roots]


def _multipliers(instruments: Mapping[str, Instrument], roots: Sequence[str]) -> pl.DataFrame:
    unknown = [root for root in roots if root not in instruments]
    if unknown:
        raise SpecError("root not in the instrument catalogue", key=f"root {unknown[0]}")
    return pl.DataFrame(
        {"root": list(roots), "multiplier": [instruments[root].multiplier for root in roots]},
        schema={"root": pl.String(), "multiplier": pl.Float64()},
    )
