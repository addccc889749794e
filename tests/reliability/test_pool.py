"""Issue 20, point 1: a rendering worker that dies at any moment ends the run with one line and
exit code 2 within seconds, the lock released, nothing published changed.

At 4c1ad00 a worker killed at start-up (while reading its start-up arguments, which held every
result) left ``run`` and ``publish`` blocked forever writing them into its pipe, holding the
ledger lock; a worker exiting in its initializer or killed mid-render gave exit 1 and a
``BrokenProcessPool`` traceback. The runs are CLI subprocesses with the fault injected
(tests/reliability/faults.py), each killed after RUN_TIMEOUT seconds, which fails the test.
"""

from __future__ import annotations

import shutil

import pytest

from indexcalc.ledger import Ledger
from tests.reliability.conftest import assert_unlocked, fresh_copy, run_with_fault, snapshot
from tests.test_operations_cli import NEXT_DAY

RUN_TIMEOUT = 60
"""Seconds after which a run is taken as hung (a healthy one takes about 5 to 12 s here)."""
MAX_SECONDS = 30
"""The most a run with a dead worker may take (acceptance: 'within seconds', < ~30 s)."""

pytestmark = pytest.mark.slow


def assert_one_line_exit_2(process, took: float) -> None:
    assert process.returncode == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    assert "page-rendering process died" in lines[0] and "nothing was published" in lines[0]
    assert "Traceback" not in process.stderr
    assert took < MAX_SECONDS, f"took {took:.1f} s"


@pytest.mark.parametrize("fault", ["start", "init", "render"])
def test_a_daily_run_whose_worker_dies_exits_2_and_changes_nothing(reliability_setup, tmp_path, fault):
    out = fresh_copy(reliability_setup, tmp_path)
    before = snapshot(out)
    process, took = run_with_fault(
        fault,
        ["run", "--date", NEXT_DAY, "--data", reliability_setup["data"], "--catalogue",
         reliability_setup["catalogue"], "--out", out, "--no-progress"],
        RUN_TIMEOUT,
    )
    assert_one_line_exit_2(process, took)
    assert snapshot(out) == before  # ledger (no part appended), state, levels, factsheets
    assert_unlocked(out)
    assert not list(out.parent.glob(".outputs.*"))  # no staging folder left


@pytest.mark.parametrize("fault", ["start", "render"])
def test_a_publish_whose_worker_dies_exits_2_and_changes_nothing(reliability_setup, tmp_path, fault):
    site = fresh_copy(reliability_setup, tmp_path)
    shutil.rmtree(site / "ledger")  # `publish` writes folders without a ledger
    before = snapshot(site)
    process, took = run_with_fault(
        fault,
        ["publish", "--data", reliability_setup["data"], "--catalogue", reliability_setup["catalogue"],
         "--out", site, "--workers", "2", "--no-progress"],
        RUN_TIMEOUT,
    )
    assert_one_line_exit_2(process, took)
    assert snapshot(site) == before
    assert_unlocked(site)
    assert not Ledger(site / "ledger").exists()


def test_without_a_fault_the_pool_renders_what_one_process_renders(reliability_setup, tmp_path):
    """The control: the same run with no fault and two rendering processes succeeds, and its
    files equal those of a run rendering in the calling process."""
    pooled = fresh_copy(reliability_setup, tmp_path / "pooled")
    single = fresh_copy(reliability_setup, tmp_path / "single")
    arguments = ["--date", NEXT_DAY, "--data", reliability_setup["data"], "--catalogue",
                 reliability_setup["catalogue"], "--no-progress"]
    with_pool, _ = run_with_fault("pool", ["run", *arguments, "--out", pooled], RUN_TIMEOUT)
    without, _ = run_with_fault("none", ["run", *arguments, "--out", single], RUN_TIMEOUT)
    assert with_pool.returncode == 0 and without.returncode == 0, with_pool.stderr + without.stderr
    ignored = ("ledger/",)
    assert {name: data for name, data in snapshot(pooled).items() if not name.startswith(ignored)} == {
        name: data for name, data in snapshot(single).items() if not name.startswith(ignored)}
