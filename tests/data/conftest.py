"""Fixtures for the data tests: small files written inline (a pysystemtrade folder too)."""

from __future__ import annotations

from pathlib import Path

import pytest

MULTIPLE_PRICES_HEADER = "DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT"
INSTRUMENT_CONFIG = (
    "Instrument,Description,Pointsize,Currency,AssetClass,PerBlock,Percentage,PerTrade,Region\n"
    "COPPER,Copper,25000,USD,Metals,2.42,0,0,US\n"
    "LEANHOG,Lean hogs,400,USD,Ags,2.42,0,0,US\n"
)
ROLL_CONFIG = (
    "Instrument,HoldRollCycle,RollOffsetDays,CarryOffset,PricedRollCycle,ExpiryOffset\n"
    "COPPER,HNUZ,-30,1,FHJMNUVZ,27\n"
    "LEANHOG,GJMQVZ,-20,1,GJKMNQVZ,14\n"
)


@pytest.fixture
def write_text(tmp_path: Path):
    """``write_text(name, text) -> path`` inside the test's temporary directory."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def pysystemtrade_folder(tmp_path: Path):
    """``pysystemtrade_folder({root: csv_body}) -> directory`` in pysystemtrade's layout, with
    csvconfig rows for COPPER and LEANHOG. ``csv_body`` is the lines after the header."""

    def make(roots: dict[str, str], *, header: str = MULTIPLE_PRICES_HEADER) -> Path:
        directory = tmp_path / "pysystemtrade"
        (directory / "multiple_prices_csv").mkdir(parents=True)
        (directory / "csvconfig").mkdir()
        (directory / "csvconfig" / "instrumentconfig.csv").write_text(INSTRUMENT_CONFIG)
        (directory / "csvconfig" / "rollconfig.csv").write_text(ROLL_CONFIG)
        for root, body in roots.items():
            (directory / "multiple_prices_csv" / f"{root}.csv").write_text(f"{header}\n{body}")
        return directory

    return make
