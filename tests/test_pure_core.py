"""The calculation core reads nothing (docs/design.md section 2): exchange sessions and scenario
files are loaded at the edge (the market loaders, the spec loader); the core modules import no
file, environment or calendar machinery. Checked on the modules' imports."""

from __future__ import annotations

import ast
from pathlib import Path

import indexcalc

PACKAGE = Path(indexcalc.__file__).parent
CORE = sorted(
    [
        PACKAGE / name
        for name in ("rolls.py", "keyed_prices.py", "first_notice.py", "data_roll.py", "series.py",
                     "disruption.py", "collateral.py", "composite.py", "pipeline.py")
    ]
    + list((PACKAGE / "analytics").glob("*.py"))
    + list((PACKAGE / "rules").glob("*.py"))
    # each family's calculation modules: not its __init__ (the declaration: its folder is a path)
    # nor its spec (built at the edge by the catalogue; the base-metals spec reads its scenarios
    # file there, so that the calculation gets them in the spec)
    + [path for path in (PACKAGE / "families").glob("*/*.py") if path.name not in ("__init__.py", "spec.py")]
)
FORBIDDEN = {"os", "tempfile", "tomllib", "shutil", "exchange_calendars", "indexcalc.data.calendars",
             "indexcalc.data.load", "indexcalc.data.embedded", "indexcalc.data.embedded_io"}
ALLOWED = {
    # the CFTC open-interest reader lives beside the magnitude rule that uses its columns
    ("families/momentum/magnitude.py", "pathlib"),
    # the daily run's checks (operations, the edge) call the ended rule without a market's
    # sessions; the families pass them (rules/ended.exchange_days)
    ("rules/ended.py", "indexcalc.data.calendars"),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_modules_import_no_file_environment_or_calendar_machinery():
    assert len(CORE) > 20
    found = {
        (path.relative_to(PACKAGE).as_posix(), name)
        for path in CORE
        for name in _imports(path)
        if name in FORBIDDEN | {"pathlib"}
    }
    assert found - ALLOWED == set()


def test_the_core_reads_no_environment_variable():
    for path in CORE:
        assert "environ" not in path.read_text(), path.name
