"""Issue 20, point 10 (part): a damaged ledger part is named in the one-line error.

At 4c1ad00 the error named the ledger folder only ("cannot read the ledger"), so with many
daily parts the user could not tell which file to restore.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.errors import StateError
from indexcalc.ledger import Ledger, ledger_rows

UTC = dt.timezone.utc
T1 = dt.datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
T2 = dt.datetime(2026, 11, 3, 18, 0, tzinfo=UTC)


def append_day(ledger: Ledger, day: dt.date, level: float, run_time: dt.datetime, run_id: str) -> Path:
    levels = pl.DataFrame({"date": [day], "level": [level], "daily_return": [0.0]})
    rows = ledger_rows(levels, "A", run_id=run_id, run_time=run_time, methodology_version="m", input_hash_value="h")
    return ledger.append(rows, run_time, run_id)


@pytest.fixture()
def damaged(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder whose ledger has a good part and a truncated second part."""
    out = tmp_path / "outputs"
    ledger = Ledger(out / "ledger")
    append_day(ledger, dt.date(2026, 11, 2), 100.0, T1, "run1")
    second = append_day(ledger, dt.date(2026, 11, 3), 101.0, T2, "run2")
    second.write_bytes(second.read_bytes()[: len(second.read_bytes()) // 2])  # truncated: a disk fault
    return out, second


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_damaged_part_is_named_in_the_error(damaged, damage):
    out, part = damaged
    if damage == "foreign":
        pl.DataFrame({"something": ["else"]}).write_parquet(part)
    with pytest.raises(StateError) as raised:
        Ledger(out / "ledger").read_all()
    assert raised.value.file == str(part)
    assert str(raised.value).startswith(f"{part}: cannot read the ledger")
    assert "\n" not in str(raised.value)


def test_the_cli_shows_the_damaged_part_as_one_line_with_exit_code_2(damaged):
    out, part = damaged
    result = CliRunner().invoke(main, ["history", "A", "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {part}: cannot read the ledger"), result.stderr
    assert "Traceback" not in result.output


def test_an_intact_ledger_still_reads_every_part(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger")
    append_day(ledger, dt.date(2026, 11, 2), 100.0, T1, "run1")
    append_day(ledger, dt.date(2026, 11, 3), 101.0, T2, "run2")
    assert ledger.current().get_column("level").to_list() == [100.0, 101.0]
