"""Small builders shared by the hand-computed tests (instruments, business-day lists)."""

from __future__ import annotations

import datetime as dt

from indexcalc.data.instruments import Instrument


def instrument(root: str = "XX", **fields) -> Instrument:
    """A test instrument: every month listed, FHKNUX held, rolled the month before delivery."""
    terms = {
        "name": "test commodity",
        "sector": "energy",
        "exchange": "TEST",
        "calendar": "CMES",
        "multiplier": 1.0,
        "listed_months": "FGHJKMNQUVXZ",
        "hold_months": "FHKNUX",
        "roll_months_before": 1,
    }
    terms.update(fields)
    return Instrument(root=root, **terms)


def weekdays(start: dt.date, end: dt.date, closed: tuple[dt.date, ...] = ()) -> list[dt.date]:
    """Monday-to-Friday dates from ``start`` to ``end``, less the ``closed`` holidays."""
    days = (start + dt.timedelta(days=offset) for offset in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in closed]
