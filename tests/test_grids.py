"""Catalogue grids (indexcalc.specs.grids): expansion, ids, errors, and variants equal to the same
specs written by hand, as specs and as computed levels."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.errors import SpecError
from indexcalc.catalogue import load_catalogue, read_catalogue

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_GRIDS = PROJECT / "examples" / "grids"

BASE = """
[[index]]
id = "BASE"
kind = "momentum"
name = "Base"
family = "long_short"
universe = ["CL", "HO", "RB", "NG", "GC", "SI"]

[index.magnitude]
cap = 0.35
"""


def catalogue(tmp_path: Path, text: str, base: str = BASE) -> Path:
    """A catalogue folder of one file: ``base`` then ``text``."""
    folder = tmp_path / "catalogue"
    folder.mkdir(exist_ok=True)
    (folder / "grids.toml").write_text(textwrap.dedent(base) + textwrap.dedent(text))
    return folder


def expand(tmp_path: Path, text: str, base: str = BASE):
    return read_catalogue(catalogue(tmp_path, text, base))


# --- expansion and ids --------------------------------------------------------------------------


def test_example_grids_expand_to_one_index_per_combination_first_axis_slowest():
    specs, grid_of = read_catalogue(EXAMPLE_GRIDS)
    assert [spec.id for spec in specs] == [
        "LS-ER-BASE",
        "LS-ER-MA6-CAP10", "LS-ER-MA6-CAP15", "LS-ER-MA9-CAP10", "LS-ER-MA9-CAP15",
        "LS-ER-MA12-CAP10", "LS-ER-MA12-CAP15",
        "LS-ENERGY-ER", "LS-ENERGY-TR", "LS-METALS-ER", "LS-METALS-TR", "LS-AGRI-ER", "LS-AGRI-TR",
    ]
    assert grid_of == {spec.id: ("LS-TREND-CAP" if spec.id.startswith("LS-ER-MA") else "LS-SECTORS")
                       for spec in specs[1:]}
    by_id = {spec.id: spec for spec in specs}
    variant = by_id["LS-ER-MA9-CAP15"]
    assert (variant.direction.window_months, variant.magnitude.cap) == (9, 0.15)
    assert variant.name == "Long/Short Commodity Index (Excess Return), 9-month trend, 15% cap"
    assert "above its 9-month average" in variant.objective and "no commodity above 15%." in variant.objective
    agri = by_id["LS-AGRI-TR"]
    assert (agri.sectors, agri.sector_label, agri.magnitude.cap, agri.return_type) == (
        ("grains", "softs"), "agriculture", 0.25, "tr")


HAND_WRITTEN = """
[[index]]
id = "LS-ER-MA6-CAP15"
kind = "momentum"
name = "Long/Short Commodity Index (Excess Return), 6-month trend, 15% cap"
objective = "Follow each commodity's trend, long when its linked price is above its 6-month average and short when below, except that energy is held in cash instead of short, sized by each market's dollar open interest with no commodity above 15%."
family = "long_short"
return_type = "er"
base_value = 1000.0

[index.magnitude]
cap = 0.15

[index.direction]
window_months = 6

[index.reconstitution]
month = 12
min_dollar_open_interest = 0.0

[[index]]
id = "LS-ER-MA9-CAP10"
kind = "momentum"
name = "Long/Short Commodity Index (Excess Return), 9-month trend, 10% cap"
objective = "Follow each commodity's trend, long when its linked price is above its 9-month average and short when below, except that energy is held in cash instead of short, sized by each market's dollar open interest with no commodity above 10%."
family = "long_short"
return_type = "er"

[index.direction]
window_months = 9

[index.reconstitution]
month = 12
min_dollar_open_interest = 0.0
"""


def hand_written(tmp_path: Path) -> dict:
    """The two trend variants written by hand, and the published LS-METALS-TR under the name the
    sector grid gives it."""
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "hand.toml").write_text(HAND_WRITTEN)
    specs = {spec.id: spec for spec in load_catalogue(folder)}
    metals = {spec.id: spec for spec in load_catalogue()}["LS-METALS-TR"]
    specs["LS-METALS-TR"] = metals.model_copy(update={
        "name": "Long/Short metals Index (TR)",
        "objective": "Apply the Long/Short rules to the metals futures alone, with a cap the sector can hold (TR version)."})
    return specs


def test_variants_equal_the_same_specs_written_by_hand(tmp_path):
    variants = {spec.id: spec for spec in load_catalogue(EXAMPLE_GRIDS)}
    hand = hand_written(tmp_path)
    assert len(hand) == 3
    for index_id, spec in hand.items():
        assert variants[index_id].model_dump() == spec.model_dump()


def test_the_sector_grid_reproduces_the_published_sector_indexes_but_their_names():
    variants = {spec.id: spec for spec in load_catalogue(EXAMPLE_GRIDS)}
    published = {spec.id: spec for spec in load_catalogue()}
    texts = {"name", "objective"}
    for index_id in ("LS-ENERGY-ER", "LS-ENERGY-TR", "LS-METALS-ER", "LS-METALS-TR", "LS-AGRI-ER", "LS-AGRI-TR"):
        assert variants[index_id].model_dump(exclude=texts) == published[index_id].model_dump(exclude=texts)


def test_ids_are_made_from_the_values_percent_lists_and_labels(tmp_path):
    specs, _ = expand(tmp_path, """
        [[grid]]
        id = "G"
        base = "BASE"
        [grid.axes]
        cap = [0.375, 0.5]
        universe = [["CL", "HO", "RB"], { value = ["GC", "SI", "NG"], label = "mixed three" }]
        "direction.tie_tolerance" = [0.001]
        """)
    # 37.5% -> CAP37P5; a list joins its items; a label is upper-cased, spaces to "_"; a dotted
    # path's label is its last part without underscores.
    assert [spec.id for spec in specs[1:]] == [
        "BASE-CAP37P5-CL_HO_RB-TIETOLERANCE0P001", "BASE-CAP37P5-MIXED_THREE-TIETOLERANCE0P001",
        "BASE-CAP50-CL_HO_RB-TIETOLERANCE0P001", "BASE-CAP50-MIXED_THREE-TIETOLERANCE0P001",
    ]
    assert specs[2].name == "Base: cap 37.5%, universe mixed three, direction.tie_tolerance 0.001"
    assert specs[2].universe == ("GC", "SI", "NG") and specs[2].direction.tie_tolerance == 0.001


def test_a_value_table_sets_nested_fields_without_replacing_their_table(tmp_path):
    specs, _ = expand(tmp_path, """
        [[grid]]
        id = "G"
        base = "BASE"
        prefix = "V"
        [grid.axes]
        ma_months = [{ value = 3, set = { magnitude = { window_months = 6 } } }]
        """)
    variant = specs[1]
    assert variant.id == "V-MA3"
    assert (variant.direction.window_months, variant.magnitude.window_months, variant.magnitude.cap) == (3, 6, 0.35)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ('base = "NOPE"\n[grid.axes]\ncap = [0.5]', "grid G: base 'NOPE' is not an [[index]] id of the catalogue"),
        ('base = "BASE"\n[grid.axes]\nwindow = [3]',
         "grid G: axis 'window': MomentumIndexSpec has no field 'window'"),
        ('base = "BASE"\n[grid.axes]\n"magnitude.capp" = [0.5]',
         "grid G: axis 'magnitude.capp': MomentumIndexSpec has no field 'magnitude.capp'"),
        ('base = "BASE"\n[grid.axes]\nma_months = [{ value = 3, set = { "direction.windows" = 2 } }]',
         "grid G: axis 'ma_months' value 3: MomentumIndexSpec has no field 'direction.windows' to set"),
        ('base = "BASE"\n[grid.axes]\ncap = []', "grid G: axis 'cap' has no values"),
        ('base = "BASE"', "grid G: a grid needs an [grid.axes] table"),
        ('base = "BASE"\n[grid.axes]\ncap = [0.5]\nma_months = [0, 6]',
         "grid G variant BASE-CAP50-MA0: axis 'ma_months' value 0 is rejected: momentum.direction.window_months: "
         "Input should be greater than or equal to 1"),
        ('base = "BASE"\n[grid.axes]\ncap = [0.2]\nuniverse = [["CL", "HO", "RB"]]',
         "grid G variant BASE-CAP20-CL_HO_RB: the combination cap = 0.2, universe = ['CL', 'HO', 'RB'] is "
         "rejected: momentum: Value error, magnitude cap 0.2 cannot hold over 3 roots"),
        ('base = "BASE"\n[grid.axes]\ncap = [{ value = 0.2, label = "x" }, { value = 0.3, label = "X" }]',
         "grid G: two combinations make the id 'BASE-X' (cap = 0.2 and cap = 0.3); give the values labels"),
        ('base = "BASE"\n[grid.axes]\ncap = [0.2]\n"magnitude.cap" = [0.3]',
         "grid G: axes 'cap' and 'magnitude.cap' both set 'magnitude.cap'"),
        ('base = "BASE"\nname = "{lookback} months"\n[grid.axes]\ncap = [0.2]',
         "grid G: name pattern '{lookback} months': 'lookback' is not an axis of the grid (cap)"),
        ('base = "BASE"\nobjective = "{0} and {cap}"\n[grid.axes]\ncap = [0.2]',
         "grid G: objective pattern '{0} and {cap}': write each axis as {axis} (Replacement index 0 out of range"),
        ('base = "BASE"\nbasis = "BASE"\n[grid.axes]\ncap = [0.2]', "grid G: unknown grid key 'basis'"),
        ('base = "BASE"\n[grid.axes]\ncap = [{ values = 0.2 }]',
         "grid G: axis 'cap': value table {'values': 0.2} has unknown key 'values'"),
    ],
)
def test_grid_errors_name_the_file_the_grid_the_axis_and_the_value(tmp_path, grid, message):
    folder = catalogue(tmp_path, '[[grid]]\nid = "G"\n' + grid + "\n")
    with pytest.raises(SpecError) as raised:
        load_catalogue(folder)
    assert str(raised.value).startswith(f"{folder / 'grids.toml'}: ")
    assert message in str(raised.value)


def test_a_variant_id_already_in_the_catalogue_is_a_duplicate(tmp_path):
    folder = catalogue(tmp_path, """
        [[grid]]
        id = "G"
        base = "BASE"
        prefix = "X"
        [grid.axes]
        cap = [0.2]
        """, base=BASE + '\n[[index]]\nid = "X-CAP20"\nkind = "momentum"\nname = "X"\nfamily = "long_short"\n')
    with pytest.raises(SpecError, match="X-CAP20: duplicated index id"):
        load_catalogue(folder)


def test_two_grids_with_one_id_are_an_error(tmp_path):
    grid = '[[grid]]\nid = "G"\nbase = "BASE"\nprefix = "{}"\n[grid.axes]\ncap = [0.2]\n'
    with pytest.raises(SpecError, match="grid G: duplicated grid id"):
        load_catalogue(catalogue(tmp_path, grid.format("A") + grid.format("B")))


def test_the_cli_shows_a_grid_error_as_one_line_with_exit_code_2(tmp_path):
    folder = catalogue(tmp_path, '[[grid]]\nid = "G"\nbase = "BASE"\n[grid.axes]\ncap = []\n')
    result = CliRunner().invoke(main, ["list", "--catalogue", str(folder)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "axis 'cap' has no values" in result.output
    assert "Traceback" not in result.output


# --- indexcalc list -----------------------------------------------------------------------------


def test_list_shows_the_variants_and_the_grid_each_comes_from():
    result = CliRunner().invoke(main, ["list", "--json", "--catalogue", str(EXAMPLE_GRIDS)])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert len(rows) == 13
    assert rows["LS-ER-BASE"]["grid"] is None
    assert rows["LS-ER-MA12-CAP10"]["grid"] == "LS-TREND-CAP"
    assert (rows["LS-METALS-TR"]["grid"], rows["LS-METALS-TR"]["sector"]) == ("LS-SECTORS", "metals")
    table = CliRunner().invoke(main, ["list", "--catalogue", str(EXAMPLE_GRIDS)]).output.splitlines()
    assert table[0].split()[:6] == ["id", "family", "return_type", "sector", "universe", "grid"]
    assert any(line.startswith("LS-AGRI-TR") and " LS-SECTORS " in line for line in table)


def test_list_of_a_catalogue_without_grids_has_no_grid_column():
    table = CliRunner().invoke(main, ["list"]).output.splitlines()
    assert "grid" not in table[0].split()


# --- computed variants --------------------------------------------------------------------------


def test_variants_computed_together_equal_the_hand_written_specs_computed_alone(tmp_path, embedded_market):
    from indexcalc.pipeline import rebuild_all

    variants = {spec.id: spec for spec in load_catalogue(EXAMPLE_GRIDS)}
    hand = hand_written(tmp_path)
    together = rebuild_all(embedded_market, [variants[index_id] for index_id in hand])
    for index_id, spec in hand.items():
        alone = rebuild_all(embedded_market, [spec])[index_id]
        assert together[index_id].levels.height > 1000
        assert together[index_id].levels.equals(alone.levels)  # bit-identical
        assert together[index_id].weights.equals(alone.weights)
    # the variants differ from each other: the axes reach the calculation
    assert not together["LS-ER-MA6-CAP15"].levels.equals(together["LS-ER-MA9-CAP10"].levels)


@pytest.mark.slow
def test_fifty_variants_computed_together_equal_each_computed_alone(tmp_path, embedded_market):
    """The family's inputs shared across a grid (issue 19): 2 families x 5 windows x 5 caps, one
    call for all against one call per variant, on the same series."""
    from indexcalc.executors import InProcess, split
    from indexcalc.pipeline import calculate

    class OneCallEach(InProcess):
        def chunks(self, items, key=id):
            return split(items, len(items))

    specs, grid_of = expand(tmp_path, """
        [[grid]]
        id = "G50"
        base = "BASE"
        [grid.axes]
        family = ["long_short", "long_only"]
        ma_months = [3, 6, 9, 12, 15]
        cap = [0.1, 0.125, 0.15, 0.175, 0.2]
        """, base=BASE.replace('universe = ["CL", "HO", "RB", "NG", "GC", "SI"]', "")
                      .replace("cap = 0.35", "cap = 0.1\n\n[index.reconstitution]\nmin_dollar_open_interest = 0.0"))
    variants = [spec for spec in specs if spec.id in grid_of]
    assert len(variants) == 50 and variants[0].id == "BASE-LONG_SHORT-MA3-CAP10"
    together = calculate(embedded_market, variants).results
    alone = calculate(embedded_market, variants, executor=OneCallEach()).results
    assert list(together) == list(alone) == [spec.id for spec in variants]
    for index_id, result in together.items():
        assert result.levels.equals(alone[index_id].levels), index_id
        assert result.weights.equals(alone[index_id].weights), index_id
    # the axes reach the calculation: 35 distinct last levels (a cap above every magnitude a
    # window produces binds nowhere, so some caps give the same index)
    assert len({result.levels.get_column("level").tail(1).item() for result in together.values()}) > 30


def test_without_an_objective_pattern_a_variant_says_which_values_it_sets(tmp_path):
    specs, _ = expand(tmp_path, """
        [[grid]]
        id = "G"
        base = "BASE"
        [grid.axes]
        ma_months = [6]
        cap = [0.2]
        """, BASE.replace('name = "Base"', 'name = "Base"\nobjective = "Follow a twelve-month trend."'))
    variant = next(spec for spec in specs if spec.grid is not None)
    base = next(spec for spec in specs if spec.grid is None)
    assert variant.objective == "Follow a twelve-month trend. (Variant of BASE with ma_months 6, cap 20%.)"
    assert base.objective == "Follow a twelve-month trend."
