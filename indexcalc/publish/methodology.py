"""Methodology documents rendered from the index specs (docs/design.md section 6).

Each index family has a template ``methodology.html.j2`` in its folder
(``indexcalc/families/<family>/``) that extends the layout ``methodology/methodology.html.j2``
(repository root). Every number in a document is read from the spec
the index is computed from (templates fail on an undefined name), and the document ends with
the full parameter table of the spec, so the text cannot drift from the calculation.
"""

from __future__ import annotations

from pydantic import BaseModel

from indexcalc.data.instruments import Instrument
from indexcalc.families.registry import FAMILIES
from indexcalc.publish.describe import describe_roll, family_label, index_roots
from indexcalc.publish.formatting import environment
from indexcalc.disruption import MAX_DISRUPTED_SESSIONS
from indexcalc.specs import IndexSpecBase, RollRule


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(_show(item) for item in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_show(item)}" for key, item in value.items()) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def spec_parameters(spec: BaseModel, prefix: str = "") -> list[dict[str, str]]:
    """Every field of ``spec`` as ``name, value, description`` rows; nested models (magnitude,
    roll...) are expanded into dotted names, tuples of models into ``name[i].field``."""
    rows: list[dict[str, str]] = []
    for name, info in type(spec).model_fields.items():
        if info.exclude:  # not a parameter (a grid variant's origin)
            continue
        value = getattr(spec, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows.extend(spec_parameters(value, f"{dotted}."))
        elif isinstance(value, tuple) and value and all(isinstance(item, BaseModel) for item in value):
            for position, item in enumerate(value):
                rows.extend(spec_parameters(item, f"{dotted}[{position}]."))
        else:
            rows.append({"name": dotted, "value": _show(value), "description": info.description or ""})
    return rows


def methodology_context(
    spec: IndexSpecBase, instruments: dict[str, Instrument], roll: RollRule | None = None
) -> dict:
    """What a methodology template reads: the spec itself, its parameter table, its roots with
    their instrument terms, the roll rule in words, the calculation's limit of consecutive
    disrupted sessions, and the business days without a settlement after which a root's data has
    ended (:mod:`indexcalc.rules.ended`)."""
    from indexcalc.rules.ended import ENDED_AFTER_BUSINESS_DAYS

    roots = index_roots(spec, instruments)
    return {
        "spec": spec,
        "ended_after_business_days": ENDED_AFTER_BUSINESS_DAYS,
        "kind_label": family_label(spec),
        "parameters": spec_parameters(spec),
        "roots": [instruments[root] for root in roots if root in instruments],
        "roll_text": describe_roll(roll or spec.roll),
        "max_disrupted_sessions": MAX_DISRUPTED_SESSIONS,
        **FAMILIES.of(spec).methodology_extras(spec, instruments, roots),
    }


def render_methodology(
    spec: IndexSpecBase, instruments: dict[str, Instrument], roll: RollRule | None = None, synthetic: bool = False
) -> str:
    """The methodology document of ``spec`` (self-contained HTML); ``synthetic``: published
    from a synthetic market (the page then carries the banner)."""
    template = environment().get_template(FAMILIES.of(spec).methodology_template)
    return template.render(methodology_context(spec, instruments, roll), root="../", synthetic_market=synthetic)
