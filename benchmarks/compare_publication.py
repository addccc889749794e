"""Prove that a refactor changed no published byte: rebuild the embedded market's publication
at two versions and compare the two output trees.

    python3 benchmarks/compare_publication.py OLD NEW [--keep DIR] [--data PATH]

``OLD`` and ``NEW`` are each one of:

- a git commit (any commit-ish of this repository, e.g. ``HEAD~3`` or a branch): its tree is
  extracted with ``git archive`` into a temporary folder (the working tree is not touched) and
  ``indexcalc rebuild --out OUT`` runs there, with ``PYTHONPATH`` pointing at that tree, so the
  package, the catalogue and the embedded market are the commit's own;
- a source folder (holding ``indexcalc/``), e.g. ``.`` for the uncommitted working tree: the
  rebuild runs there the same way;
- a publication folder (holding ``ledger/`` or ``versions/``) made earlier: compared as is.

Every file of the two trees is compared byte by byte (a symbolic link by its target), except
the ledger's Parquet parts (``ledger/part-*.parquet``), which legitimately differ between two
runs of the same code: each part is named after its run time and run id
(``part-<UTC time>-<run id>.parquet``) and holds the columns ``run_id`` (a random id per run)
and ``run_time`` (the run's clock time). Those parts are compared as data instead: all parts
of each tree read in name order, the two columns dropped, the remaining rows and columns
(index, date, level, return, version, methodology version, input hash, reason) equal in
value, type and order. Nothing else is ignored: ``day-state.json``, the data files, the
factsheets and methodology pages must be byte-identical.

Prints each differing or missing file and exits 1 when there is any, 0 when the publications
are identical. A rebuild of the embedded market takes about 25 s per side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import polars as pl

REPOSITORY = Path(__file__).resolve().parents[1]
LEDGER_PARTS = "ledger/part-*.parquet"
RUN_COLUMNS = ("run_id", "run_time")
"""Ledger columns that differ between two runs of the same code (module docstring)."""


def extract_commit(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` extracted into ``folder`` (git archive; the work tree untouched)."""
    folder.mkdir(parents=True)
    archive = folder.with_suffix(".tar")
    subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", "-o", str(archive), commit], check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    archive.unlink()
    return folder


def rebuild(source: Path, out: Path, data: str | None) -> None:
    """``indexcalc rebuild --out OUT`` with the package of ``source`` (stdout/stderr kept)."""
    environment = dict(os.environ, PYTHONPATH=str(source.resolve()))
    command = [sys.executable, "-c", "from indexcalc.cli import main; main()", "rebuild",
               "--out", str(out.resolve()), "--no-progress"]
    if data:
        command += ["--data", data]
    done = subprocess.run(command, cwd=source, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"rebuild in {source} failed (exit {done.returncode}):\n{done.stderr or done.stdout}")


def publication(spec: str, work: Path, name: str, data: str | None) -> Path:
    """The publication folder of ``spec`` (a publication, a source folder or a commit)."""
    path = Path(spec)
    if path.is_dir() and ((path / "ledger").is_dir() or (path / "versions").is_dir()):
        return path
    if path.is_dir() and (path / "indexcalc").is_dir():
        source = path
    else:
        source = extract_commit(spec, work / f"src-{name}")
    out = work / f"out-{name}"
    print(f"rebuilding {spec} ...", file=sys.stderr)
    rebuild(source, out, data)
    return out


def tree_files(root: Path) -> dict[str, Path]:
    """Relative path -> path of every file and symbolic link under ``root``."""
    found: dict[str, Path] = {}
    for folder, directories, files in os.walk(root):
        for name in files + [d for d in directories if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = path
    return found


def ledger_frame(paths: list[Path]) -> pl.DataFrame:
    """The ledger parts in name order, without the per-run columns."""
    frames = [pl.read_parquet(path) for path in sorted(paths)]
    frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame()
    return frame.drop([column for column in RUN_COLUMNS if column in frame.columns])


def same_file(old: Path, new: Path) -> bool:
    if old.is_symlink() or new.is_symlink():
        return old.is_symlink() and new.is_symlink() and os.readlink(old) == os.readlink(new)
    return old.read_bytes() == new.read_bytes()


def compare(old: Path, new: Path) -> list[str]:
    """One line per difference between the publication folders ``old`` and ``new``."""
    old_files, new_files = tree_files(old), tree_files(new)
    is_part = lambda relative: Path(relative).match(LEDGER_PARTS)  # noqa: E731
    problems = [f"only in old: {name}" for name in sorted(set(old_files) - set(new_files)) if not is_part(name)]
    problems += [f"only in new: {name}" for name in sorted(set(new_files) - set(old_files)) if not is_part(name)]
    for name in sorted(set(old_files) & set(new_files)):
        if not is_part(name) and not same_file(old_files[name], new_files[name]):
            problems.append(f"differs: {name}")
    old_parts = [path for name, path in old_files.items() if is_part(name)]
    new_parts = [path for name, path in new_files.items() if is_part(name)]
    if len(old_parts) != len(new_parts):
        problems.append(f"differs: ledger parts ({len(old_parts)} old, {len(new_parts)} new)")
    elif not ledger_frame(old_parts).equals(ledger_frame(new_parts)):
        problems.append(f"differs: {LEDGER_PARTS} (rows other than {', '.join(RUN_COLUMNS)})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="commit, source folder or publication folder")
    parser.add_argument("new", help="commit, source folder or publication folder")
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it")
    parser.add_argument("--data", help="rebuild from this market instead of the embedded one")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="indexcalc-compare-") as scratch:
        work = options.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        old = publication(options.old, work, "old", options.data)
        new = publication(options.new, work, "new", options.data)
        problems = compare(old, new)
        files = len(tree_files(new))
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} difference(s) between {options.old} and {options.new}")
        return 1
    print(f"identical: {files} files (ledger compared without {', '.join(RUN_COLUMNS)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
