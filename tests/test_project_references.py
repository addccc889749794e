"""The project stands on its own: it cites its own design document, never a file outside the
repository, and every section it cites exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DESIGN = PROJECT / "docs" / "design.md"
OUTSIDE = re.compile(r"DESIGN\.md|STYLE\.md|shared/sources|shared/DESIGN")
"""Documents the project was started from, which live outside the repository."""
PRODUCT_FOLDERS = ("indexcalc", "methodology", "data", "docs")
"""The product itself: no path outside the repository at all (tests, benchmarks and examples
may read the shared real data from ../shared/data, and say so)."""
CITATION = re.compile(r"docs/design\.md,?\s+sections?\s+(\d+)(?:\s*(?:,|and|-)\s*(\d+))?")
TEXT_SUFFIXES = {".py", ".j2", ".md", ".toml", ".css", ".html", ".txt", ".cfg", ".ini", ""}


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    paths = [PROJECT / name for name in listed.splitlines()]
    return [path for path in paths if path.suffix in TEXT_SUFFIXES and path.is_file() and path != Path(__file__)]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(PROJECT)}:{number}: {line.strip()}"
        for path in tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_product_names_no_path_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(PROJECT)}:{number}"
        for path in tracked_text_files()
        if path.relative_to(PROJECT).parts[0] in PRODUCT_FOLDERS
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if "../shared" in line
    ]
    assert offenders == []


def test_every_cited_section_of_the_design_document_exists() -> None:
    sections = {int(number) for number in re.findall(r"^## (\d+)\. ", DESIGN.read_text(), flags=re.MULTILINE)}
    assert sections == set(range(1, 10))
    cited: dict[int, str] = {}
    for path in tracked_text_files():
        # citations may wrap: join the lines of a file before searching
        for match in CITATION.finditer(" ".join(path.read_text(errors="replace").split())):
            for number in filter(None, match.groups()):
                cited.setdefault(int(number), str(path.relative_to(PROJECT)))
    assert len(cited) >= 5
    missing = {number: path for number, path in cited.items() if number not in sections}
    assert missing == {}
