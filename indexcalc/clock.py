"""The run's clock, read at the command-line edge only (docs/design.md section 1).

Validation refuses rows dated after the run's date ("today"); functions take that date as a
parameter, and only the commands call :func:`run_today`. ``INDEXCALC_TODAY=YYYY-MM-DD`` sets
the clock (tests, replaying a past day); otherwise it is today's date in UTC.
"""

from __future__ import annotations

import datetime as dt
import os

from indexcalc.errors import SpecError

TODAY_ENVIRONMENT = "INDEXCALC_TODAY"


def run_today(environ: dict[str, str] | None = None) -> dt.date:
    """Today's date (UTC), or ``$INDEXCALC_TODAY`` when it is set (an ISO date)."""
    environ = os.environ if environ is None else environ
    value = environ.get(TODAY_ENVIRONMENT, "").strip()
    if not value:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SpecError(f"{value!r} is not a date YYYY-MM-DD", key=f"${TODAY_ENVIRONMENT}") from None
