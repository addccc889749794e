"""Spec of the equal-weight basket, the example family (docs/design.md section 6)."""

from __future__ import annotations

from typing import Literal

from indexcalc.specs.base import IndexSpecBase


class EqualWeightSpec(IndexSpecBase):
    """An equal-weight long basket of the spec's roots, rebalanced at every month-end."""

    kind: Literal["equal_weight"] = "equal_weight"
