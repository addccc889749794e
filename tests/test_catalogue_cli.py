"""``indexcalc list``: the universe column (indexcalc.commands.catalogue)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from indexcalc.cli import main


def test_list_shows_the_copper_strategy_universe_as_its_one_root():
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["CU-MACRO-ER"]["universe"] == rows["CU-MACRO-TR"]["universe"] == "HG"
    assert rows["LO-ER"]["universe"] == "all roots"
