"""CLI command modules, one per area (data, series, rebuild, publish, operations).

Each module registers its commands on the groups of :mod:`indexcalc.cli` when imported;
every module in this package is imported by :func:`load_all`.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
