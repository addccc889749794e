"""Faults injected into a CLI run in a subprocess (tests/reliability/conftest.py, run_with_fault).

Rendering workers are spawned processes: they import this module by name (the functions below
are pickled by reference), so a fault installed in the parent reaches them without any hook in
the product code.
"""

from __future__ import annotations

import os
import signal

KILLED_INDEX = "BM-EQ-ER"
"""The index whose rendering kills its worker (``render`` fault); the others render normally."""


def die_at_start(*_arguments) -> None:
    """A worker initializer that dies at once (a worker killed at start-up)."""
    os._exit(70)


def die_while_rendering(task):
    """Render as usual, except that the worker given the chunk of :data:`KILLED_INDEX` is killed
    (SIGKILL). ``task``: (the chunk's file, its index ids)."""
    import indexcalc.publish as publish

    if KILLED_INDEX in task[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    return publish._render_in_worker(task)


PAUSED_VARIABLE = "INDEXCALC_TEST_PAUSED"
"""File the paused process creates when it reaches its pause."""
RELEASE_VARIABLE = "INDEXCALC_TEST_RELEASE"
"""File whose creation lets the paused process go on (it gives up after PAUSE_SECONDS)."""
PAUSE_SECONDS = 120


def pause() -> None:
    """Signal the pause (:data:`PAUSED_VARIABLE`) and wait for the release file."""
    import time
    from pathlib import Path

    Path(os.environ[PAUSED_VARIABLE]).write_text("paused")
    release = Path(os.environ[RELEASE_VARIABLE])
    deadline = time.monotonic() + PAUSE_SECONDS
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def paused_before(module, name: str) -> None:
    """Replace ``module.name`` by a function that pauses, then calls the original."""
    original = getattr(module, name)

    def wrapper(*arguments, **keywords):
        pause()
        return original(*arguments, **keywords)

    setattr(module, name, wrapper)


def install(fault: str) -> None:
    """Install ``fault`` in this (parent) process. ``start``/``init``/``render``: the page-rendering
    pool is used even for a few indexes, and its workers die at start-up (killed while
    reading their start-up arguments / exiting in their initializer) or mid-render;
    ``pool``: the pool with no fault; ``pause-rebuild`` / ``pause-publish``: the rebuild
    pauses before its calculation, the publish before writing (both holding the lock;
    :func:`pause`); ``none``: nothing."""
    import indexcalc.publish as publish

    if fault in ("start", "init", "render", "pool"):
        publish.PARALLEL_FROM_INDEXES = 1
    if fault == "start":
        from tests.reliability import dying_worker

        os.environ[dying_worker.PARENT_VARIABLE] = str(os.getpid())
        publish._start_worker = dying_worker.start
    elif fault == "init":
        publish._start_worker = die_at_start
    elif fault == "render":
        publish._render_in_worker = die_while_rendering
    elif fault == "pause-rebuild":  # inside the lock, before the calculation
        import indexcalc.operations.rebuilding as rebuilding

        paused_before(rebuilding, "calculate")
    elif fault == "pause-publish":  # inside the lock, before writing the publication
        import indexcalc.publish as publish

        paused_before(publish, "publish_all")
    elif fault not in ("none", "pool"):
        raise ValueError(f"unknown fault {fault!r}")
