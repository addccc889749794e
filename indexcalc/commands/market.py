"""``indexcalc data generate``: write the embedded SYNTHETIC market (indexcalc.data.embedded)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from indexcalc.cli import data
from indexcalc.data.embedded import DEFAULT_MARKET_DIR, MarketGeneratorSpec, generate_market, write_market
from indexcalc.errors import SpecError

_DEFAULTS = MarketGeneratorSpec()


@data.command("generate")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_MARKET_DIR,
              show_default=True, help="Directory for prices/rates/inflation/macro .parquet.")
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True, help="Random seed.")
@click.option("--extra-roots", type=int, default=0, show_default=True,
              help="Clones of the 23 roots (CL_001, ...) with their own shocks, for scaling benchmarks.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help=f"First day [default: {_DEFAULTS.start.isoformat()}].")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help=f"Last day [default: {_DEFAULTS.end.isoformat()}].")
def generate(out: Path, seed: int, extra_roots: int, start: datetime | None, end: datetime | None) -> None:
    """Generate the SYNTHETIC embedded market (deterministic for a seed) and write it to OUT."""
    spec = _spec(seed, extra_roots, start.date() if start else _DEFAULTS.start, end.date() if end else _DEFAULTS.end)
    began = time.perf_counter()
    market = generate_market(spec)
    generated = time.perf_counter() - began
    write_market(market, out, seed=spec.seed)
    written = time.perf_counter() - began - generated
    click.echo(
        f"generated {market.prices.height:,} price rows for {len(market.roots)} roots "
        f"({spec.start} to {spec.end}, seed {spec.seed}) in {generated:.1f} s; "
        f"written to {out} in {written:.1f} s (SYNTHETIC data)"
    )


def _spec(seed: int, extra_roots: int, start: date, end: date) -> MarketGeneratorSpec:
    try:
        return MarketGeneratorSpec(seed=seed, extra_roots=extra_roots, start=start, end=end)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "spec"
        raise SpecError(f"{location}: {first['msg']}", key="data generate") from None
