"""Command bodies, registered on the click groups of :mod:`indexcalc.cli`."""

from __future__ import annotations
