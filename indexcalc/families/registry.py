"""The index families the calculator knows (docs/design.md section 6): one line per family.

Adding a family is a folder ``indexcalc/families/<family>/`` whose ``__init__.py`` declares its
:class:`~indexcalc.families.family.Family`, and one line in :data:`FAMILIES` below. The
catalogue's spec tables, the pipeline, the daily state and the publisher read the families from
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Annotated, Union

from pydantic import Field, TypeAdapter

from indexcalc.families import basemetals, carry, copper, equalweight, momentum
from indexcalc.families.family import Family
from indexcalc.specs.base import IndexSpecBase


class Registry:
    """Families by kind, in declaration order (the order of the site's index page)."""

    def __init__(self, families: Iterable[Family]) -> None:
        self._families: dict[str, Family] = {}
        for family in families:
            if family.kind in self._families:
                raise TypeError(f"family kind {family.kind!r} is registered twice")
            self._families[family.kind] = family

    def __iter__(self) -> Iterator[Family]:
        return iter(self._families.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self._families

    def __getitem__(self, kind: str) -> Family:
        return self._families[kind]

    def of(self, spec: IndexSpecBase) -> Family:
        """The family of ``spec`` (by its ``kind``)."""
        return self._families[spec.kind]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._families)

    @cached_property
    def spec_adapter(self) -> TypeAdapter:
        """Validates a catalogue table into the spec class its ``kind`` names."""
        classes = tuple(family.spec_class for family in self)
        union = classes[0] if len(classes) == 1 else Union[classes]  # noqa: UP007 (a runtime tuple)
        return TypeAdapter(Annotated[union, Field(discriminator="kind")])


FAMILIES = Registry([
    momentum.FAMILY,
    carry.FAMILY,
    basemetals.FAMILY,
    copper.FAMILY,
    equalweight.FAMILY,
])
"""Every family, in the order the site lists them."""
