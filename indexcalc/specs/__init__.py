"""What every index spec shares (docs/design.md section 6): the base spec and the roll rules.

Each family's own spec lives in its folder (``indexcalc/families/<family>/spec.py``); the
catalogue that turns TOML tables into specs is :mod:`indexcalc.catalogue`, and the grids that
expand one table into many variants :mod:`indexcalc.specs.grids`.
"""

from __future__ import annotations

from indexcalc.specs.base import DataRoll, FirstNoticeRoll, IndexSpecBase, RollRule, WindowRoll

__all__ = ["DataRoll", "FirstNoticeRoll", "IndexSpecBase", "RollRule", "WindowRoll"]
