"""Index specs and the catalogue of published indexes (docs/design.md section 6).

The catalogue is every ``[[index]]`` table of the TOML files in ``data/catalogue/``, and the
variants its ``[[grid]]`` tables expand to; each table is one immutable spec, chosen by its ``kind``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Union

from pydantic import Field, TypeAdapter, ValidationError

from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import SpecError
from indexcalc.specs.base import DataRoll, FirstNoticeRoll, IndexSpecBase, RollRule, WindowRoll
from indexcalc.specs.basemetals import BaseMetalsSpec
from indexcalc.specs.carry import CarryBasketSpec
from indexcalc.specs.copper import CopperMacroSpec
from indexcalc.specs.grids import expand_grids
from indexcalc.specs.momentum import MomentumIndexSpec

IndexSpec = Annotated[
    Union[MomentumIndexSpec, CarryBasketSpec, BaseMetalsSpec, CopperMacroSpec], Field(discriminator="kind")
]
_SPEC = TypeAdapter(IndexSpec)

DEFAULT_CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "data" / "catalogue"

__all__ = [
    "BaseMetalsSpec",
    "CarryBasketSpec",
    "CopperMacroSpec",
    "DataRoll",
    "FirstNoticeRoll",
    "IndexSpec",
    "IndexSpecBase",
    "MomentumIndexSpec",
    "RollRule",
    "WindowRoll",
    "load_catalogue",
    "parse_spec",
    "read_catalogue",
]


def parse_spec(raw: dict, *, file: str | None = None) -> IndexSpecBase:
    """One spec from its table; errors name the file, the index id and the field."""
    try:
        return _SPEC.validate_python(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=file, key=f"index {raw.get('id', '?')}") from None


def load_catalogue(directory: Path | str = DEFAULT_CATALOGUE_DIR) -> list[IndexSpecBase]:
    """Every spec of every ``*.toml`` in ``directory``, in file then table order, then the
    variants of its ``[[grid]]`` tables (:mod:`indexcalc.specs.grids`); ids unique."""
    return read_catalogue(directory)[0]


def read_catalogue(directory: Path | str = DEFAULT_CATALOGUE_DIR) -> tuple[list[IndexSpecBase], dict[str, str]]:
    """:func:`load_catalogue`, and each grid variant's id -> the id of the grid it comes from."""
    files = [(str(path), read_toml(path)) for path in sorted(Path(directory).glob("*.toml"))]
    tables = [(file, table) for file, raw in files for table in raw.get("index", [])]
    variants = expand_grids(files, parse_spec)  # the grid hook: variants after the [[index]] tables
    tables += [(file, variant.table) for file, variant in variants]
    specs: list[IndexSpecBase] = []
    seen: dict[str, str] = {}
    for file, table in tables:
        spec = parse_spec(table, file=file)
        if spec.id in seen:
            raise SpecError(f"duplicated index id (also in {seen[spec.id]})", file=file, key=spec.id)
        seen[spec.id] = file
        specs.append(spec)
    return specs, {variant.table["id"]: variant.grid for _, variant in variants}
