"""Spec of the copper macro-factor strategy index."""

from __future__ import annotations

from typing import Literal

from indexcalc.specs.base import IndexSpecBase


class CopperMacroSpec(IndexSpecBase):
    kind: Literal["copper_macro"] = "copper_macro"
