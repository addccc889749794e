"""Small fabricated index results for the publishing tests (no calculation involved).

Levels are seeded random walks on business days from 2018-12-31 to 2024-06-28 (so 3Y and 5Y
figures exist), weights are month-end rebalances over a few roots, and the carry and base-metals
results carry family tables shaped like the real ones.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import PRICES_SCHEMA, MarketData, empty_frame
from indexcalc.publish import PublicationInputs
from indexcalc.results import IndexResult
from indexcalc.specs import WindowRoll
from indexcalc.catalogue import parse_spec

FIRST_DAY = dt.date(2018, 12, 31)
LAST_DAY = dt.date(2024, 6, 28)
ROOTS = ("CL", "NG", "HG", "GC", "C", "KC")


def business_days() -> pl.Series:
    days = pl.date_range(FIRST_DAY, LAST_DAY, interval="1d", eager=True)
    return days.filter(days.dt.weekday() <= 5)


def random_levels(seed: int, base: float, drift: float = 0.0002, vol: float = 0.01) -> pl.DataFrame:
    dates = business_days()
    returns = np.random.default_rng(seed).normal(drift, vol, dates.len())
    returns[0] = 0.0
    level = base * np.cumprod(1.0 + returns)
    return pl.DataFrame({"date": dates, "level": level}).with_columns(
        (pl.col("level") / pl.col("level").shift(1) - 1.0).fill_null(0.0).alias("daily_return")
    )


def month_end_weights(seed: int, roots: tuple[str, ...], long_only: bool = False) -> pl.DataFrame:
    dates = business_days()
    frame = pl.DataFrame({"date": dates})
    month_ends = frame.group_by(pl.col("date").dt.truncate("1mo"), maintain_order=True).agg(
        pl.col("date").last().alias("fixing")
    ).get_column("fixing")
    effective = {fixing: dates.filter(dates > fixing)[0] for fixing in month_ends[:-1]}
    rng = np.random.default_rng(seed)
    rows = []
    for fixing, starts in effective.items():
        magnitude = rng.dirichlet(np.ones(len(roots)))
        for root, size in zip(roots, magnitude):
            direction = 1 if long_only else int(rng.choice([-1, 0, 1]))
            rows.append({"date": fixing, "effective_date": starts, "root": root, "magnitude": float(size),
                         "signal": float(rng.normal()), "direction": direction, "weight": float(size) * direction})
    return pl.DataFrame(rows)


def root_levels() -> pl.DataFrame:
    frames = [random_levels(100 + position, 100.0).select("date", pl.lit(root).alias("root"), "level")
              for position, root in enumerate(ROOTS)]
    return pl.concat(frames)


SPECS = {
    "LS-ER": {"id": "LS-ER", "kind": "momentum", "family": "long_short", "name": "Long/Short Commodity Index ER",
              "objective": "Long or short each commodity by its 12-month trend.", "base_value": 1000.0},
    "LO-ER": {"id": "LO-ER", "kind": "momentum", "family": "long_only", "name": "Long-Only Commodity Index ER",
              "base_value": 1000.0},
    "CARRY-RANK-TR": {"id": "CARRY-RANK-TR", "kind": "carry_basket", "name": "Carry Ranked Basket TR",
                      "construction": "ranked", "relative_scope": "global", "return_type": "tr", "base_value": 100.0},
    "BM-IV-ER": {"id": "BM-IV-ER", "kind": "base_metals", "name": "Base Metals Inverse-Vol Basket ER"},
}


@pytest.fixture(scope="session")
def instruments():
    return load_instruments()


def build_fabricated_results() -> dict[str, IndexResult]:
    """Four indexes of three kinds; LO-ER is the Long-Only reference of LS-ER."""
    results: dict[str, IndexResult] = {}
    for position, (index_id, raw) in enumerate(SPECS.items()):
        spec = parse_spec(raw)
        levels = random_levels(position, spec.base_value)
        tables: dict[str, pl.DataFrame] = {}
        weights = month_end_weights(position, ROOTS, long_only=index_id == "LO-ER")
        if spec.kind == "carry_basket":
            tables["analytics"] = pl.DataFrame({"period": ["all", "2023"], "observations": [600, 72],
                                                "pearson": [0.081, 0.12], "balanced_accuracy": [0.53, 0.55]})
            month_ends = weights.get_column("date").unique().sort().tail(3)
            tables["carry_stages"] = pl.DataFrame(
                {"date": [day for day in month_ends for _ in ROOTS], "root": list(ROOTS) * 3,
                 "nominal_carry": np.linspace(-0.2, 0.2, 18), "zscore": np.linspace(-2, 2, 18)}
            )
        if spec.kind == "base_metals":
            metals = ["HG", "LA", "LX"]
            weights = month_end_weights(position, tuple(metals), long_only=True).drop("signal", "direction")
            tables["correlation_matrix"] = pl.DataFrame(
                {"root": metals, "HG": [1.0, 0.6, 0.5], "LA": [0.6, 1.0, 0.4], "LX": [0.5, 0.4, 1.0]}
            )
            tables["correlation_monitor"] = levels.select(
                "date", (pl.col("daily_return").abs() * 10).alias("average_correlation")
            )
        results[index_id] = IndexResult(spec=spec, levels=levels, weights=weights, tables=tables)
    return results


@pytest.fixture(scope="session")
def fabricated_results() -> dict[str, IndexResult]:
    return build_fabricated_results()


@pytest.fixture(scope="session")
def fabricated_market(instruments) -> MarketData:
    """The instrument catalogue with no prices: enough for the pages, which read names/sectors."""
    return MarketData(prices=empty_frame(PRICES_SCHEMA), instruments=instruments)


def build_fabricated_inputs(results: dict[str, IndexResult]) -> PublicationInputs:
    """Window roll for every index, random root levels, 1 bp a day of collateral return."""
    rule = WindowRoll()
    collateral = pl.DataFrame({"date": business_days()}).with_columns(pl.lit(0.0001).alias("collateral_return"))
    return PublicationInputs(
        rolls={index_id: rule for index_id in results},
        root_levels={rule.model_dump_json(): root_levels()},
        risk_free=collateral,
    )


@pytest.fixture(scope="session")
def fabricated_inputs(fabricated_results) -> PublicationInputs:
    return build_fabricated_inputs(fabricated_results)


@pytest.fixture(scope="session")
def published_site(tmp_path_factory, fabricated_results, fabricated_market, fabricated_inputs) -> Path:
    """The fabricated results written once as a publication folder."""
    from indexcalc.publish import write_publication

    out_dir = tmp_path_factory.mktemp("outputs")
    write_publication(fabricated_results, fabricated_market, out_dir, fabricated_inputs)
    return out_dir


@pytest.fixture(scope="session")
def embedded_results(embedded_market) -> dict[str, IndexResult]:
    """Every catalogue index the embedded market can serve, computed once per session."""
    from indexcalc.pipeline import computable, rebuild_all
    from indexcalc.catalogue import load_catalogue

    specs, _ = computable(load_catalogue(), embedded_market)
    return rebuild_all(embedded_market, specs)


@pytest.fixture(scope="session")
def embedded_inputs(embedded_results, embedded_market) -> PublicationInputs:
    from indexcalc.publish import publication_inputs

    return publication_inputs(embedded_results, embedded_market)
