"""The real-data publication: the Long/Short momentum family on the shared real data.

One command, from the project folder (examples/README.md, "Real-data publication")::

    python3 examples/realdata.py [--shared ../shared/data] [--out outputs/realdata]

The shared data is not part of the project, so its location is an argument. The script

1. writes into ``OUT/inputs/``: the settlement file restricted to the dates used (below), a merge
   spec (settlements first, pysystemtrade second) and the catalogue of five indexes;
2. runs ``indexcalc series`` (``OUT/series/``: per-root linked series with the ``disrupted``
   flag) and ``indexcalc publish`` (``OUT/site/``) on the merged market, with ``--carry-forward``;
3. prints, and writes to ``OUT/summary.csv``, a table of annualised return, volatility, Sharpe
   ratio and maximum drawdown per index over the common period of the published levels
   (:mod:`indexcalc.analytics`, 252 sessions a year, ER: no risk-free rate subtracted), and the
   number of sessions in that period on which a constituent's held contract was unpriced
   (market disruption, its last settlement kept).

Choices (examples/README.md says why):

- WTI (CRUDE_W), Brent (BRENT_W) and natural gas (GAS_US) are priced from the exchange
  settlements (``real/energy_settlements.csv`` with ``real/contract_expiries.csv``), the other
  seven roots and the years before 2007 from pysystemtrade's files. Natural-gas settlements
  before 2008 are left out (65 of the 680 prices of 2007 that pysystemtrade's daily rows also
  give agree with them, every one of 2008-2012 does), and every settlement after the last date of
  pysystemtrade's files, so the ten roots end together.
- Magnitude: dollar open interest from the CFTC's weekly reports for COPPER, GOLD and PALLAD;
  the other seven roots (no CFTC file for them) take the mean of the reported roots' averages
  (``cftc_fallback = "mean_of_reported"``: each gets 1/n, the metals share the rest by open
  interest), capped at 20%.
- Annual reconstitution (December, full 12-month windows): an index starts once five roots
  (1 / cap) are eligible.
- ``--carry-forward``: the files hold contracts without a price on a few sessions in a row (CORN's
  December 2020 on 7 CME sessions around Christmas 2019); with the default limit of 5 the run
  stops there.
- Excess return only: the data has no T-bill series, so a total-return index would equal its ER.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # run as a script from the project folder
    sys.path.insert(0, str(PROJECT))

from indexcalc import analytics  # noqa: E402

ROOTS = ("BRENT_W", "COFFEE", "COPPER", "CORN", "CRUDE_W", "GAS_US", "GOLD", "PALLAD", "SOYBEAN", "WHEAT")
CFTC_MARKETS = {"COPPER": "copper", "GOLD": "gold", "PALLAD": "palladium"}
SETTLEMENT_ROOTS = {"CL": "CRUDE_W", "BRN": "BRENT_W", "NG": "GAS_US"}
NATURAL_GAS_FROM = "2008-01-01"
"""First date of the natural-gas settlements used (2007's disagree with the exchange's)."""
CAP = 0.20
FAMILIES = {
    "LS": ("long_short", "Long/Short", "long when its linked price is above its twelve-month average and short "
           "when below, except that energy is held in cash instead of short"),
    "LF": ("long_flat", "Long/Flat", "the long side of the Long/Short index, cash where it would be short"),
    "SF": ("short_flat", "Short/Flat", "the short side of the Long/Short index, cash where it would be long"),
    "LO": ("long_only", "Long-Only", "every commodity long, the passive reference"),
    "SO": ("short_only", "Short-Only", "every commodity short, the mirror of the Long-Only index"),
}
SUFFIX = "RD-ER"
"""Index ids: ``LS-RD-ER`` ... (RD: real data)."""
SUMMARY_COLUMNS = ("index", "start", "end", "sessions", "annualised_return", "volatility", "sharpe",
                   "max_drawdown", "disrupted_sessions")


def index_ids() -> list[str]:
    return [f"{code}-{SUFFIX}" for code in FAMILIES]


def catalogue_text(cftc_file: Path) -> str:
    """The five indexes of the family: one universe, CFTC magnitude with the fallback, cap 20%,
    reconstituted each December."""
    universe = ", ".join(f'"{root}"' for root in ROOTS)
    markets = ", ".join(f'{root} = "{market}"' for root, market in CFTC_MARKETS.items())
    blocks = ["# Written by examples/realdata.py: the Long/Short family on the shared real data.\n"]
    for code, (family, title, what) in FAMILIES.items():
        blocks.append(
            f'[[index]]\nid = "{code}-{SUFFIX}"\nkind = "momentum"\n'
            f'name = "{title} Commodity Index, Real Data (Excess Return)"\n'
            f'objective = "Ten commodities on exchange data: {what}; sized by CFTC dollar open interest for the '
            f'metals, equal shares for the others, no commodity above 20%."\n'
            f'family = "{family}"\nreturn_type = "er"\nbase_value = 1000.0\nuniverse = [{universe}]\n\n'
            f'[index.magnitude]\nsource = "cftc"\ncap = {CAP}\ncftc_file = "{cftc_file}"\n'
            f'cftc_markets = {{ {markets} }}\ncftc_fallback = "mean_of_reported"\n\n'
            f"[index.reconstitution]\nmonth = 12\nmin_dollar_open_interest = 0.0\n"
        )
    return "\n".join(blocks)


def merge_spec_text(settlements: Path, expiries: Path, pysystemtrade: Path) -> str:
    return (
        "# Written by examples/realdata.py: exchange settlements first, pysystemtrade's files second.\n"
        f'[[source]]\nname = "settlements"\nformat = "tenors"\npath = "{settlements}"\nexpiries = "{expiries}"\n\n'
        f'[[source]]\nname = "pysystemtrade"\nformat = "pysystemtrade"\npath = "{pysystemtrade}"\n'
    )


def last_pysystemtrade_date(pysystemtrade: Path) -> str:
    """The last date (``YYYY-MM-DD``) of any root's ``multiple_prices_csv`` file."""
    files = sorted((pysystemtrade / "multiple_prices_csv").glob("*.csv"))
    last = max(pl.scan_csv(file).select(pl.col("DATETIME").max()).collect().item() for file in files)
    return last[:10]


def used_settlements(settlements: pl.DataFrame, last_date: str) -> pl.DataFrame:
    """The settlement rows used: up to ``last_date``, and natural gas from :data:`NATURAL_GAS_FROM`."""
    return settlements.filter(
        (pl.col("date") <= last_date)
        & (~pl.col("series").str.starts_with("NG") | (pl.col("date") >= NATURAL_GAS_FROM))
    )


def summary(levels: dict[str, pl.DataFrame], disrupted: pl.DataFrame) -> pl.DataFrame:
    """:data:`SUMMARY_COLUMNS` per index over the common period: from the latest first date to the
    earliest last date of the published levels; ``disrupted``: ``date`` of the sessions with a
    disrupted constituent."""
    start = max(frame.get_column("date").min() for frame in levels.values())
    end = min(frame.get_column("date").max() for frame in levels.values())
    flagged = disrupted.filter(pl.col("date").is_between(start, end)).get_column("date").n_unique()
    rows = []
    for index_id, frame in levels.items():
        period = frame.filter(pl.col("date").is_between(start, end)).sort("date")
        rows.append({
            "index": index_id, "start": start, "end": end, "sessions": period.height,
            "annualised_return": analytics.annualised_return(period),
            "volatility": analytics.annualised_volatility(period),
            "sharpe": analytics.sharpe_ratio(period),
            "max_drawdown": analytics.max_drawdown(period).depth,
            "disrupted_sessions": flagged,
        })
    return pl.DataFrame(rows).select(SUMMARY_COLUMNS)


def markdown(table: pl.DataFrame) -> str:
    """The summary as the Markdown table of examples/README.md (percentages to 2 decimals)."""
    lines = ["| index | annualised return | volatility | Sharpe | max drawdown | disrupted sessions |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in table.iter_rows(named=True):
        lines.append(
            f"| {row['index']} | {row['annualised_return']:.2%} | {row['volatility']:.2%} | {row['sharpe']:.2f} | "
            f"{row['max_drawdown']:.2%} | {row['disrupted_sessions']} |"
        )
    first = table.row(0, named=True)
    lines.append(f"\nCommon period: {first['start']} to {first['end']} ({first['sessions']} sessions).")
    return "\n".join(lines)


def read_levels(site: Path) -> dict[str, pl.DataFrame]:
    return {
        index_id: pl.read_csv(site / "levels" / f"{index_id}.csv", try_parse_dates=True).select("date", "level")
        for index_id in index_ids()
    }


def disrupted_sessions(series: Path) -> pl.DataFrame:
    """``date, root`` of the sessions on which a root's held contract had no settlement."""
    return pl.concat(
        pl.read_csv(series / f"{root}.csv", try_parse_dates=True, columns=["date", "root", "disrupted"])
        .filter(pl.col("disrupted"))
        .select("date", "root")
        for root in ROOTS
    )


def indexcalc(*arguments: str | Path) -> None:
    """Run ``indexcalc ARGUMENTS`` with this interpreter (and this project's package); a failure
    ends the script with the command's exit code (its one-line error is already shown)."""
    command = [sys.executable, "-c", "from indexcalc.cli import main; main()", *map(str, arguments)]
    print("+ indexcalc " + " ".join(map(str, arguments)), flush=True)
    done = subprocess.run(command, cwd=PROJECT, env=_environment())
    if done.returncode:
        raise SystemExit(done.returncode)


def _environment() -> dict[str, str]:
    """This environment with the project first on ``PYTHONPATH``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), environment.get("PYTHONPATH")]))
    return environment


def build(shared: Path, out: Path) -> pl.DataFrame:
    """Write the inputs, run series and publish, return the summary table."""
    pysystemtrade, real = shared / "pysystemtrade", shared / "real"
    needed = [pysystemtrade / "multiple_prices_csv", real / "energy_settlements.csv",
              real / "contract_expiries.csv", real / "cftc_open_interest_metals.csv"]
    absent = [path for path in needed if not path.exists()]
    if absent:
        print(f"error: {absent[0]}: no such file or folder (--shared names the shared data folder)", file=sys.stderr)
        raise SystemExit(2)
    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    last_date = last_pysystemtrade_date(pysystemtrade)
    settlements = used_settlements(
        pl.read_csv(real / "energy_settlements.csv", schema_overrides={"date": pl.String}), last_date
    )
    settlements.write_csv(inputs / "energy_settlements.csv")
    spec = inputs / "merge.toml"
    spec.write_text(merge_spec_text(inputs / "energy_settlements.csv", (real / "contract_expiries.csv").resolve(),
                                    pysystemtrade.resolve()))
    catalogue = inputs / "catalogue"
    catalogue.mkdir(exist_ok=True)
    (catalogue / "realdata.toml").write_text(catalogue_text((real / "cftc_open_interest_metals.csv").resolve()))
    indexcalc("series", "--data", spec, "--out", out / "series", "--carry-forward")
    indexcalc("publish", "--data", spec, "--catalogue", catalogue, "--out", out / "site", "--carry-forward",
              "--no-progress")
    table = summary(read_levels(out / "site"), disrupted_sessions(out / "series"))
    table.write_csv(out / "summary.csv")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"),
                        help="the shared data folder (pysystemtrade/ and real/); default ../shared/data")
    parser.add_argument("--out", type=Path, default=Path("outputs/realdata"),
                        help="output folder (inputs/, series/, site/, summary.csv); default outputs/realdata")
    arguments = parser.parse_args(argv)
    table = build(arguments.shared.resolve(), arguments.out.resolve())
    print(markdown(table))


if __name__ == "__main__":
    main()
