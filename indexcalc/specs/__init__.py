"""What every index spec shares (docs/design.md section 6): the base spec and the roll rules.

Each family's own spec lives in its folder (``indexcalc/families/<family>/spec.py``); the
catalogue that turns TOML tables into specs is :mod:`indexcalc.catalogue`.
"""

from __future__ import annotations

from indexcalc.specs.base import DataRoll, FirstNoticeRoll, IndexSpecBase, RollRule, WindowRoll

__all__ = ["DataRoll", "FirstNoticeRoll", "IndexSpecBase", "RollRule", "WindowRoll"]
