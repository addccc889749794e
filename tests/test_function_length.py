"""No function over 80 lines (issue 18) in the families, the composite and the panel, except
one whose sequential loop is the formula, which says so in a comment ("the loop below is the
formula"). Reads the source (``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import indexcalc

PACKAGE = Path(indexcalc.__file__).parent
MAX_FUNCTION_LINES = 80
LOOP_NOTE = "loop below is the formula"
CHECKED = sorted([PACKAGE / "composite.py", PACKAGE / "panel.py", *(PACKAGE / "families").rglob("*.py")])


def long_functions(path: Path) -> list[tuple[str, int]]:
    """``(name, lines)`` of the functions of ``path`` longer than the limit without the note."""
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES and LOOP_NOTE not in ast.get_source_segment(source, node):
                found.append((node.name, lines))
    return found


def test_no_function_is_over_80_lines_unless_its_loop_is_the_formula():
    offenders = {path.relative_to(PACKAGE).as_posix(): long_functions(path) for path in CHECKED}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_length_check_sees_a_long_function_and_its_note(tmp_path):
    body = "".join(f"    x{line} = {line}\n" for line in range(MAX_FUNCTION_LINES))
    plain = tmp_path / "plain.py"
    plain.write_text(f"def f():\n{body}")
    noted = tmp_path / "noted.py"
    noted.write_text(f"def f():\n    # the {LOOP_NOTE}\n{body}")
    assert long_functions(plain) == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(noted) == []
