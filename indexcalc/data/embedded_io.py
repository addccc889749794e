"""The embedded market's files: zstd Parquet frames in ``data/market/`` labelled synthetic in
their metadata, read back into a :class:`~indexcalc.data.market.MarketData` (docs/design.md
section 1). The generator is :mod:`indexcalc.data.embedded`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from indexcalc.data.instruments import DEFAULT_INSTRUMENTS_PATH, Instrument, load_instruments
from indexcalc.data.market import (
    INFLATION_SCHEMA,
    MACRO_SCHEMA,
    PRICES_SCHEMA,
    RATES_SCHEMA,
    MarketData,
)
from indexcalc.errors import DataError

if TYPE_CHECKING:
    from indexcalc.data.embedded import MarketGeneratorSpec

DEFAULT_MARKET_DIR = Path(__file__).resolve().parents[2] / "data" / "market"
"""Where the committed embedded market lives (``data/market/*.parquet``)."""

MARKET_FILES: dict[str, str] = {
    "prices": "prices.parquet",
    "rates": "rates.parquet",
    "inflation": "inflation.parquet",
    "macro": "macro.parquet",
}
INSTRUMENTS_FILE = "instruments.toml"
"""Written beside the Parquet files only when the market has roots beyond the default catalogue."""


def write_market(market: MarketData, directory: Path | str, seed: int | None = None) -> None:
    """Write the four frames as zstd Parquet (``prices``, ``rates``, ``inflation``, ``macro``)
    under ``directory``, labelled synthetic (``market.synthetic``) in the file metadata; add ``instruments.toml`` when the
    market has roots beyond the default catalogue. Files are written to a temporary directory
    beside ``directory`` and renamed into place."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"indexcalc.synthetic": "true" if market.synthetic else "false", "indexcalc.source": market.source}
    if seed is not None:
        metadata["indexcalc.seed"] = str(seed)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        frames = {"prices": market.prices, "rates": market.rates, "inflation": market.inflation,
                  "macro": market.macro}
        for name, file_name in MARKET_FILES.items():
            frames[name].write_parquet(staging / file_name, compression="zstd", compression_level=9,
                                       statistics=False, metadata=metadata)
        default_roots = set(load_instruments())
        if set(market.instruments) != default_roots:
            (staging / INSTRUMENTS_FILE).write_text(instruments_toml(market.instruments))
        directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(staging.iterdir()):
            os.replace(path, directory / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def instruments_toml(instruments: dict[str, Instrument]) -> str:
    """A ``[[instrument]]`` TOML catalogue of ``instruments`` (readable by ``load_instruments``)."""
    lines = ["# Instrument catalogue written with a generated market (indexcalc data generate)."]
    for instrument in instruments.values():
        lines.append("\n[[instrument]]")
        for key, value in instrument.model_dump(exclude_none=True).items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_market(directory: Path | str) -> MarketData:
    """Read a market written by :func:`write_market` (instruments from ``instruments.toml`` there,
    else the default catalogue). A missing or unreadable file is a :class:`DataError`."""
    directory = Path(directory)
    schemas = {"prices": PRICES_SCHEMA, "rates": RATES_SCHEMA, "inflation": INFLATION_SCHEMA, "macro": MACRO_SCHEMA}
    frames = {}
    for name, file_name in MARKET_FILES.items():
        path = directory / file_name
        try:
            frame = pl.read_parquet(path)
        except FileNotFoundError:
            raise DataError("file not found", file=str(path)) from None
        except Exception as error:  # polars raises several error types for a corrupt file
            raise DataError(f"not a readable Parquet file ({error})", file=str(path)) from None
        missing = [column for column in schemas[name] if column not in frame.columns]
        if missing:
            raise DataError(f"missing columns {', '.join(missing)}", file=str(path))
        frames[name] = frame.select([pl.col(column).cast(dtype) for column, dtype in schemas[name].items()])
    instruments_path = directory / INSTRUMENTS_FILE
    instruments = load_instruments(instruments_path if instruments_path.exists() else DEFAULT_INSTRUMENTS_PATH)
    file_metadata = pl.read_parquet_metadata(directory / MARKET_FILES["prices"])
    source = file_metadata.get("indexcalc.source", str(directory))
    return MarketData(
        prices=frames["prices"],
        instruments=instruments,
        rates=frames["rates"],
        inflation=frames["inflation"],
        macro=frames["macro"],
        source=source,
        synthetic=file_metadata.get("indexcalc.synthetic") == "true",
    )


def load_default_market(directory: Path | str = DEFAULT_MARKET_DIR, spec: "MarketGeneratorSpec | None" = None) -> MarketData:
    """The embedded SYNTHETIC market from ``data/market/``; if any of its Parquet files is absent it
    is generated from ``spec`` (default :class:`MarketGeneratorSpec`) and written there first.
    The market carries its exchange sessions (:func:`~indexcalc.data.calendars.with_exchange_sessions`)."""
    from indexcalc.data.calendars import with_exchange_sessions

    from indexcalc.data.embedded import MarketGeneratorSpec, generate_market

    directory = Path(directory)
    if not all((directory / file_name).exists() for file_name in MARKET_FILES.values()):
        spec = MarketGeneratorSpec() if spec is None else spec
        write_market(generate_market(spec), directory, seed=spec.seed)
    return with_exchange_sessions(read_market(directory))
