"""Catalogue grids: one ``[[grid]]`` table expands to an index per combination of parameter values
(docs/design.md section 6).

A grid names a ``base`` (an ``[[index]]`` id of the catalogue) and ``axes`` (lists of values,
keyed by a known axis name such as ``ma_months`` or by the dotted path of a spec field such as
``"magnitude.window_months"``). Each combination (the first axis varies slowest) is the base's
raw table with the axis values set, an id ``PREFIX-<part>-<part>...`` made from the values
(``LS-ER-MA6-CAP5``), and a name. Pure functions on the raw TOML tables; each variant is
validated by the spec model, and errors name the file, the grid, the axis and the bad value.
"""

from __future__ import annotations

import copy
import itertools
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from indexcalc.errors import SpecError


@dataclass(frozen=True)
class Axis:
    """A known axis: the spec field it sets, the id part's ``label`` and how a value is written
    (``int``; ``percent``: a fraction shown in percent; ``text``: the value itself)."""

    field: str
    label: str
    style: str = "text"


KNOWN_AXES: dict[str, Axis] = {
    "ma_months": Axis("direction.window_months", "MA", "int"),
    "oi_months": Axis("magnitude.window_months", "OI", "int"),
    "cap": Axis("magnitude.cap", "CAP", "percent"),
    "max_roots": Axis("reconstitution.max_roots", "TOP", "int"),
    "lag": Axis("implementation_lag", "LAG", "int"),
    "family": Axis("family", ""),
    "return_type": Axis("return_type", ""),
    "sector": Axis("sectors", ""),
    "universe": Axis("universe", ""),
}
"""Axis names a grid may use besides dotted field paths. ``sector`` takes one sector or a list,
and also sets ``sector_label`` where the kind has one; ``universe`` takes a list of roots."""

_ID_PART = re.compile(r"[^A-Za-z0-9]+")
_GRID_KEYS = {"id", "base", "prefix", "name", "objective", "axes"}
_VALUE_KEYS = {"value", "label", "set"}


@dataclass(frozen=True)
class Variant:
    """One expanded index: its raw ``table``, the ``grid`` it comes from, each axis's value and
    each axis's value as shown (``{"ma_months": "6", "cap": "10%"}``), in axis order."""

    table: dict
    grid: str
    values: dict[str, Any]
    shown: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Value:
    """One value of an axis: what it sets, its id part and how a name shows it."""

    axis: str
    raw: Any
    part: str
    shown: str
    also: dict[str, Any]


def expand_grids(files: Sequence[tuple[str, dict]], parse: Callable[..., BaseModel]) -> list[tuple[str, Variant]]:
    """Every grid of ``files`` (``(file name, raw TOML)`` pairs, in order) expanded, with the file
    it is in. Bases are looked up among the ``[[index]]`` tables of every file; ``parse(table,
    file=...)`` validates a table (:func:`indexcalc.specs.parse_spec`)."""
    bases = {table.get("id"): table for _, raw in files for table in raw.get("index", [])}
    seen: dict[str, str] = {}
    expanded: list[tuple[str, Variant]] = []
    for file, raw in files:
        for grid in raw.get("grid", []):
            name = _grid_name(grid, file)
            if name in seen:
                raise SpecError(f"duplicated grid id (also in {seen[name]})", file=file, key=f"grid {name}")
            seen[name] = file
            expanded += [(file, variant) for variant in expand_grid(grid, bases, file=file, parse=parse)]
    return expanded


def expand_grid(grid: dict, bases: dict[str, dict], *, file: str, parse: Callable[..., BaseModel]) -> list[Variant]:
    """One variant per combination of the grid's axis values (docs/design.md section 6).

    Variant id = ``prefix`` (default the base id) + ``-`` + the axes' id parts in axis order;
    name = the grid's ``name`` pattern with ``{axis}`` replaced by each value as shown (default:
    the base name followed by ``axis value`` pairs). Raises SpecError for an unknown base, an
    unknown field, an empty axis, a value the spec rejects and ids the grid repeats."""
    name = _grid_name(grid, file)
    key = f"grid {name}"
    unknown = sorted(set(grid) - _GRID_KEYS)
    if unknown:
        raise SpecError(f"unknown grid key {unknown[0]!r} (known: {', '.join(sorted(_GRID_KEYS))})", file=file, key=key)
    base_id = grid.get("base")
    if base_id not in bases:
        raise SpecError(f"base {base_id!r} is not an [[index]] id of the catalogue", file=file, key=key)
    base = bases[base_id]
    model = type(parse(base, file=file))
    axes = grid.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise SpecError("a grid needs an [grid.axes] table of at least one axis", file=file, key=key)
    values = {axis: _axis_values(axis, entries, model, file=file, key=key) for axis, entries in axes.items()}
    prefix = grid.get("prefix", base_id)
    variants: list[Variant] = []
    seen: dict[str, tuple[_Value, ...]] = {}
    for combination in itertools.product(*values.values()):
        table = _variant_table(base, combination, grid, prefix, file=file, key=key)
        if table["id"] in seen:
            raise SpecError(f"two combinations make the id {table['id']!r} ({_describe(seen[table['id']])} and "
                            f"{_describe(combination)}); give the values labels", file=file, key=key)
        seen[table["id"]] = combination
        _validate(table, base, combination, parse, file=file, key=key)
        variants.append(Variant(table, name, {value.axis: value.raw for value in combination},
                                {value.axis: value.shown for value in combination}))
    return variants


def _grid_name(grid: dict, file: str) -> str:
    name = grid.get("id")
    if not isinstance(name, str) or not name:
        raise SpecError("a [[grid]] needs an id", file=file, key=f"grid base {grid.get('base', '?')}")
    return name


def _axis_values(axis: str, entries: Any, model: type[BaseModel], *, file: str, key: str) -> list[_Value]:
    """The axis's values, each with its id part and shown text; the axis's field must exist."""
    known = KNOWN_AXES.get(axis)
    field = known.field if known else axis
    if not _has_field(model, field):
        raise SpecError(f"axis {axis!r}: {model.__name__} has no field {field!r} (known axes: "
                        f"{', '.join(KNOWN_AXES)}, or a field's dotted path)", file=file, key=key)
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"axis {axis!r} has no values (give a non-empty list)", file=file, key=key)
    label = known.label if known else field.rsplit(".", 1)[-1].replace("_", "").upper()
    style = known.style if known else "text"
    values = [_axis_value(axis, entry, label, style, file=file, key=key) for entry in entries]
    if axis == "sector" and "sector_label" in model.model_fields:  # the sub-index label goes with it
        values = [replace(value, also={"sector_label": value.shown} | value.also) for value in values]
    for value in values:
        for path in value.also:
            if not _has_field(model, path):
                raise SpecError(f"axis {axis!r} value {value.raw!r}: {model.__name__} has no field {path!r} "
                                "to set", file=file, key=key)
    return values


def _flat(settings: dict, prefix: str = "") -> dict[str, Any]:
    """``{"magnitude": {"cap": 0.2}}`` and ``{"magnitude.cap": 0.2}`` alike as dotted paths, so
    that a value sets one field of a nested table without replacing the table."""
    flat: dict[str, Any] = {}
    for name, setting in settings.items():
        if isinstance(setting, dict):
            flat |= _flat(setting, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = setting
    return flat


def _axis_value(axis: str, entry: Any, label: str, style: str, *, file: str, key: str) -> _Value:
    """``entry`` is the value itself or a table ``{value, label, set}``: ``label`` replaces the id
    part (and the shown text), ``set`` gives further fields (dotted paths) this value sets."""
    given_label, also = None, {}
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - _VALUE_KEYS)
        if unknown or "value" not in entry:
            problem = f"unknown key {unknown[0]!r}" if unknown else "no 'value'"
            raise SpecError(f"axis {axis!r}: value table {entry!r} has {problem} (keys: value, label, set)",
                            file=file, key=key)
        given_label, also, entry = entry.get("label"), _flat(entry.get("set", {})), entry["value"]
    if axis == "sector" and isinstance(entry, str):
        entry = [entry]
    if given_label is not None:
        part, shown = _ID_PART.sub("_", str(given_label)).strip("_").upper(), str(given_label)
    else:
        part, shown = _written(entry, label, style)
    if not part:
        raise SpecError(f"axis {axis!r}: value {entry!r} makes an empty id part; give it a label", file=file, key=key)
    return _Value(axis, entry, part, shown, also)


def _written(value: Any, label: str, style: str) -> tuple[str, str]:
    """(id part, shown text) of an unlabelled value: ``MA6``/``6``, ``CAP12P5``/``12.5%``,
    ``ENERGY``/``energy``, ``CL_HO``/``CL, HO``."""
    if isinstance(value, bool):
        return (label if value else f"NO{label}"), str(value).lower()
    if isinstance(value, (int, float)):
        number = value * 100 if style == "percent" else value
        text = f"{number:g}"
        return label + text.replace(".", "P").replace("-", "M").upper(), text + ("%" if style == "percent" else "")
    if isinstance(value, (list, tuple)):
        return label + "_".join(_ID_PART.sub("_", str(item)).upper() for item in value), ", ".join(map(str, value))
    return label + _ID_PART.sub("_", str(value)).strip("_").upper(), str(value)


def _has_field(model: type[BaseModel], path: str) -> bool:
    """Whether the dotted ``path`` names a field of ``model`` (through nested spec models)."""
    head, _, rest = path.partition(".")
    if head not in model.model_fields:
        return False
    if not rest:
        return True
    nested = [kind for kind in _kinds(model.model_fields[head].annotation)
              if isinstance(kind, type) and issubclass(kind, BaseModel)]
    return any(_has_field(kind, rest) for kind in nested)


def _kinds(annotation: Any) -> list[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [kind for part in typing.get_args(annotation) for kind in _kinds(part)]
    return [annotation]


def _set(table: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        table = table.setdefault(part, {})
    table[leaf] = value


def _variant_table(base: dict, combination: tuple[_Value, ...], grid: dict, prefix: str, *,
                   file: str, key: str) -> dict:
    """The base's table with every value of ``combination`` set, its id and its name."""
    table = copy.deepcopy(base)
    written: dict[str, str] = {}
    for value in combination:
        known = KNOWN_AXES.get(value.axis)
        fields = {known.field if known else value.axis: value.raw} | value.also
        for path, setting in fields.items():
            if path in written:
                raise SpecError(f"axes {written[path]!r} and {value.axis!r} both set {path!r}", file=file, key=key)
            written[path] = value.axis
            _set(table, path, setting)
    table["id"] = "-".join([prefix, *(value.part for value in combination)])
    shown = {value.axis: value.shown for value in combination}
    base_name = base.get("name", "")
    default_name = f"{base_name}: " + ", ".join(f"{axis} {text}" for axis, text in shown.items())
    table["name"] = _fill(grid.get("name"), shown, "name", file=file, key=key) or default_name
    objective = _fill(grid.get("objective"), shown, "objective", file=file, key=key)
    if objective is None and base.get("objective"):
        # the base's own words may quote a value an axis changes ("its twelve-month average"):
        # without a pattern, the variant's objective says which values it sets
        settings = ", ".join(f"{axis} {text}" for axis, text in shown.items())
        objective = f"{base['objective'].rstrip()} (Variant of {base.get('id', 'the base index')} with {settings}.)"
    if objective is not None:
        table["objective"] = objective
    return table


def _fill(pattern: str | None, shown: dict[str, str], what: str, *, file: str, key: str) -> str | None:
    if pattern is None:
        return None
    try:
        return pattern.format(**shown)
    except KeyError as error:
        problem = f"{error} is not an axis of the grid ({', '.join(shown)})"
    except (IndexError, ValueError, AttributeError) as error:
        problem = f"write each axis as {{axis}} ({error})"
    raise SpecError(f"{what} pattern {pattern!r}: {problem}", file=file, key=key)


def _describe(combination: Sequence[_Value]) -> str:
    return ", ".join(f"{value.axis} = {value.raw!r}" for value in combination)


def _validate(table: dict, base: dict, combination: tuple[_Value, ...], parse: Callable[..., BaseModel], *,
              file: str, key: str) -> None:
    """Parse the variant; on failure blame the one axis value the spec rejects on its own (the
    base with that value alone), else the combination."""
    try:
        parse(table, file=file)
        return
    except SpecError as error:
        problem = error.problem
    for value in combination:
        alone = _variant_table(base, (value,), {}, "GRID", file=file, key=key)
        try:
            parse(alone, file=file)
        except SpecError:
            raise SpecError(f"axis {value.axis!r} value {value.raw!r} is rejected: {problem}",
                            file=file, key=f"{key} variant {table['id']}") from None
    raise SpecError(f"the combination {_describe(combination)} is rejected: {problem}",
                    file=file, key=f"{key} variant {table['id']}")
