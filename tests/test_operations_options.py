"""The options objects of the daily run and the rebuild (indexcalc.operations.options)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from indexcalc.operations import RebuildOptions, RunOptions, RunStamp, rebuild, run_daily
from indexcalc.operations.options import with_keywords

STAMP = RunStamp(dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc), "test")


def test_the_defaults_are_those_of_the_former_keywords():
    options = RunOptions()
    assert (options.catch_up, options.calendar_source, options.publish, options.workers, options.disruption) == (
        False, "exchange", True, 1, "rules"
    )
    assert options.on_step is options.hold is options.on_total is None
    rebuild_options = RebuildOptions()
    assert (rebuild_options.restate_reason, rebuild_options.retire, rebuild_options.retire_reason) == (None, (), None)


def test_keywords_replace_only_the_fields_they_name():
    base = RunOptions(catch_up=True, workers=3)
    changed = with_keywords(base, {"workers": 1, "publish": False})
    assert (changed.catch_up, changed.workers, changed.publish) == (True, 1, False)
    assert (base.workers, base.publish) == (3, True)  # frozen: the given object is unchanged
    assert with_keywords(base, {}) is base


def test_the_options_are_frozen_and_retire_is_a_tuple():
    options = RebuildOptions(retire=["A", "B"], retire_reason="gone")
    assert options.retire == ("A", "B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workers = 2  # type: ignore[misc]


def test_step_calls_on_step_once_and_nothing_without_it():
    labels: list[str] = []
    RunOptions(on_step=labels.append).step("publishing")
    RunOptions().step("publishing")
    assert labels == ["publishing"]


@pytest.mark.parametrize("call", [run_daily, rebuild])
def test_an_unknown_keyword_is_refused_before_anything_is_read(call, tmp_path):
    arguments = (None, [], dt.date(2024, 7, 1), tmp_path, STAMP) if call is run_daily else (None, [], tmp_path, STAMP)
    with pytest.raises(TypeError, match="catchup"):
        call(*arguments, catchup=True)
    assert list(tmp_path.iterdir()) == []
