"""``indexcalc data ...`` commands (owned by the foundation work)."""

from __future__ import annotations

from indexcalc.cli import data  # noqa: F401
