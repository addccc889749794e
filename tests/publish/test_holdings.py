"""Contract holdings file: hand-computed contract counts, and replication of index returns from
the file alone (embedded market, a momentum, a carry and a base-metals index, across a roll
window)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from indexcalc.publish.holdings import contract_holdings, index_weights, replicated_returns

D0, D1, D2 = dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 1, 9)


def small_case() -> tuple[pl.DataFrame, ...]:
    """One root A (multiplier 10) at weight 0.5 from D0, rolling 202401 -> 202402 at the close
    of D1 (0.6 / 0.4).

    Series: ER_0 = 100; ER_1 = 100 * 52 / 50 = 104 (only 202401 held at D0);
    ER_2 = 104 * (0.6*53 + 0.4*54) / (0.6*52 + 0.4*55) = 104 * 53.4 / 53.2.
    Composite: C_0 = 1000, C_1 = 1000 (1 + 0.5 * 0.04) = 1020, C_2 = 1000 (1 + 0.5 (ER_2/100 - 1)).
    """
    er_2 = 104 * 53.4 / 53.2
    composite = pl.DataFrame({"date": [D0, D1, D2], "level": [1000.0, 1020.0, 1000 * (1 + 0.5 * (er_2 / 100 - 1))]})
    weights = pl.DataFrame({"date": [D0], "effective_date": [D0], "root": ["A"], "weight": [0.5]})
    series = pl.DataFrame({"date": [D0, D1, D2], "root": ["A"] * 3, "level": [100.0, 104.0, er_2]})
    schedule = pl.DataFrame({
        "date": [D0, D1, D1, D2], "root": ["A"] * 4, "contract": [202401, 202401, 202402, 202402],
        "weight": [1.0, 0.6, 0.4, 1.0],
    })
    prices = pl.DataFrame({
        "date": [D0, D0, D1, D1, D2, D2], "root": ["A"] * 6,
        "contract": [202401, 202402, 202401, 202402, 202401, 202402],
        "settle": [50.0, 54.0, 52.0, 55.0, 53.0, 54.0],
    })
    return composite, weights, series, schedule, prices


def test_index_weight_drifts_with_the_root_and_the_composite() -> None:
    composite, weights, series, _, _ = small_case()
    frame = index_weights(composite, weights, series, D0)
    # x_0 = 0.5; x_1 = 0.5 * (104 / 100) * 1000 / 1020
    assert frame.get_column("index_weight").to_list() == pytest.approx([0.5, 0.5 * 1.04 * 1000 / 1020,
                                                                         0.5 * (104 * 53.4 / 53.2 / 100) * 1000
                                                                         / composite.item(2, "level")], abs=1e-15)


def test_contracts_per_million_split_the_roll_by_value() -> None:
    composite, weights, series, schedule, prices = small_case()
    holdings = contract_holdings(index_weights(composite, weights, series, D0), schedule, prices, {"A": 10.0})
    by_key = {(row["date"], row["contract"]): row for row in holdings.iter_rows(named=True)}
    # D0: one contract, P = 50: N = 1e6 * 0.5 * 1.0 / (50 * 10) = 1000
    assert by_key[(D0, 202401)]["contracts_per_million"] == pytest.approx(1000.0, rel=1e-15)
    # D1: P = 0.6*52 + 0.4*55 = 53.2; x_1 = 0.52 / 1.02; N = 1e6 * x_1 * w / (53.2 * 10)
    x_1 = 0.52 / 1.02
    assert by_key[(D1, 202401)]["contracts_per_million"] == pytest.approx(1e6 * x_1 * 0.6 / 532, rel=1e-14)
    assert by_key[(D1, 202402)]["contracts_per_million"] == pytest.approx(1e6 * x_1 * 0.4 / 532, rel=1e-14)
    # D2: 202401 was held at D1's close, so its row is listed with its settle and no contracts
    assert by_key[(D2, 202401)]["contracts_per_million"] == 0.0
    assert by_key[(D2, 202401)]["settle"] == 53.0
    assert (D0, 202402) not in by_key


def test_replicated_returns_equal_the_composite_returns() -> None:
    composite, weights, series, schedule, prices = small_case()
    holdings = contract_holdings(index_weights(composite, weights, series, D0), schedule, prices, {"A": 10.0})
    replicated = replicated_returns(holdings)
    # r_1 = 1000 * 10 * (52 - 50) / 1e6 = 0.02 = 1020 / 1000 - 1;
    # r_2 = x_1 * 10 * (0.6 * (53 - 52) + 0.4 * (54 - 55)) / 532 * 1e6 / 1e6 = C_2 / C_1 - 1
    expected = composite.get_column("level").pct_change().to_list()[1:]
    assert replicated.get_column("date").to_list() == [D1, D2]
    assert replicated.get_column("daily_return").to_list() == pytest.approx(expected, abs=1e-15)
    assert replicated.item(0, "daily_return") == pytest.approx(0.02, abs=1e-15)


def test_a_root_closed_on_an_index_date_keeps_its_contracts_and_settles() -> None:
    composite, weights, series, schedule, prices = small_case()
    # A has no price nor schedule row on D1 (its exchange closed); the composite is flat on D1
    er_2 = 100 * (53 / 50)
    composite = composite.with_columns(pl.Series("level", [1000.0, 1000.0, 1000 * (1 + 0.5 * (er_2 / 100 - 1))]))
    series = pl.DataFrame({"date": [D0, D2], "root": ["A"] * 2, "level": [100.0, er_2]})
    schedule = schedule.filter(pl.col("date") != D1)
    prices = prices.filter(pl.col("date") != D1)
    holdings = contract_holdings(index_weights(composite, weights, series, D0), schedule, prices, {"A": 10.0})
    day_1 = holdings.filter(pl.col("date") == D1)
    assert day_1.select("contract", "settle", "contracts_per_million").rows() == [(202401, 50.0, 1000.0)]
    replicated = replicated_returns(holdings).get_column("daily_return").to_list()
    assert replicated == pytest.approx([0.0, 1000 * 10 * 3 / 1e6], abs=1e-15)


@pytest.mark.slow
@pytest.mark.parametrize("index_id", ["LS-ER", "CARRY-RANK-GLOBAL-ER", "BM-IV-ER"])
def test_published_holdings_replicate_a_month_of_index_returns(embedded_market, tmp_path, index_id) -> None:
    """From the CSV file alone (settles, multipliers, contracts), a month with a roll window
    (business days 5-9: roll weights strictly between 0 and 1) is replicated to 1e-10."""
    from indexcalc.pipeline import calculate
    from indexcalc.publish import publication_inputs
    from indexcalc.publish.holdings import write_holdings
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue

    specs = [spec for spec in load_catalogue(DEFAULT_CATALOGUE_DIR) if spec.id == index_id]
    market = embedded_market.up_to(dt.date(2026, 7, 31))
    results = calculate(market, specs).results
    (path,) = write_holdings(results, market, publication_inputs(results, market), tmp_path)
    assert path == tmp_path / "holdings" / f"{index_id}.csv"
    holdings = pl.read_csv(path, try_parse_dates=True)
    month = holdings.filter(pl.col("date").is_between(dt.date(2026, 5, 29), dt.date(2026, 6, 30)))
    assert month.filter(pl.col("roll_weight").is_between(0.0, 1.0, closed="none")).height > 0
    replicated = replicated_returns(month)
    levels = results[index_id].levels.filter(pl.col("date").is_between(dt.date(2026, 6, 1), dt.date(2026, 6, 30)))
    compared = levels.join(replicated, on="date", how="left", suffix="_replicated")
    assert compared.height >= 19 and compared.get_column("daily_return_replicated").null_count() == 0
    difference = (compared.get_column("daily_return") - compared.get_column("daily_return_replicated")).abs().max()
    assert difference < 1e-10


def test_settle_lookup_equals_the_as_of_join():
    """The prepared settle lookup (one binary search) against polars' backward as-of join by
    root and contract, its oracle: gaps, zero and negative settles (skipped), a pair without
    any price, dates before a pair's first settle."""
    import numpy as np

    from indexcalc.publish.holdings import _settle_on_or_before, settles_by_contract

    rng = np.random.default_rng(5)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(day)) for day in range(60)]
    prices = pl.DataFrame([
        {"date": day, "root": root, "contract": contract, "settle": float(rng.choice([-1.0, 0.0, 50.0 + k]))}
        for k, day in enumerate(days) for root in ("A", "B") for contract in (202401, 202402)
        if rng.random() < 0.6
    ])
    rows = pl.DataFrame({
        "date": [days[int(rng.integers(0, 60))] for _ in range(300)],
        "root": [str(rng.choice(["A", "B", "C"])) for _ in range(300)],
        "contract": pl.Series([int(rng.choice([202401, 202402, 202403])) for _ in range(300)], dtype=pl.Int32),
    }).sort("date")
    settles = (prices.filter(pl.col("settle") > 0)
               .select("root", pl.col("contract").cast(pl.Int32), pl.col("date").alias("settle_date"), "settle")
               .sort("settle_date"))
    expected = rows.join_asof(settles, left_on="date", right_on="settle_date", by=["root", "contract"],
                              strategy="backward", check_sortedness=False).get_column("settle")
    found = _settle_on_or_before(rows, settles_by_contract(prices))
    assert found.null_count() > 0 and found.null_count() < rows.height
    assert found.to_list() == expected.to_list()
