"""The methodology document states the CFTC fallback of a ``cftc`` magnitude (docs/design.md
section 3) and names the roots it applies to; without the fallback it says nothing of it."""

from __future__ import annotations

import re

from indexcalc.data.instruments import load_instruments
from indexcalc.publish.methodology import render_methodology
from indexcalc.families.momentum.spec import MomentumIndexSpec


def _spec(**magnitude) -> MomentumIndexSpec:
    return MomentumIndexSpec.model_validate({
        "id": "LS-MIX-ER", "name": "Mixed", "family": "long_short", "universe": ["CL", "GC", "HG", "C", "W"],
        "magnitude": {"source": "cftc", "cap": 0.3, "cftc_file": "cftc.csv",
                      "cftc_markets": {"GC": "gold", "HG": "copper"}, **magnitude},
    })


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_fallback_is_stated_with_the_roots_it_covers() -> None:
    instruments = load_instruments()
    text = _text(render_methodology(_spec(cftc_fallback="mean_of_reported"), instruments))
    assert "following days. Commodities the report does not cover (CL, C, W) take, at each rebalance, the mean avgDOI" in text
    assert "1/n of the index" in text
    assert "does not cover" not in _text(render_methodology(_spec(), instruments))
