"""The official level: rounding to each index's published precision (indexcalc.official)."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from indexcalc.errors import SpecError
from indexcalc.official import DEFAULT_PRECISION, official, official_by_index, precisions_of
from indexcalc.catalogue import parse_spec


def test_official_level_rounds_half_away_from_zero_to_the_precision():
    levels = pl.DataFrame({"level": [16737.810492060475, 1000.00005, 999.99995, 0.5, 1.25]})
    rounded = levels.select(official(pl.col("level"), 4), official(pl.col("level"), 0).alias("units"),
                            official(pl.col("level"), 1).alias("tenths"))
    # 16737.810492... -> 16737.8105; x.xxxx5 (binary 1000.0000500000000..., 999.9999499999...) as printed
    assert rounded.get_column("level").to_list()[0] == 16737.8105
    assert rounded.get_column("units").to_list()[3] == 1.0  # 0.5 -> 1 (half away from zero, not to even)
    assert rounded.get_column("tenths").to_list()[4] == 1.3  # 1.25 -> 1.3


def test_each_index_is_rounded_with_its_own_precision():
    frame = pl.DataFrame({"index_id": ["A", "B", "C"], "level": [123.456789, 123.456789, 123.456789]})
    got = frame.select(official_by_index(pl.col("level"), pl.col("index_id"), {"A": 2, "B": 4})).to_series()
    # A: 2 decimals; B: 4; C (not listed): the default 4
    assert got.to_list() == [123.46, 123.4568, 123.4568] and DEFAULT_PRECISION == 4


def test_specs_declare_their_precision_with_four_decimals_by_default():
    spec = parse_spec({"id": "X-ER", "kind": "momentum", "name": "X", "family": "long_only"})
    two = parse_spec({"id": "Y-ER", "kind": "momentum", "name": "Y", "family": "long_only", "precision": 2})
    assert precisions_of([spec, two]) == {"X-ER": 4, "Y-ER": 2}
    with pytest.raises((ValidationError, SpecError)):
        parse_spec({"id": "Z-ER", "kind": "momentum", "name": "Z", "family": "long_only", "precision": -1})
