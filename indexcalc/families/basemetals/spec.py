"""Spec of the base-metals basket (inverse-volatility and optimised weights), and the stress
scenarios it is tested against.

Every parameter of the basket's methodology is a field here: the roots (``universe``), the
weighting method and its windows, the min/max weight bounds of the optimisers, the quarterly
re-optimisation, the drift trigger, the optional momentum tilt, and the monitors published with
the index (correlation, pairs, stress scenarios, attribution, risk contribution).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from indexcalc.errors import SpecError
from indexcalc.specs.base import Frozen, FrozenDict, FrozenMap, IndexSpecBase

PROJECT_ROOT = Path(__file__).resolve().parents[3]
"""Relative scenario-file paths are resolved against this folder (the one holding ``data/``)."""

BASE_METALS_ROOTS: tuple[str, ...] = ("HG", "LA", "LX", "LL", "LN")
"""Copper (COMEX), aluminium, zinc, lead, nickel (LME); tin (LT) is optional, off by default."""

Weighting = Literal["inverse_vol", "equal", "min_variance", "max_sharpe"]


class MomentumTiltSpec(Frozen):
    """Momentum tilt of the target weights (see :mod:`indexcalc.families.basemetals.momentum_tilt`).

    ``fraction`` is the tilt size: ``w_i' = w_i * (1 + fraction * score_i) / sum_j(...)`` with the
    composite score in [-1, 1]. The score averages three signals of each root's excess-return
    level: above/below its ``ema_span``-day EMA, Wilder's RSI over ``rsi_window`` days rescaled
    to [-1, 1], and the sign of the ``roc_window``-day rate of change.
    """

    fraction: float = Field(ge=0.10, le=0.20, description="tilt size, fraction of each base weight")
    ema_span: int = Field(20, ge=2, le=260, description="EMA span, business days")
    rsi_window: int = Field(14, ge=2, le=260, description="RSI (Wilder) window, business days")
    roc_window: int = Field(20, ge=1, le=260, description="rate-of-change lookback, business days")


class BaseMetalsSpec(IndexSpecBase):
    """A long-only base-metals basket, rebalanced monthly, with a relative drift trigger.

    - ``universe``: the roots held (default copper, aluminium, zinc, lead, nickel; add ``LT``
      for tin).
    - ``weighting``: ``inverse_vol`` (``w_i = (1/sigma_i) / sum_j 1/sigma_j`` with sigma the
      ``vol_window``-day volatility), ``equal``, ``min_variance`` or ``max_sharpe`` (on the
      Ledoit-Wolf shrunk covariance of the trailing ``covariance_window`` daily returns, weights
      within ``[min_weight, max_weight]``, re-optimised every ``reoptimise_months`` months).
    - ``drift_threshold``: relative trigger; a rebalance is fixed at the close of the first day
      where ``|w_i,t - target_i| > drift_threshold * target_i`` for some root (None = off).
    """

    kind: Literal["base_metals"] = "base_metals"
    universe: tuple[str, ...] = BASE_METALS_ROOTS
    weighting: Weighting = "inverse_vol"
    rebalance: Literal["monthly"] = "monthly"
    base_date: dt.date | None = Field(
        None, description="first fixing date; None = the first month-end with enough history for every window"
    )
    annualisation: int = Field(252, ge=1, le=366, description="business days per year")
    vol_window: int = Field(20, ge=2, le=520, description="volatility window, daily returns")
    min_weight: float = Field(0.05, ge=0.0, lt=1.0, description="optimiser lower bound per root (fraction)")
    max_weight: float = Field(0.40, gt=0.0, le=1.0, description="optimiser upper bound per root (fraction)")
    covariance_window: int = Field(252, ge=10, le=2520, description="optimiser covariance window, daily returns")
    expected_return_window: int = Field(
        252, ge=10, le=2520, description="max-Sharpe expected returns: trailing mean daily return window"
    )
    reoptimise_months: int = Field(
        3, ge=1, le=12, description="optimised weights recomputed in months divisible by this"
    )
    drift_threshold: float | None = Field(0.15, gt=0.0, le=1.0, description="relative drift trigger; None = off")
    tilt: MomentumTiltSpec | None = None
    correlation_window: int = Field(60, ge=5, le=520, description="rolling correlation window, daily returns")
    correlation_alert: float = Field(0.5, ge=-1.0, le=1.0, description="alert below this average pairwise correlation")
    risk_window: int = Field(60, ge=5, le=520, description="current risk contribution window, daily returns")
    pairs: tuple[tuple[str, str], ...] = (("HG", "LX"),)
    pairs_window: int = Field(60, ge=5, le=520, description="ratio z-score window, business days")
    pairs_entry: float = Field(2.0, gt=0.0, description="|z| above which a pairs trade is entered")
    pairs_exit: float = Field(0.0, ge=0.0, description="|z| at or below which an open pairs trade is closed")
    scenarios_file: str = Field("data/scenarios.toml", description="stress scenarios; relative to the project root")
    _scenarios: tuple["StressScenario", ...] = PrivateAttr(())

    def model_post_init(self, context) -> None:
        """Read ``scenarios_file`` now, when the spec is built (the spec loader is the edge), so
        the calculation reads no file: :attr:`scenarios`."""
        self._scenarios = tuple(load_scenarios(self.scenarios_path()))

    @property
    def scenarios(self) -> tuple["StressScenario", ...]:
        """The stress scenarios of ``scenarios_file``, read when the spec was built. Not a field
        (the published parameter table lists the file), but part of :meth:`fingerprint`."""
        return self._scenarios

    def fingerprint(self) -> str:
        """The spec's JSON and its scenarios' (a changed scenario file is a changed index)."""
        scenarios = ",".join(scenario.model_dump_json() for scenario in self._scenarios)
        return f"{self.model_dump_json()}|scenarios:[{scenarios}]"

    def with_scenarios(self, scenarios) -> "BaseMetalsSpec":
        """A copy of the spec holding ``scenarios`` instead of its file's."""
        copy = self.model_copy()
        copy._scenarios = tuple(scenarios)
        return copy

    @model_validator(mode="after")
    def _consistent(self) -> "BaseMetalsSpec":
        roots = self.universe
        if len(roots) < 2:
            raise ValueError("a basket needs at least two roots in universe")
        if len(set(roots)) != len(roots):
            raise ValueError(f"universe has duplicated roots: {list(roots)}")
        if self.sectors is not None:
            raise ValueError("sectors is not used by the base-metals basket; list the roots in universe")
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} is above max_weight {self.max_weight}")
        count = len(roots)
        if self.min_weight * count > 1.0 + 1e-12 or self.max_weight * count < 1.0 - 1e-12:
            raise ValueError(
                f"weights bounded in [{self.min_weight}, {self.max_weight}] cannot sum to 1 over {count} roots"
            )
        for pair in self.pairs:
            if pair[0] == pair[1] or any(root not in roots for root in pair):
                raise ValueError(f"pair {pair[0]}/{pair[1]} must be two different roots of universe {list(roots)}")
        if self.pairs_exit >= self.pairs_entry:
            raise ValueError(f"pairs_exit {self.pairs_exit} must be below pairs_entry {self.pairs_entry}")
        return self

    @property
    def optimised(self) -> bool:
        return self.weighting in ("min_variance", "max_sharpe")

    @property
    def history_days(self) -> int:
        """Daily returns every root needs before the first fixing: the longest window in use."""
        windows = [self.vol_window, self.correlation_window, self.risk_window]
        if self.pairs:
            windows.append(self.pairs_window)
        if self.optimised:
            windows.append(self.covariance_window)
        if self.weighting == "max_sharpe":
            windows.append(self.expected_return_window)
        if self.tilt is not None:
            windows += [self.tilt.ema_span, self.tilt.rsi_window, self.tilt.roc_window]
        return max(windows)

    def scenarios_path(self) -> Path:
        return resolve_project_path(self.scenarios_file)


def resolve_project_path(file: str) -> Path:
    """``file`` as is when absolute, else relative to :data:`PROJECT_ROOT`."""
    path = Path(file)
    return path if path.is_absolute() else PROJECT_ROOT / path


class StressScenario(Frozen):
    """One stress scenario: a total move per root over the scenario's horizon (fraction).

    The move of root i is, in order of precedence:
    1. ``shocks[i]`` if the root is named;
    2. with ``factor_move`` set: the vol-scaled common shock of a one-factor model,
       ``factor_correlation * sigma_i / mean_j(sigma_j) * factor_move`` (sigma = current
       volatility of each basket root), i.e. the expected move of root i given a factor move
       that an average-volatility root with correlation 1 would follow;
    3. otherwise ``default_shock``.
    With ``each_root`` set the scenario expands to one scenario per basket root, named
    ``<name>:<root>``, in which that root moves ``each_root`` and the others as above.
    Moves are applied at once to the current weights (positions are fixed units over the
    horizon, no rebalancing), so the basket P&L is exactly ``sum_i w_i * move_i``.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    description: str
    horizon_days: int | None = Field(None, ge=1, description="business days the move takes (informative)")
    shocks: FrozenMap[str, float] = Field(default_factory=FrozenDict)
    default_shock: float = 0.0
    factor_move: float | None = None
    factor_correlation: float = Field(1.0, gt=0.0, le=1.0)
    each_root: float | None = None

    @model_validator(mode="after")
    def _moves_above_minus_one(self) -> "StressScenario":
        moves = list(self.shocks.values()) + [self.default_shock]
        moves += [move for move in (self.factor_move, self.each_root) if move is not None]
        if any(not math.isfinite(move) or move <= -1.0 for move in moves):
            raise ValueError("every move must be a finite fraction above -1 (a price cannot fall 100%)")
        return self


def parse_scenarios(raw: dict, *, file: str | None = None, known_roots: set[str] | None = None) -> list[StressScenario]:
    """The ``[[scenario]]`` tables of a parsed scenarios file; errors name file, scenario, field."""
    scenarios = [_scenario(position, table, file) for position, table in enumerate(raw.get("scenario", []), start=1)]
    if not scenarios:
        raise SpecError("no [[scenario]] tables", file=file)
    check_scenarios(scenarios, file=file, known_roots=known_roots)
    return scenarios


def _scenario(position: int, table: dict, file: str | None) -> StressScenario:
    try:
        return StressScenario.model_validate(table)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=file, key=f"scenario {table.get('name', position)}") from None


def check_scenarios(scenarios, *, file: str | None = None, known_roots: set[str] | None = None) -> None:
    """A :class:`SpecError` for a duplicated scenario name or, given ``known_roots``, shocks on
    unknown roots (checked when the file is read, and against the market by the calculation)."""
    seen: set[str] = set()
    for scenario in scenarios:
        key = f"scenario {scenario.name}"
        if scenario.name in seen:
            raise SpecError("duplicated scenario name", file=file, key=key)
        unknown = sorted(set(scenario.shocks) - known_roots) if known_roots is not None else []
        if unknown:
            raise SpecError(f"shocks name unknown roots {unknown}", file=file, key=key)
        seen.add(scenario.name)


def load_scenarios(path: Path | str, *, known_roots: set[str] | None = None) -> list[StressScenario]:
    """Read a scenarios TOML file (see ``data/scenarios.toml`` for the format)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"cannot read scenarios file ({error.strerror})", file=str(path)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"not valid TOML ({error})", file=str(path)) from None
    return parse_scenarios(raw, file=str(path), known_roots=known_roots)


BaseMetalsSpec.model_rebuild()  # resolves the forward reference to StressScenario
