"""Fields every index spec shares, and the roll rules (docs/design.md sections 2 and 6)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from indexcalc.data.instruments import Sector


class FrozenDict(dict):
    """A dict that cannot change after it is built: what a frozen spec holds where its TOML has a
    table (fixed weights, CFTC market names, scenario shocks). Any mutation raises TypeError;
    equal to, serialised and pickled as the plain dict."""

    def _immutable(self, *args, **kwargs):
        raise TypeError("a spec's table cannot be changed; build a new spec with model_copy(update=...)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _immutable  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


_K = TypeVar("_K")
_V = TypeVar("_V")
FrozenMap = Annotated[dict[_K, _V], AfterValidator(FrozenDict), PlainSerializer(dict, return_type=dict)]
"""A spec field read from a TOML table: validated as ``dict[K, V]``, held as a :class:`FrozenDict`."""


class Frozen(BaseModel):
    """Immutable, strict base of every spec: unknown keys are rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowRoll(Frozen):
    """Index roll window: weight moves old -> new in equal steps on business days
    ``first_day..last_day`` of the month (default 5-9, 20% a day), at the close."""

    rule: Literal["window"] = "window"
    first_day: int = Field(5, ge=1, le=23)
    last_day: int = Field(9, ge=1, le=23)


class FirstNoticeRoll(Frozen):
    """Hold the ``position``-th listed contract (2 = second); roll to the next one at the close
    ``days_before`` business days before the front contract's first notice day."""

    rule: Literal["before_first_notice"] = "before_first_notice"
    position: int = Field(2, ge=1, le=4)
    days_before: int = Field(5, ge=0, le=30)


class DataRoll(Frozen):
    """Hold the contract the imported data names (pysystemtrade PRICE contract); roll at the
    close of the day before it changes."""

    rule: Literal["data"] = "data"


RollRule = Annotated[Union[WindowRoll, FirstNoticeRoll, DataRoll], Field(discriminator="rule")]

ReturnType = Literal["er", "tr"]


class GridMember(Frozen):
    """Where a catalogue grid variant comes from: the ``grid`` id and each axis's value as
    shown, in axis order (``(("ma_months", "6"), ("cap", "10%"))``)."""

    grid: str
    values: tuple[tuple[str, str], ...]


class IndexSpecBase(Frozen):
    """What every published index declares. ``universe`` None = every root of the market in
    ``sectors`` (None = all sectors)."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    name: str
    objective: str = ""
    return_type: ReturnType = "er"
    base_value: float = Field(1000.0, gt=0)
    universe: tuple[str, ...] | None = None
    sectors: tuple[Sector, ...] | None = None
    roll: RollRule = WindowRoll()
    implementation_lag: int = Field(1, ge=0, le=5, description="business days from fixing to effect")
    precision: int = Field(4, ge=0, le=10, description="decimals of the official (published) level")
    launch_date: dt.date | None = Field(
        None, description="first day the index was calculated live; levels before it are back-tested "
        "(None: not launched, the whole history is back-tested)"
    )

    grid: GridMember | None = Field(
        None, exclude=True,
        description="set by the catalogue on a grid variant; not a parameter (left out of the JSON and fingerprint)")

    def fingerprint(self) -> str:
        """Everything the index's calculation reads from its spec, as text: the canonical JSON of
        its fields, plus what a spec loaded at the edge from its own files (the base-metals
        stress scenarios). The ledger's methodology version and the daily state key on it, so
        a changed parameter or scenario file restarts the state and shows in the ledger."""
        return self.model_dump_json()

    def select_roots(self, instruments: dict) -> list[str]:
        """The roots this index may hold, from the universe and sector filters."""
        roots = list(self.universe) if self.universe is not None else sorted(instruments)
        if self.sectors is not None:
            roots = [root for root in roots if root in instruments and instruments[root].sector in self.sectors]
        return roots
