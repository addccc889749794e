"""The catalogue of published indexes (docs/design.md section 6).

The catalogue is every ``[[index]]`` table of the TOML files in ``data/catalogue/``; each table
is one immutable spec, chosen by its ``kind`` among the registered families
(:data:`indexcalc.families.registry.FAMILIES`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import SpecError
from indexcalc.families.registry import FAMILIES
from indexcalc.specs.base import IndexSpecBase

DEFAULT_CATALOGUE_DIR = Path(__file__).resolve().parents[1] / "data" / "catalogue"


def parse_spec(raw: dict, *, file: str | None = None) -> IndexSpecBase:
    """One spec from its table; errors name the file, the index id and the field."""
    try:
        return FAMILIES.spec_adapter.validate_python(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=file, key=f"index {raw.get('id', '?')}") from None


def load_catalogue(directory: Path | str = DEFAULT_CATALOGUE_DIR) -> list[IndexSpecBase]:
    """Every spec of every ``*.toml`` in ``directory``, in file then table order; ids unique."""
    directory = Path(directory)
    specs: list[IndexSpecBase] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        raw = read_toml(path)
        for table in raw.get("index", []):
            spec = parse_spec(table, file=str(path))
            if spec.id in seen:
                raise SpecError(f"duplicated index id (also in {seen[spec.id]})", file=str(path), key=spec.id)
            seen[spec.id] = str(path)
            specs.append(spec)
    return specs
