"""Index specs and the catalogue of published indexes (docs/design.md section 6).

The catalogue is every ``[[index]]`` table of the TOML files in ``data/catalogue/``; each table
is one immutable spec, chosen by its ``kind``.
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
