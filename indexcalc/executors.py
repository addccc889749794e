"""Where the family computations of :func:`indexcalc.pipeline.calculate` run (docs/design.md
section 6): in this process (:class:`InProcess`, the default) or as tasks on a Ray instance
(:class:`RayExecutor`, the optional ``distributed`` extra), local or a cluster.

An executor shares the large inputs (the market, each roll rule's series, the collateral) once,
splits a group of specs into chunks for its workers, submits one call per chunk and gathers the
results in submission order. The calls are pure, so where they run does not change a bit of the
results (tests compare the two executors).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from indexcalc.errors import IndexCalcError, SpecError

Item = TypeVar("Item")


class Executor(Protocol):
    """What :func:`indexcalc.pipeline.calculate` needs from an executor."""

    def share(self, value: Any) -> Any:
        """A handle on ``value`` that :meth:`submit` accepts in its place (stored once)."""

    def chunks(self, items: Sequence[Item], key: Callable[[Item], Any] = id) -> list[list[Item]]:
        """``items`` split into chunks, one call each; items with equal ``key`` (that share a
        family's inputs) stay in one chunk."""

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Any:
        """Start ``function(*arguments)`` (handles from :meth:`share` stand for their values)."""

    def gather(self, pending: Sequence[Any]) -> list[Any]:
        """The results of submitted calls, in the order given."""


def split(items: Sequence[Item], parts: int) -> list[list[Item]]:
    """``items`` in ``min(parts, len(items))`` consecutive chunks whose sizes differ by at most one
    (the first ``len % parts`` chunks one longer): 5 items in 2 parts -> 3 + 2."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    bounds = [index * size + min(index, extra) for index in range(parts + 1)]
    return [list(items[start:end]) for start, end in zip(bounds, bounds[1:])]


def split_keeping(items: Sequence[Item], parts: int, key: Callable[[Item], Any]) -> list[list[Item]]:
    """``items`` in at most ``parts`` chunks, those with equal ``key`` in the same one: the runs
    of equal keys (in first-appearance order) :func:`split` into ``parts`` by count, so that a
    chunk computes a family's shared inputs once for every spec that needs them."""
    runs: dict[Any, list[Item]] = {}
    for item in items:
        runs.setdefault(key(item), []).append(item)
    return [[item for run in chunk for item in run] for chunk in split(list(runs.values()), parts)]


class InProcess:
    """Every call in this process, when gathered; a group is one chunk, so that a family computes
    its shared inputs once for the whole group."""

    def share(self, value: Any) -> Any:
        return value

    def chunks(self, items: Sequence[Item], key: Callable[[Item], Any] = id) -> list[list[Item]]:
        return [list(items)]

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Callable[[], Any]:
        return lambda: function(*arguments)

    def gather(self, pending: Sequence[Callable[[], Any]]) -> list[Any]:
        return [call() for call in pending]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> "InProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


RAY_MISSING = "the Ray executor needs the optional extra: pip install -e '.[distributed]' (ray[client]>=2.9)"


class RayExecutor:
    """Calls as Ray tasks. ``address`` None starts a local instance with ``workers`` CPUs (2 by
    default) and stops it on :meth:`close`; otherwise it connects to that cluster (``auto``, or
    ``ray://HOST:10001``) and uses its CPUs. The package's code is shipped to the workers
    (``runtime_env`` ``py_modules``), so they compute with the driver's version; its
    dependencies (polars, numpy, pydantic, scipy) must be installed where the workers run.

    Shared values are put in the object store once (``ray.put``) and each task receives them by
    reference; a group of specs is split into one chunk per worker, so that two workers share
    a large group, keeping the specs that share a family's inputs together (each chunk computes
    them for its own specs)."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise SpecError(RAY_MISSING, key="--executor ray") from None
        import indexcalc

        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            options: dict[str, Any] = {
                "runtime_env": {"py_modules": [str(Path(indexcalc.__file__).parent)]},
                "include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False,
            }
            if address is None:
                options["num_cpus"] = workers or 2
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise SpecError(f"cannot connect to the Ray cluster: {error}", key=f"--address {address}") from None
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._shared: dict[int, tuple[Any, Any]] = {}
        self._remote: dict[Callable[..., Any], Any] = {}

    def share(self, value: Any) -> Any:
        # keyed by identity, the value kept alive with its reference: a value shared twice is stored once
        if id(value) not in self._shared:
            self._shared[id(value)] = (value, self._ray.put(value))
        return self._shared[id(value)][1]

    def chunks(self, items: Sequence[Item], key: Callable[[Item], Any] = id) -> list[list[Item]]:
        return split_keeping(items, self.workers, key)

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Any:
        if function not in self._remote:
            self._remote[function] = self._ray.remote(function)
        return self._remote[function].remote(*arguments)

    def gather(self, pending: Sequence[Any]) -> list[Any]:
        try:
            return self._ray.get(list(pending))
        except self._ray.exceptions.RayTaskError as error:
            # a user error in a worker is the same one-line error as in process
            if isinstance(error.cause, IndexCalcError):
                raise error.cause from None
            raise

    def close(self) -> None:
        """Drop the shared values; stop the local instance this executor started."""
        self._shared.clear()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(name: str = "in-process", address: str | None = None, workers: int | None = None):
    """The executor the command line names: ``in-process`` (default) or ``ray``."""
    if name == "ray":
        return RayExecutor(address, workers)
    if address is not None:
        raise SpecError("--address applies to --executor ray only", key="--address")
    return InProcess()
