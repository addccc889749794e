"""benchmarks/compare_publication.py: which differences between two publications it reports."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path

import polars as pl

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_publication.py"
_spec = importlib.util.spec_from_file_location("compare_publication", SCRIPT)
compare_publication = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_publication)


def _publication(root: Path, run_id: str, level: float = 1000.0, page: str = "<p>LS-ER</p>") -> Path:
    (root / "ledger").mkdir(parents=True)
    (root / "versions" / "1").mkdir(parents=True)
    (root / "versions" / "1" / "index.html").write_text(page)
    os.symlink("versions/1/index.html", root / "index.html")
    (root / "ledger" / "day-state.json").write_text('{"as_of": "2026-10-30"}')
    pl.DataFrame(
        {
            "index_id": ["LS-ER"],
            "date": [dt.date(2026, 10, 30)],
            "level": [level],
            "run_id": [run_id],
            "run_time": [dt.datetime(2026, 12, 7, 16, int(run_id[-1]))],
        }
    ).write_parquet(root / "ledger" / f"part-2026120{run_id[-1]}-{run_id}.parquet")
    return root


def test_two_runs_of_the_same_code_are_identical(tmp_path):
    old = _publication(tmp_path / "old", "run1")
    new = _publication(tmp_path / "new", "run2")  # other run id, run time and part name
    assert compare_publication.compare(old, new) == []
    assert compare_publication.main([str(old), str(new)]) == 0


def test_a_changed_page_a_missing_file_and_a_changed_level_are_reported(tmp_path):
    old = _publication(tmp_path / "old", "run1")
    new = _publication(tmp_path / "new", "run2", level=1000.0000001, page="<p>LS-ER </p>")
    (old / "versions" / "1" / "extra.csv").write_text("a\n")
    problems = compare_publication.compare(old, new)
    assert problems == [
        "only in old: versions/1/extra.csv",
        "differs: versions/1/index.html",
        "differs: ledger/part-*.parquet (rows other than run_id, run_time)",
    ]
    assert compare_publication.main([str(old), str(new)]) == 1


def test_a_symbolic_link_is_compared_by_its_target(tmp_path):
    old = _publication(tmp_path / "old", "run1")
    new = _publication(tmp_path / "new", "run2")
    (new / "index.html").unlink()
    os.symlink("versions/2/index.html", new / "index.html")
    assert compare_publication.compare(old, new) == ["differs: index.html"]
