"""Spec of the carry-ranked relative baskets (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Literal

from indexcalc.specs.base import IndexSpecBase


class CarryBasketSpec(IndexSpecBase):
    kind: Literal["carry_basket"] = "carry_basket"
