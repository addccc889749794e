"""The column registry of the published family tables: what each column of a family table is
called on a page, its unit and how its values are written (docs/design.md section 7).

Every family table shown on a page goes through :func:`column_for`, so one column name reads the
same on every factsheet: ``pnl`` of a stress scenario is a percentage of the index level,
``pnl`` of a trade is US dollars. A table shows the columns :data:`SHOWN_COLUMNS` lists for it
(what a reader needs, narrow enough for a 1280 px screen and an A4 page); its CSV, linked from
the page, keeps every column.

Formats (:class:`Format`): ``percent`` (a fraction, 0.0123 -> ``1.23%``), ``basis_points``
(0.0001 -> ``1.0 bp``), ``money`` (``USD -2,868,087``), ``contracts`` (a whole count), ``date``
(ISO), ``text`` (left-aligned), ``ratio`` (unitless, 2 decimals), ``number`` (4 significant
figures), ``points`` (index points, 2 decimals), ``days`` (a whole count), ``direction``
(Long/Short/Flat), ``flag`` (yes/no). Numbers are right-aligned, text and dates left-aligned.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from enum import Enum

from indexcalc.publish.formatting import MISSING, unsigned_zero, direction, sector_label


class Format(str, Enum):
    """How a column's values are written (see the module docstring)."""

    PERCENT = "percent"
    BASIS_POINTS = "basis_points"
    MONEY = "money"
    CONTRACTS = "contracts"
    DATE = "date"
    TEXT = "text"
    RATIO = "ratio"
    NUMBER = "number"
    POINTS = "points"
    DAYS = "days"
    DIRECTION = "direction"
    FLAG = "flag"
    SECTOR = "sector"


NUMERIC_FORMATS = frozenset(
    {Format.PERCENT, Format.BASIS_POINTS, Format.MONEY, Format.CONTRACTS, Format.RATIO, Format.NUMBER,
     Format.POINTS, Format.DAYS}
)


@dataclass(frozen=True)
class Column:
    """One published column: ``label`` (the header), ``format``, ``unit`` (shown in the header
    when the cells do not carry it: ``ann.`` for an annualised figure), ``digits`` (decimals of
    a percent, ratio or basis-point figure) and ``currency`` (money)."""

    label: str
    format: Format
    unit: str = ""
    digits: int = 2
    currency: str = "USD"

    @property
    def numeric(self) -> bool:
        return self.format in NUMERIC_FORMATS

    @property
    def header(self) -> str:
        """The header text: the label with its unit in brackets, if any."""
        if self.format is Format.MONEY:
            return f"{self.label} ({self.currency})"
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def write(self, value: object) -> str:
        """``value`` as shown in a cell (:data:`MISSING` when absent or not finite)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return MISSING
        kind = self.format
        if kind is Format.PERCENT:
            return unsigned_zero(f"{value * 100:,.{self.digits}f}") + "%"
        if kind is Format.BASIS_POINTS:
            return unsigned_zero(f"{value * 10_000:,.{max(self.digits - 1, 0)}f}") + " bp"
        if kind is Format.MONEY:
            return unsigned_zero(f"{value:,.0f}")
        if kind in (Format.CONTRACTS, Format.DAYS):
            return f"{int(value):,}"
        if kind is Format.RATIO:
            return unsigned_zero(f"{value:,.{self.digits}f}")
        if kind is Format.POINTS:
            return unsigned_zero(f"{value:,.2f}")
        if kind is Format.NUMBER:
            return _significant(float(value))
        if kind is Format.DATE:
            return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
        if kind is Format.DIRECTION:
            return direction(value)
        if kind is Format.FLAG:
            return "yes" if value else "no"
        if kind is Format.SECTOR:
            return sector_label(str(value))
        return _words(str(value))


def _significant(value: float, figures: int = 4) -> str:
    """``value`` to ``figures`` significant figures, thousands separated, no exponent for
    values from 1e-4 up."""
    if value == 0.0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(figures - 1 - magnitude, 0)
    if abs(value) < 1e-4:
        return f"{value:.{figures - 1}e}"
    return unsigned_zero(f"{value:,.{decimals}f}")


def _words(text: str) -> str:
    """An identifier-like cell (``stop_loss``) in words (``stop loss``); other text unchanged."""
    return text.replace("_", " ") if re.fullmatch(r"[a-z0-9_]+", text) else text


def _column(label: str, format: Format, unit: str = "", digits: int = 2) -> Column:
    return Column(label, format, unit, digits)


P, R, T, D = Format.PERCENT, Format.RATIO, Format.TEXT, Format.DATE
COLUMNS: dict[str, Column] = {
    "date": _column("Date", D),
    "root": _column("Root", T),
    "group": _column("Group", Format.SECTOR),
    "sector": _column("Sector", Format.SECTOR),
    "period": _column("Period", T),
    "start_date": _column("From", D),
    "end_date": _column("To", D),
    "start": _column("From", D),
    "end": _column("To", D),
    "weight": _column("Weight", P),
    "start_weight": _column("Weight at start", P),
    "root_return": _column("Commodity return", P),
    "contribution": _column("Contribution", P),
    "selection": _column("Selection", P),
    "timing": _column("Timing", P),
    "risk_contribution": _column("Risk contribution", P),
    "equal_weight_return": _column("Equal-weight return", P),
    "buy_and_hold_return": _column("Buy-and-hold return", P),
    "volatility": _column("Volatility", P, "ann."),
    "correlation_with_portfolio": _column("Correlation with index", R),
    "average_correlation": _column("Average correlation", R),
    "pairs_below": _column("Pairs below threshold", Format.CONTRACTS),
    "alert": _column("Alert", Format.FLAG),
    "pair": _column("Pair", T),
    "ratio": _column("Price ratio", Format.NUMBER),
    "zscore": _column("z-score", R),
    "state": _column("State", T),
    "scenario": _column("Scenario", T),
    "description": _column("Description", T),
    "horizon_days": _column("Horizon", Format.DAYS, "days"),
    "pnl_points": _column("P&L", Format.POINTS, "index points"),
    "nominal_carry": _column("Nominal carry", P, "ann."),
    "inflation": _column("Inflation", P, "ann."),
    "real_carry": _column("Real carry", P, "ann."),
    "seasonal_component": _column("Seasonal component", P, "ann."),
    "seasonal_carry": _column("Seasonally adjusted carry", P, "ann."),
    "vol_adjusted_carry": _column("Carry / volatility", R),
    "relative_global": _column("Relative to all", R),
    "relative_group": _column("Relative to group", R),
    "signal": _column("Signal", R),
    "observations": _column("Observations", Format.CONTRACTS),
    "pearson": _column("Pearson", R),
    "pearson_pvalue": _column("Pearson p-value", R, digits=3),
    "kendall": _column("Kendall", R),
    "kendall_pvalue": _column("Kendall p-value", R, digits=3),
    "accuracy": _column("Accuracy", P, digits=1),
    "balanced_accuracy": _column("Balanced accuracy", P, digits=1),
    "years": _column("Years", Format.CONTRACTS),
    "share_years_balanced_accuracy_above_half": _column("Years with balanced accuracy > 50%", P, digits=0),
    "entry_date": _column("Entry", D),
    "exit_date": _column("Exit", D),
    "direction": _column("Direction", Format.DIRECTION),
    "contracts": _column("Contracts", Format.CONTRACTS),
    "contract": _column("Contract", T),
    "entry_price": _column("Entry price", Format.POINTS),
    "exit_price": _column("Exit price", Format.POINTS),
    "entry_reason": _column("Entry reason", T),
    "reason": _column("Exit reason", T),
    "costs": Column("Costs", Format.MONEY),
    "front_return": _column("Front return", P),
    "usd_index": _column("USD index", Format.NUMBER),
    "china_pmi": _column("China PMI", Format.NUMBER),
    "lme_copper_stocks": _column("LME copper stocks", Format.NUMBER),
    "alpha": _column("Alpha", Format.NUMBER),
    "beta_usd_index": _column("Beta USD index", Format.NUMBER),
    "beta_china_pmi": _column("Beta China PMI", Format.NUMBER),
    "beta_lme_copper_stocks": _column("Beta LME stocks", Format.NUMBER),
    "forecast": _column("Forecast", P, digits=3),
    "blocked": _column("Blocked", Format.FLAG),
    "atr": _column("ATR", Format.POINTS),
    "carry_spread": _column("Carry spread", P),
    "position": _column("Position", Format.CONTRACTS, "contracts"),
    "sample": _column("Sample", T),
    "days": _column("Days", Format.DAYS),
    "annualised_return": _column("Return", P, "ann."),
    "sharpe": _column("Sharpe", R),
    "max_drawdown": _column("Max drawdown", P),
    "hit_rate": _column("Hit rate", P, digits=0),
    "trades": _column("Trades", Format.CONTRACTS),
    "time_in_market": _column("Time in market", P, digits=0),
    "average_dollar_open_interest": Column("Average open interest", Format.MONEY),
    "full_window": _column("Full window", Format.FLAG),
    "eligible": _column("Eligible", Format.FLAG),
    "rank": _column("Rank", Format.CONTRACTS),
    "member": _column("Member", Format.FLAG),
    "magnitude": _column("Magnitude", P),
}
"""Columns by name, the same in every table unless :data:`TABLE_COLUMNS` says otherwise."""

TABLE_COLUMNS: dict[tuple[str, str], Column] = {
    ("stress", "pnl"): _column("P&L", P, "of level"),
    ("trades", "pnl"): Column("P&L", Format.MONEY),
    ("trades", "contract"): _column("Contract", Format.CONTRACTS),
    ("signals", "signal"): _column("Signal", Format.DIRECTION),
    ("signals", "contract"): _column("Contract", Format.CONTRACTS),
    ("sample_stats", "volatility"): _column("Volatility", P, "ann."),
    ("attribution", "directional"): Column("Directional P&L", Format.MONEY),
    ("attribution", "roll"): Column("Roll P&L", Format.MONEY),
    ("attribution", "total"): Column("Total P&L", Format.MONEY),
}
"""Columns whose meaning depends on the table (``pnl`` of a stress scenario vs of a trade)."""

SHOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "stress": ("scenario", "description", "horizon_days", "pnl", "pnl_points"),
    "attribution": ("period", "root", "start_weight", "root_return", "contribution", "selection", "timing"),
    "carry_stages": ("root", "group", "nominal_carry", "real_carry", "seasonal_carry", "volatility", "zscore",
                     "signal"),
    "analytics": ("period", "observations", "pearson", "pearson_pvalue", "kendall", "accuracy", "balanced_accuracy"),
    "trades": ("entry_date", "exit_date", "direction", "contracts", "entry_price", "exit_price", "reason", "pnl"),
    "signals": ("date", "front_return", "forecast", "signal", "blocked", "atr", "carry_spread", "position"),
    "sample_stats": ("sample", "start", "end", "annualised_return", "volatility", "sharpe", "max_drawdown",
                     "hit_rate", "trades"),
    "universe": ("root", "average_dollar_open_interest", "full_window", "eligible", "rank", "member"),
}
"""The columns a page shows of a wide family table (in this order, those the table has); the
other tables show every column. The CSV keeps them all."""

MAX_SHOWN_COLUMNS = 9
"""A table not in :data:`SHOWN_COLUMNS` shows at most this many columns (correlation matrices
of many roots are drawn as a heatmap as well)."""


def column_for(table: str, name: str, dtype_is_numeric: bool = True) -> Column:
    """The registry's column ``name`` of ``table``: a table-specific entry, then the general
    one; ``shock_<ROOT>`` is a stress shock in percent; a column named by a root (a correlation
    matrix) is a ratio; an unknown column is a number or text by its type, labelled in words."""
    if (table, name) in TABLE_COLUMNS:
        return TABLE_COLUMNS[(table, name)]
    if name in COLUMNS:
        return COLUMNS[name]
    if name.startswith("shock_"):
        return _column(f"Shock {name.removeprefix('shock_')}", P)
    if table == "correlation_matrix":
        return _column(name, R)
    label = name.replace("_", " ")
    return _column(label[:1].upper() + label[1:], Format.NUMBER if dtype_is_numeric else T)


def shown_columns(table: str, columns: list[str]) -> list[str]:
    """The columns of ``table`` a page shows (see :data:`SHOWN_COLUMNS`; a table with none of
    them shows its own first :data:`MAX_SHOWN_COLUMNS`)."""
    wanted = SHOWN_COLUMNS.get(table)
    chosen = [column for column in wanted if column in columns] if wanted else []
    # a table of that name with other columns (the copper strategy's attribution): its own
    return chosen or columns[:MAX_SHOWN_COLUMNS]
