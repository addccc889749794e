"""Shared fixtures: paths to the project's data and to the real data beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"
PYSYSTEMTRADE_DIR = SHARED_DATA / "pysystemtrade"


@pytest.fixture(scope="session")
def pysystemtrade_dir() -> Path:
    """The shared pysystemtrade folder; tests using it skip cleanly where it is absent."""
    if not (PYSYSTEMTRADE_DIR / "multiple_prices_csv").is_dir():
        pytest.skip(f"real data not found at {PYSYSTEMTRADE_DIR}")
    return PYSYSTEMTRADE_DIR


@pytest.fixture(scope="session")
def shared_real_dir() -> Path:
    path = SHARED_DATA / "real"
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}")
    return path
