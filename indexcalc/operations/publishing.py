"""Publication with a commit point, failures of the output side, progress steps, staging
cleanup (docs/design.md section 7)."""

from __future__ import annotations

import datetime as dt
import errno
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import OutputError
from indexcalc.operations.state import LEDGER_FOLDER
from indexcalc.pipeline import computable, rule_key
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase

# --- failures of the output side ------------------------------------------------------------------

NOTHING_CHANGED = "nothing was changed (ledger and published files as they were); run again once the cause is fixed"
NOTHING_PUBLISHED = (
    "nothing was published (no ledger part was committed, the files are as they were); run again once the cause "
    "is fixed"
)
FILES_NOT_REPLACED = (
    "the levels are committed to the ledger but the published files were not replaced; run the same command "
    "again once the cause is fixed (the same date again republishes them)"
)
RETIRED_ONLY = (
    "the retirement is recorded in the ledger but no level was committed and the files are as they were; "
    "run again (without --retire) once the cause is fixed"
)
STATE_NOT_WRITTEN = (
    "the levels are committed to the ledger (and published) but the stored day state was not written; the next "
    "run calculates in full and writes it"
)


def os_error_cause(error: OSError) -> str:
    """``error``'s cause as a short phrase: ``No space left on device (ENOSPC)``."""
    name = errno.errorcode.get(error.errno or -1)
    text = error.strerror or str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


@contextmanager
def output_stage(path: Path | str, after: str) -> Iterator[None]:
    """Run one step of the output side (writing files, the ledger or the state): an
    ``OSError`` in it (disk full, read-only folder, permissions) becomes an
    :class:`OutputError` naming the path (the error's own, else ``path``), the cause and
    ``after``, the state the run leaves and how the next run recovers."""
    try:
        yield
    except OSError as error:
        raise OutputError(f"cannot write: {os_error_cause(error)}; {after}", file=str(error.filename or path)) from None


# --- publication with a commit point ------------------------------------------------------------


def publish_with_commit(
    results: dict[str, IndexResult],
    market: MarketData,
    out_dir: Path,
    commit: Callable[[], object],
    workers: int = 1,
    carry: Callable[[Path], object] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> None:
    """Stage the whole publication of ``results`` beside ``out_dir``, call ``commit`` (the
    ledger append), then swap the staged entries into ``out_dir``
    (:func:`indexcalc.atomic.publish_directory`). If writing or ``commit`` fails, the
    staging folder is dropped and ``out_dir`` is untouched. An ``OSError`` is an
    :class:`OutputError` saying whether the ledger was committed (:func:`output_stage`).
    ``workers``: page-rendering processes (:func:`indexcalc.publish.write_publication`);
    ``carry(staging)``, called after the files of ``results`` are staged, adds what the
    publication carries over (the retired indexes' files,
    :func:`indexcalc.retirement.carry_retired_files`); ``on_step`` is called after each of the
    :func:`publication_steps` steps of writing."""
    from indexcalc.publish import publication_inputs, write_publication
    from indexcalc.atomic import publish_directory

    inputs = publication_inputs(results, market)
    committed = False
    try:
        with publish_directory(out_dir) as staging:
            write_publication(results, market, staging, inputs, workers=workers,
                              progress=None if on_step is None else _StepCounter(on_step))
            if carry is not None:
                carry(staging)
            with output_stage(out_dir / LEDGER_FOLDER, NOTHING_PUBLISHED):
                commit()
            committed = True
    except OSError as error:  # staging (before the commit) or the swap into out_dir (after it)
        cause = os_error_cause(error)
        after = FILES_NOT_REPLACED if committed else NOTHING_CHANGED
        raise OutputError(f"cannot write: {cause}; {after}", file=str(error.filename or out_dir)) from None


def retired_carry(
    out_dir: Path, retired: pl.DataFrame, published: pl.DataFrame, results: dict[str, IndexResult],
    specs: Iterable[IndexSpecBase],
) -> Callable[[Path], object] | None:
    """The ``carry`` of :func:`publish_with_commit` for the ``retired`` indexes (None without)."""
    retired = retired.filter(~pl.col("index_id").is_in(list(results)))  # computable again: published live
    if retired.is_empty():
        return None
    from indexcalc.retirement import carry_retired_files

    by_id = {spec.id: spec for spec in specs}
    return lambda staging: carry_retired_files(out_dir, staging, retired, published, results, by_id)


class _StepCounter:
    """``on_step`` as the ``progress`` of :func:`indexcalc.publish.write_publication`."""

    def __init__(self, on_step: Callable[[str], None]) -> None:
        self.on_step = on_step

    def advance(self, label: str = "", steps: int = 1) -> None:
        for _ in range(steps):
            self.on_step(label)


def publication_steps(index_count: int) -> int:
    """Steps :func:`publish_with_commit` reports: the data files, one page pair per index, the
    site index."""
    return index_count + 2


def rebuild_steps(specs: Iterable[IndexSpecBase], market: MarketData, publish: bool = True) -> int:
    """Steps :func:`rebuild` reports to ``on_step``: one series per roll rule in use, one per
    family group (:func:`indexcalc.pipeline.calculate`), then "publishing" and the
    :func:`publication_steps`."""
    from indexcalc.families.registry import FAMILIES

    specs, _ = computable(list(specs), market)
    keys = {spec.id: rule_key(spec, market) for spec in specs}
    series = {keys[spec.id] for spec in specs if not FAMILIES.of(spec).own_curve}
    groups = {(spec.kind, keys[spec.id]) for spec in specs}
    return len(series) + len(groups) + (1 + publication_steps(len(specs)) if publish else 0)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Delete what killed publications left in and beside ``out_dir``: staging folders,
    versions never switched to or beyond the kept ones, temporary links
    (:func:`indexcalc.atomic.remove_unfinished`), and the ``.<name>.staging-*`` and
    ``.<name>.previous-*`` folders of releases before versioned publications; call only while
    holding the ledger lock."""
    from indexcalc.atomic import remove_unfinished

    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    stale = sorted(
        path
        for pattern in (f".{out_dir.name}.staging-*", f".{out_dir.name}.previous-*")
        for path in out_dir.parent.glob(pattern)
        if path.is_dir()
    )
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale + remove_unfinished(out_dir)


@contextmanager
def caught_up_first(days: list[dt.date]) -> Iterator[None]:
    """An :class:`OutputError` inside (the run's own date failing to be written) says that the
    days caught up before it, if any, are committed to the ledger already."""
    try:
        yield
    except OutputError as error:
        if not days:
            raise
        span = str(days[0]) if len(days) == 1 else f"{days[0]} to {days[-1]}"
        raise OutputError(
            f"{error.problem} (the day(s) caught up before it, {span}, are committed to the ledger)",
            file=error.file,
            key=error.key,
        ) from None
