"""Specs are immutable all the way down (issue 18: "specs called frozen hold dicts"): a table
of a spec (fixed weights, CFTC markets, scenario shocks) cannot be changed, and every spec of
the catalogue is hashable, pickles (process and Ray workers) and serialises as before."""

from __future__ import annotations

import json
import pickle

import pytest

from indexcalc.catalogue import load_catalogue, parse_spec
from indexcalc.families.basemetals.spec import StressScenario
from indexcalc.specs.base import FrozenDict


def _fixed() -> object:
    return parse_spec({"kind": "momentum", "id": "X", "name": "x", "family": "long_short",
                       "magnitude": {"source": "fixed", "fixed_weights": {"CL": 0.25, "GC": 0.75}}})


def test_a_spec_table_cannot_be_changed():
    weights = _fixed().magnitude.fixed_weights
    assert isinstance(weights, FrozenDict) and weights == {"CL": 0.25, "GC": 0.75}
    for change in (lambda: weights.__setitem__("CL", 1.0), lambda: weights.update(CL=1.0), lambda: weights.pop("CL"),
                   lambda: weights.clear(), lambda: weights.setdefault("SI", 0.0), lambda: weights.__delitem__("GC")):
        with pytest.raises(TypeError):
            change()
    assert weights == {"CL": 0.25, "GC": 0.75}
    scenario = StressScenario(name="s", description="d", shocks={"HG": -0.2})
    with pytest.raises(TypeError):
        scenario.shocks["HG"] = 0.0
    assert isinstance(StressScenario(name="t", description="d").shocks, FrozenDict)


def test_a_spec_with_a_table_pickles_hashes_and_serialises_as_a_plain_dict():
    spec = _fixed()
    copy = pickle.loads(pickle.dumps(spec))
    assert copy == spec and isinstance(copy.magnitude.fixed_weights, FrozenDict)
    assert hash(copy) == hash(spec)
    assert json.loads(spec.model_dump_json())["magnitude"]["fixed_weights"] == {"CL": 0.25, "GC": 0.75}
    assert type(spec.model_dump()["magnitude"]["fixed_weights"]) is dict


def test_every_catalogue_spec_is_hashable_and_pickles():
    for spec in load_catalogue():
        assert pickle.loads(pickle.dumps(spec)) == spec, spec.id
        hash(spec)


def test_a_changed_scenario_file_changes_the_base_metals_fingerprint(tmp_path):
    """The scenarios are read when the spec is built (the edge); they enter the spec's
    fingerprint, hence the ledger's methodology version and the daily state's key."""
    from indexcalc.ledger import methodology_version

    path = tmp_path / "scenarios.toml"

    def spec_with(shock: float):
        path.write_text(f'[[scenario]]\nname = "crash"\ndescription = "copper falls"\nshocks = {{ HG = {shock} }}\n')
        return parse_spec({"kind": "base_metals", "id": "BM", "name": "x", "universe": ["HG", "LA", "LX", "LL", "LN"],
                           "scenarios_file": str(path)})

    first, other, again = spec_with(-0.2), spec_with(-0.3), spec_with(-0.2)
    assert first.model_dump_json() == other.model_dump_json()  # same fields: the file's name only
    assert methodology_version(first) != methodology_version(other)
    assert methodology_version(first) == methodology_version(again)
