"""The equal-weight basket: the example family of the README's "adding an index family"
(docs/design.md section 6). Its spec (:mod:`.spec`), its compute (:mod:`.compute`) and its
methodology template (``methodology.html.j2``) are all in this folder; the registry lists it
in one line. The published catalogue has no index of this kind."""

from __future__ import annotations

from pathlib import Path

from indexcalc.families.equalweight.spec import EqualWeightSpec
from indexcalc.families.family import Family

FAMILY = Family(
    kind="equal_weight",
    spec_class=EqualWeightSpec,
    compute="indexcalc.families.equalweight.compute:compute_equal_weight",
    title="Equal-weight baskets",
    folder=Path(__file__).parent,
)
