"""What the calculation, the daily state and the publication need to know of an index family
(docs/design.md section 6): one :class:`Family` per family, declared in its own folder
``indexcalc/families/<family>/__init__.py`` and listed once in
:data:`indexcalc.families.registry.FAMILIES`.

Nothing outside a family's folder branches on its ``kind``: the pipeline reads the compute
function, the required inputs and the own-curve flag from here, the publisher the title, the
methodology template and the review threshold.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexcalc.specs.base import IndexSpecBase

if TYPE_CHECKING:
    import polars as pl

    from indexcalc.data.market import MarketData
    from indexcalc.results import IndexResult

    Compute = Callable[[list[IndexSpecBase], MarketData, pl.DataFrame, pl.DataFrame], dict[str, IndexResult]]

DEFAULT_REVIEW_THRESHOLD = 0.05
"""Absolute daily change (fraction) above which an index is flagged for review when its
family sets no threshold of its own."""


def _no_missing_inputs(spec: IndexSpecBase, market: MarketData) -> str | None:
    return None


def _no_methodology_extras(spec: IndexSpecBase, instruments: Mapping[str, Any], roots: list[str]) -> dict:
    return {}


@dataclass(frozen=True)
class Family:
    """An index family.

    - ``kind``: the ``kind`` literal of its spec tables in the catalogue;
    - ``spec_class``: its immutable spec (a subclass of :class:`IndexSpecBase` whose ``kind``
      field is the literal ``kind``);
    - ``compute``: ``"module:function"`` of ``compute(specs, market, series, collateral) ->
      {index id: IndexResult}``, imported on first use, so that a run that computes one family
      does not import the others (and their scipy modules);
    - ``title``: the heading of the family's indexes on the site's index page;
    - ``folder``: the family's folder, holding ``methodology.html.j2`` (its methodology
      document, extending the layout ``methodology/methodology.html.j2``);
    - ``missing_inputs(spec, market)``: why ``market`` cannot serve ``spec`` beyond its roots
      (None when it can): the pipeline then skips the spec with that reason;
    - ``own_curve``: the compute function builds its own curve from the market and ignores
      the linked series (the daily run then computes it in full every day);
    - ``review_threshold``: the absolute daily change flagged for review before release;
    - ``methodology_extras(spec, instruments, roots)``: names the family's methodology
      template reads beyond the shared context;
    - ``is_reference(spec)``: whether ``spec`` is the family's reference index, shown beside
      the other indexes of its return type in their factsheets;
    - ``naming_fields``: spec fields that, like the id, name or return type, only choose among
      the outputs of inputs the family shares (:func:`indexcalc.pipeline.sharing_key`: specs
      differing only in them are computed in one call).
    """

    kind: str
    spec_class: type[IndexSpecBase]
    compute: str
    title: str
    folder: Path
    missing_inputs: Callable[[Any, MarketData], str | None] = _no_missing_inputs
    own_curve: bool = False
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    methodology_extras: Callable[[Any, Mapping[str, Any], list[str]], dict] = _no_methodology_extras
    is_reference: Callable[[Any], bool] = field(default=lambda spec: False)
    naming_fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        declared = self.spec_class.model_fields["kind"].default
        if declared != self.kind:
            raise TypeError(f"family {self.kind!r}: its spec class {self.spec_class.__name__} has kind {declared!r}")
        if ":" not in self.compute:
            raise TypeError(f"family {self.kind!r}: compute must be 'module:function', not {self.compute!r}")

    def compute_function(self) -> Compute:
        """The compute function (:attr:`compute` imported)."""
        module, function = self.compute.split(":")
        return getattr(importlib.import_module(module), function)

    @property
    def methodology_template(self) -> str:
        """The template name of the family's methodology document in
        :func:`indexcalc.publish.formatting.environment` (``<kind>/methodology.html.j2``)."""
        return f"{self.kind}/methodology.html.j2"
