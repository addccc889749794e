"""A module whose import kills any process but the one that installed the fault: a spawned
rendering worker imports it while unpickling its start-up arguments (its initializer is a
function of this module), so the worker dies at start-up before it has read them, as a worker
killed by the OOM killer or ``kill -9`` while starting would (tests/reliability/faults.py)."""

from __future__ import annotations

import os
import signal

PARENT_VARIABLE = "INDEXCALC_TEST_FAULT_PARENT"

if os.environ.get(PARENT_VARIABLE) and int(os.environ[PARENT_VARIABLE]) != os.getpid():
    os.kill(os.getpid(), signal.SIGKILL)


def start(*_arguments) -> None:
    """The initializer the parent hands to its workers (never runs: they die importing it)."""
