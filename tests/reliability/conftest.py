"""Shared set-up of the reliability tests (issue 20): a small published state, and a way to run
the CLI in a subprocess with a fault injected (tests/reliability/faults.py).

Data: the embedded SYNTHETIC market cut as in tests/test_operations_cli.py, written as
long-format folders; catalogue: that module's four test indexes. ``published`` is a rebuild of
the data up to PUBLISHED_THROUGH, made once per session; each test copies it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexcalc.data.longformat import write_long
from tests.test_operations import cut
from tests.test_operations_cli import CATALOGUE, PUBLISHED_THROUGH, SPAN, run_cli

PROJECT = Path(__file__).resolve().parents[2]
FAULT_SCRIPT = """
import sys
fault, *arguments = sys.argv[1:]
from tests.reliability import faults
faults.install(fault)
from indexcalc.cli import main
main(arguments, prog_name="indexcalc")
"""


@pytest.fixture(scope="session")
def reliability_setup(tmp_path_factory, embedded_market) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reliability")
    market = cut(embedded_market, *SPAN)
    write_long(market, root / "data_full")
    write_long(market.up_to(PUBLISHED_THROUGH), root / "data_published")
    (root / "catalogue").mkdir()
    (root / "catalogue" / "test.toml").write_text(CATALOGUE)
    published = root / "published" / "outputs"
    result = run_cli("rebuild", "--data", root / "data_published", "--catalogue", root / "catalogue",
                     "--out", published, "--no-progress")
    assert result.exit_code == 0, result.output
    return {"root": root, "published": published, "catalogue": root / "catalogue",
            "data": root / "data_full", "data_published": root / "data_published"}


def fresh_copy(setup: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the published state to run against."""
    out = tmp_path / "outputs"
    shutil.copytree(setup["published"], out, symlinks=True)
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file a reader of ``folder`` sees (relative path -> bytes), the lock file excepted:
    published entries read through their links (``tests.test_operations.snapshot``)."""
    from tests.test_operations import snapshot as published_snapshot

    return {name: content for name, content in published_snapshot(folder).items() if Path(name).name != ".lock"}


def run_with_fault(fault: str, arguments: list, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``indexcalc ARGUMENTS`` in a subprocess with ``fault`` installed
    (:func:`tests.reliability.faults.install`); returns the finished process and its wall time.
    A run still going after ``timeout`` seconds is killed and the test fails."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    try:
        process = subprocess.run(
            [sys.executable, "-c", FAULT_SCRIPT, fault, *[str(argument) for argument in arguments]],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=PROJECT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"indexcalc {' '.join(map(str, arguments))} with fault {fault!r} still running after {timeout} s")
    return process, time.monotonic() - started


def assert_unlocked(out: Path) -> None:
    """Nothing holds the lock of the output folder ``out`` (a new writer could start)."""
    from indexcalc.ledger import output_lock

    with output_lock(out):
        pass


def start_with_fault(fault: str, arguments: list, environment: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``indexcalc ARGUMENTS`` in a subprocess with ``fault`` installed (not waited for)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1", **(environment or {})}
    return subprocess.Popen(
        [sys.executable, "-c", FAULT_SCRIPT, fault, *[str(argument) for argument in arguments]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=PROJECT,
    )
