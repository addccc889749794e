"""Spec of the base-metals basket (inverse-volatility and optimised weights)."""

from __future__ import annotations

from typing import Literal

from indexcalc.specs.base import IndexSpecBase


class BaseMetalsSpec(IndexSpecBase):
    kind: Literal["base_metals"] = "base_metals"
