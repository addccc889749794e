"""The Long/Short momentum family (docs/design.md section 3): Long/Short, Long/Flat,
Short/Flat, Long-Only and Short-Only indexes; weights = capped 12-month average dollar open
interest (:mod:`.magnitude`) times the direction of the linked price against its moving average
(:mod:`.direction`), with optional annual reconstitution (:mod:`.reconstitution`); computed
by :func:`.compute.compute_momentum`."""

from __future__ import annotations

from pathlib import Path

from indexcalc.families.family import Family
from indexcalc.families.momentum.spec import MomentumIndexSpec


def missing_inputs(spec: MomentumIndexSpec, market) -> str | None:
    """:func:`indexcalc.families.momentum.compute.missing_inputs`."""
    from indexcalc.families.momentum.compute import missing_inputs as missing

    return missing(spec, market)


def is_long_only_reference(spec) -> bool:
    """The catalogue's Long-Only index on the whole universe (no sector or universe filter):
    the reference every factsheet compares with."""
    return (
        isinstance(spec, MomentumIndexSpec)
        and spec.family == "long_only"
        and spec.sectors is None
        and spec.universe is None
        and spec.sector_label is None
    )


FAMILY = Family(
    kind="momentum",
    spec_class=MomentumIndexSpec,
    compute="indexcalc.families.momentum.compute:compute_momentum",
    title="Long/Short momentum family",
    folder=Path(__file__).parent,
    missing_inputs=missing_inputs,
    review_threshold=0.03,
    is_reference=is_long_only_reference,
    naming_fields=frozenset({"family", "sector_label"}),
)
