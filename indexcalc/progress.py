"""A progress bar that shows itself only when the work takes longer than a second (rich).

Usable by any long command (publish, rebuild)::

    with DelayedProgress(total=len(items), description="publishing", enabled=True) as progress:
        for item in items:
            ...
            progress.advance(item.name)

Nothing is drawn for work that finishes within ``delay`` seconds, nor when ``enabled`` is
False or stderr is not a terminal (CI logs stay clean).
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

DEFAULT_DELAY_SECONDS = 1.0


class DelayedProgress:
    """Counts steps; starts drawing a rich bar on stderr at the first step after ``delay`` s.
    ``total`` None: the number of steps is not known (the bar pulses)."""

    def __init__(
        self,
        total: int | None,
        description: str,
        enabled: bool = True,
        delay: float = DEFAULT_DELAY_SECONDS,
        console: Console | None = None,
    ) -> None:
        self.total = total
        self.description = description
        self.delay = delay
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.completed = 0
        self._started_at = 0.0
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> "DelayedProgress":
        self._started_at = time.monotonic()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def set_total(self, total: int | None) -> None:
        """The number of steps, once known (the bar stops pulsing)."""
        self.total = total
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def advance(self, label: str = "", steps: int = 1) -> None:
        """Count ``steps`` done; ``label`` names the step just finished."""
        self.completed += steps
        if self._progress is None and self.enabled and time.monotonic() - self._started_at > self.delay:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[label]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, label=label)
        if self._progress is not None:
            self._progress.update(self._task, completed=self.completed, label=label)
