"""Executors (indexcalc.executors): chunking, and the Ray executor's results equal to the
in-process ones on a small grid (skipped where the 'distributed' extra is not installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.errors import SpecError
from indexcalc.executors import InProcess, make_executor, split, split_keeping
from indexcalc.pipeline import calculate, computable, sharing_key
from indexcalc.catalogue import load_catalogue

EXAMPLE_GRIDS = Path(__file__).resolve().parents[1] / "examples" / "grids"
RAY_MISSING = "ray is not installed (the optional extra: pip install -e '.[distributed]'; .ci/run installs it)"
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason=RAY_MISSING)


@pytest.mark.parametrize(
    ("count", "parts", "sizes"),
    [(5, 2, [3, 2]), (4, 2, [2, 2]), (7, 3, [3, 2, 2]), (1, 2, [1]), (3, 1, [3]), (2, 5, [1, 1])],
)
def test_split_makes_consecutive_chunks_whose_sizes_differ_by_at_most_one(count, parts, sizes):
    items = list(range(count))
    chunks = split(items, parts)
    assert [len(chunk) for chunk in chunks] == sizes
    assert [item for chunk in chunks for item in chunk] == items


def test_split_keeping_puts_items_with_equal_keys_in_one_chunk():
    items = ["a1", "b1", "a2", "c1", "b2"]
    # runs by first letter a: a1 a2, b: b1 b2, c: c1 -> 3 runs in 2 chunks (2 + 1 runs)
    assert split_keeping(items, 2, key=lambda item: item[0]) == [["a1", "a2", "b1", "b2"], ["c1"]]
    assert split_keeping(items, 5, key=lambda item: item[0]) == [["a1", "a2"], ["b1", "b2"], ["c1"]]
    assert split_keeping(items, 2, key=lambda item: item) == [["a1", "b1", "a2"], ["c1", "b2"]]


def test_specs_differing_only_in_family_return_type_or_name_share_a_key():
    published = {spec.id: spec for spec in load_catalogue()}
    keys = {index_id: sharing_key(published[index_id]) for index_id in ("LS-ER", "LS-TR", "LF-ER", "SO-TR")}
    assert len(set(keys.values())) == 1
    assert sharing_key(published["LS-ENERGY-ER"]) == sharing_key(published["LS-ENERGY-TR"]) != keys["LS-ER"]
    assert sharing_key(published["LS-RECON-ER"]) != keys["LS-ER"]


class OneSpecPerCall(InProcess):
    """In this process, but every spec a call of its own (more split than any executor does)."""

    def chunks(self, items, key=id):
        return split(items, len(items))


@pytest.fixture(scope="module")
def grid_specs(embedded_market):
    specs, skipped = computable(load_catalogue(EXAMPLE_GRIDS), embedded_market)
    assert not skipped and len(specs) == 13
    return specs


def assert_same_results(left, right) -> None:
    assert list(left.results) == list(right.results)  # spec order
    for index_id, result in left.results.items():
        assert result.levels.equals(right.results[index_id].levels), index_id
        assert result.weights.equals(right.results[index_id].weights), index_id
    assert left.series.keys() == right.series.keys()


def test_specs_computed_one_call_each_equal_the_group_computed_at_once(embedded_market, grid_specs):
    chosen = [spec for spec in grid_specs if spec.id in {"LS-ER-MA6-CAP10", "LS-ER-MA9-CAP15", "LS-METALS-TR"}]
    steps: list[str] = []
    chunked = calculate(embedded_market, chosen, on_step=steps.append, executor=OneSpecPerCall())
    assert_same_results(calculate(embedded_market, chosen), chunked)
    assert steps == ["series (window roll)", "momentum (3 indexes)"]


def test_an_address_without_the_ray_executor_is_an_error():
    with pytest.raises(SpecError, match="--address applies to --executor ray only"):
        make_executor("in-process", "auto")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_the_ray_executor_without_ray_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["rebuild", "--executor", "ray", "--catalogue", str(EXAMPLE_GRIDS),
                                       "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2
    assert "pip install -e '.[distributed]'" in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def ray_executor():
    from indexcalc.executors import RayExecutor

    with RayExecutor(workers=2) as executor:
        yield executor


@needs_ray
@pytest.mark.slow
def test_a_grid_through_a_local_ray_instance_equals_the_in_process_results(embedded_market, grid_specs,
                                                                           ray_executor):
    assert ray_executor.workers == 2
    # 9 runs of specs sharing inputs (LS-ER-BASE with LS-ER-MA12-CAP10, each other trend variant,
    # each sector's ER and TR) in 2 chunks: 5 runs (6 specs) and 4 runs (7 specs)
    chunks = ray_executor.chunks(grid_specs, sharing_key)
    assert [len(chunk) for chunk in chunks] == [6, 7]
    assert [spec.id for spec in chunks[0]] == ["LS-ER-BASE", "LS-ER-MA12-CAP10", "LS-ER-MA6-CAP10",
                                               "LS-ER-MA6-CAP15", "LS-ER-MA9-CAP10", "LS-ER-MA9-CAP15"]
    steps: list[str] = []
    distributed = calculate(embedded_market, grid_specs, on_step=steps.append, executor=ray_executor)
    assert_same_results(calculate(embedded_market, grid_specs), distributed)
    assert steps == ["series (window roll)", "momentum (13 indexes)"]


@needs_ray
@pytest.mark.slow
def test_a_user_error_in_a_ray_worker_is_the_same_error(embedded_market, grid_specs, ray_executor):
    # five energy roots cannot hold a 10% cap: the momentum family refuses the spec
    energy = grid_specs[1].model_copy(update={"id": "LS-ENERGY-CAP10", "sectors": ("energy",)})
    errors = []
    for executor in (None, ray_executor):
        with pytest.raises(SpecError) as raised:
            calculate(embedded_market, [energy], executor=executor)
        errors.append(str(raised.value))
    assert errors[1] == errors[0]
    assert errors[0].startswith("index LS-ENERGY-CAP10: magnitude cap 0.1 cannot hold over its 5 roots")


@needs_ray
@pytest.mark.slow
def test_rebuild_with_the_ray_executor_publishes_the_in_process_levels(tmp_path, ray_executor):
    # the fixture's Ray instance runs in this process: the command's executor computes on it
    from indexcalc.ledger import Ledger

    levels = {}
    for executor in ("in-process", "ray"):
        out = tmp_path / executor
        result = CliRunner().invoke(main, ["rebuild", "--executor", executor, "--catalogue", str(EXAMPLE_GRIDS),
                                           "--out", str(out), "--no-progress"])
        assert result.exit_code == 0, result.output
        levels[executor] = Ledger(out / "ledger").current().select("index_id", "date", "level").sort("index_id", "date")
    assert levels["ray"].height > 13 * 1000
    assert levels["ray"].equals(levels["in-process"])
    assert levels["ray"].get_column("index_id").unique().len() == 13
