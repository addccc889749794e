"""The Long/Short momentum family against an independent plain-pandas implementation
(``benchmarks/pandas_longshort.py``, written from docs/design.md section 3 without indexcalc) used
as an oracle: on the embedded market every momentum ER index of the catalogue (LS, LF, SF, LO,
SO, the sector Long/Short sub-indexes and the annually reconstituted Long/Short) must equal the
peer's levels to 1e-9 relative."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pd = pytest.importorskip("pandas")

PEER_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "pandas_longshort.py"
RELATIVE_TOLERANCE = 1e-9


def load_peer():
    spec = importlib.util.spec_from_file_location("pandas_longshort_peer", PEER_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


peer = load_peer()


def test_peer_cap_shares_the_excess_in_proportion():
    # 0.5 -> cap 0.4; the excess 0.1 goes to 0.3, 0.1, 0.1 scaled by (1 - 0.4) / 0.5 = 1.2:
    # 0.36, 0.12, 0.12 (none above the cap, so one pass)
    assert peer.cap_row(np.array([5.0, 3.0, 1.0, 1.0]), 0.4) == pytest.approx([0.4, 0.36, 0.12, 0.12], abs=1e-15)


@pytest.fixture(scope="module")
def momentum_results(embedded_market, embedded_series):
    from indexcalc.families.momentum.compute import compute_momentum
    from indexcalc.collateral import collateral_returns
    from indexcalc.catalogue import load_catalogue

    specs = [spec for spec in load_catalogue() if spec.kind == "momentum" and spec.return_type == "er"]
    collateral = collateral_returns(embedded_market.rates, embedded_series.get_column("date").unique().sort())
    return compute_momentum(specs, embedded_market, embedded_series, collateral)


@pytest.fixture(scope="module")
def peer_inputs(embedded_market, embedded_series):
    instruments = embedded_market.instruments
    return {
        "levels": embedded_series.select("date", "root", "level").to_pandas(),
        "prices": embedded_market.prices.select("date", "root", "settle", "open_interest").to_pandas(),
        "multipliers": {root: instrument.multiplier for root, instrument in instruments.items()},
        "sectors": {root: instrument.sector for root, instrument in instruments.items()},
    }


@pytest.mark.slow
def test_every_momentum_er_index_equals_the_pandas_peer(momentum_results, peer_inputs, embedded_market):
    assert {"LS-ER", "LF-ER", "SF-ER", "LO-ER", "SO-ER", "LS-RECON-ER"} <= set(momentum_results)
    checked = 0
    # indexes over the same roots and parameters are computed by the peer in one call
    calls: dict[tuple, list[str]] = {}
    for index_id, result in momentum_results.items():
        spec = result.spec
        roots = tuple(sorted(spec.select_roots(embedded_market.instruments)))
        key = (roots, spec.magnitude.cap, spec.base_value, spec.implementation_lag, spec.reconstitution)
        calls.setdefault(key, []).append(index_id)
    for (roots, cap, base_value, lag, reconstitution), index_ids in calls.items():
        spec = momentum_results[index_ids[0]].spec
        assert spec.magnitude.source == "open_interest"
        parameters = peer.LongShortParameters(
            cap=cap,
            direction_window_months=spec.direction.window_months,
            magnitude_window_months=spec.magnitude.window_months,
            implementation_lag=lag,
            flat_short_sectors=tuple(spec.direction.flat_short_sectors),
            tie_tolerance=spec.direction.tie_tolerance,
            base_value=base_value,
            reconstitution_month=None if reconstitution is None else reconstitution.month,
            min_dollar_open_interest=0.0 if reconstitution is None else reconstitution.min_dollar_open_interest,
            max_roots=None if reconstitution is None else reconstitution.max_roots,
        )
        families = sorted({momentum_results[index_id].spec.family for index_id in index_ids})
        expected = peer.long_short_levels(roots=roots, families=families, parameters=parameters, **peer_inputs)
        for index_id in index_ids:
            mine = momentum_results[index_id].levels
            oracle = pl.from_pandas(expected[momentum_results[index_id].spec.family]).with_columns(
                pl.col("date").cast(pl.Date)
            )
            assert mine.get_column("date").to_list() == oracle.get_column("date").to_list(), index_id
            relative = (mine.get_column("level") / oracle.get_column("level") - 1.0).abs().max()
            assert relative <= RELATIVE_TOLERANCE, f"{index_id}: max relative difference {relative:.3g}"
            # the comparison is not trivial: the index moves over its history
            assert mine.get_column("level").std() > 0, index_id
            checked += 1
    assert checked == len(momentum_results)
