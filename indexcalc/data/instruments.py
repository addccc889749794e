"""Instrument catalogue: one immutable model per futures root (docs/design.md section 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import SpecError

MONTH_CODES = "FGHJKMNQUVXZ"
"""Futures delivery-month letters, January (F) to December (Z)."""

Sector = Literal["energy", "base_metals", "precious_metals", "grains", "softs", "livestock", "other"]

SECTOR_LABELS = {
    "base_metals": "Base metals",
    "energy": "Energy",
    "grains": "Grains",
    "precious_metals": "Precious metals",
    "softs": "Softs",
    "livestock": "Livestock",
    "other": "Other",
}
"""Sector identifiers of the instrument catalogue as a reader sees them."""


def sector_label(sector: str | None) -> str:
    """``precious_metals`` -> ``Precious metals`` (an unknown identifier: underscores as spaces,
    first letter capitalised)."""
    if sector is None:
        return "–"
    if sector in SECTOR_LABELS:
        return SECTOR_LABELS[sector]
    words = sector.replace("_", " ")
    return words[:1].upper() + words[1:]


DEFAULT_INSTRUMENTS_PATH = Path(__file__).resolve().parents[2] / "data" / "instruments.toml"


def month_numbers(codes: str) -> tuple[int, ...]:
    """Month letters ('HKNUZ') to month numbers (3, 5, 7, 9, 12)."""
    return tuple(MONTH_CODES.index(code) + 1 for code in codes)


class Instrument(BaseModel):
    """A futures root: contract terms, listed and held months, roll and expiry rules.

    Prices are in the exchange's quoted unit (``price_unit``); ``multiplier`` converts one
    quoted unit of one contract into USD (so dollar open interest = OI * multiplier * settle).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    root: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str
    sector: Sector
    exchange: str
    calendar: str = Field(description="exchange_calendars code of the exchange's business days")
    currency: str = "USD"
    multiplier: float = Field(gt=0, description="USD per quoted price unit per contract")
    price_unit: str = ""
    listed_months: str = Field(description="delivery months listed, e.g. 'FGHJKMNQUVXZ'")
    hold_months: str = Field(description="delivery months the index may hold, a subset of listed")
    roll_months_before: int = Field(
        1, ge=0, le=3, description="the roll out of a contract happens this many months before its delivery month"
    )
    expiry_months_before: int = Field(0, ge=0, le=3, description="last trade falls this many months before delivery")
    expiry_business_day: int = Field(
        -3, description="n-th business day of the expiry month (negative: counted from the end)"
    )
    first_notice_offset: int | None = Field(
        None, description="first notice day = this many business days before the delivery month's first business day"
    )
    # Sane bounds of the root's price rows (docs/design.md section 1); None: the defaults of
    # indexcalc.data.validate (|settle| <= 1e7, 0 or |settle| >= 1e-6, a daily move of at most
    # 10 x |previous settle|, volume and open interest <= 1e9).
    max_abs_settle: float | None = Field(None, gt=0, description="largest |settle| accepted")
    min_abs_settle: float | None = Field(None, gt=0, description="smallest non-zero |settle| accepted")
    max_daily_move: float | None = Field(
        None, gt=0, description="largest |F_t - F_prev| / |F_prev| of a contract between consecutive settlements"
    )
    max_volume: float | None = Field(None, gt=0, description="largest daily volume accepted")
    max_open_interest: float | None = Field(None, gt=0, description="largest open interest accepted")

    @field_validator("listed_months", "hold_months")
    @classmethod
    def _known_month_letters(cls, value: str) -> str:
        if not value or any(code not in MONTH_CODES for code in value):
            raise ValueError(f"month letters must be drawn from {MONTH_CODES}, got {value!r}")
        return "".join(sorted(set(value), key=MONTH_CODES.index))

    @model_validator(mode="after")
    def _hold_within_listed(self) -> "Instrument":
        extra = set(self.hold_months) - set(self.listed_months)
        if extra:
            raise ValueError(f"hold months {''.join(sorted(extra))} are not listed months")
        return self

    @property
    def listed_month_numbers(self) -> tuple[int, ...]:
        return month_numbers(self.listed_months)

    @property
    def hold_month_numbers(self) -> tuple[int, ...]:
        return month_numbers(self.hold_months)


class InstrumentCatalogue(BaseModel):
    """All instruments, keyed by root."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instruments: tuple[Instrument, ...]

    @model_validator(mode="after")
    def _unique_roots(self) -> "InstrumentCatalogue":
        roots = [instrument.root for instrument in self.instruments]
        duplicated = sorted({root for root in roots if roots.count(root) > 1})
        if duplicated:
            raise ValueError(f"duplicated roots: {', '.join(duplicated)}")
        return self

    def by_root(self) -> dict[str, Instrument]:
        return {instrument.root: instrument for instrument in self.instruments}


def load_instruments(path: Path | str = DEFAULT_INSTRUMENTS_PATH) -> dict[str, Instrument]:
    """Read an instrument catalogue TOML (``[[instrument]]`` tables) into ``{root: Instrument}``."""
    path = Path(path)
    raw = read_toml(path)
    try:
        catalogue = InstrumentCatalogue(instruments=tuple(raw.get("instrument", [])))
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        root = _root_at(raw, first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=str(path), key=root) from None
    check_calendars(catalogue.instruments, str(path))
    return catalogue.by_root()


def check_calendars(instruments: tuple[Instrument, ...], file: str) -> None:
    """Every instrument's ``calendar`` must be an exchange_calendars code: an unknown code is a
    SpecError naming the file, the root and the code (checked once per code)."""
    from indexcalc.data.calendars import known_calendar

    for instrument in instruments:
        if not known_calendar(instrument.calendar):
            raise SpecError(
                f"unknown exchange calendar {instrument.calendar!r} (not an exchange_calendars code, e.g. CMES, XLON)",
                file=file,
                key=f"root {instrument.root}",
            )


def _root_at(raw: dict, location: tuple) -> str | None:
    if len(location) >= 2 and location[0] == "instruments" and isinstance(location[1], int):
        entries = raw.get("instrument", [])
        if location[1] < len(entries):
            return f"root {entries[location[1]].get('root', '?')}"
    return None
