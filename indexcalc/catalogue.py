"""The catalogue of published indexes (docs/design.md section 6).

The catalogue is every ``[[index]]`` table of the TOML files in ``data/catalogue/``, and the
variants its ``[[grid]]`` tables expand to (:mod:`indexcalc.specs.grids`); each table is one
immutable spec, chosen by its ``kind`` among the registered families
(:data:`indexcalc.families.registry.FAMILIES`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import SpecError
from indexcalc.families.registry import FAMILIES
from indexcalc.specs.base import GridMember, IndexSpecBase
from indexcalc.specs.grids import expand_grids

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
    """Every spec of every ``*.toml`` in ``directory``, in file then table order, then the
    variants of its ``[[grid]]`` tables (:mod:`indexcalc.specs.grids`); ids unique."""
    return read_catalogue(directory)[0]


def read_catalogue(directory: Path | str = DEFAULT_CATALOGUE_DIR) -> tuple[list[IndexSpecBase], dict[str, str]]:
    """:func:`load_catalogue`, and each grid variant's id -> the id of the grid it comes from
    (a variant's spec also carries it with its axis values: ``spec.grid``)."""
    files = [(str(path), read_toml(path)) for path in sorted(Path(directory).glob("*.toml"))]
    tables = [(file, table) for file, raw in files for table in raw.get("index", [])]
    variants = expand_grids(files, parse_spec)  # the grid hook: variants after the [[index]] tables
    tables += [(file, variant.table) for file, variant in variants]
    members = {variant.table["id"]: GridMember(grid=variant.grid, values=tuple(variant.shown.items()))
               for _, variant in variants}
    specs: list[IndexSpecBase] = []
    seen: dict[str, str] = {}
    for file, table in tables:
        spec = parse_spec(table, file=file)
        if spec.id in members:
            spec = spec.model_copy(update={"grid": members[spec.id]})
        if spec.id in seen:
            raise SpecError(f"duplicated index id (also in {seen[spec.id]})", file=file, key=spec.id)
        seen[spec.id] = file
        specs.append(spec)
    return specs, {index_id: member.grid for index_id, member in members.items()}
