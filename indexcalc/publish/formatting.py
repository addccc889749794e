"""How numbers look on the published pages, and the jinja2 environment that renders them.

One formatter per kind of figure, used by the templates as filters, so that a test can format
an analytics result the same way and find it on the page.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

import indexcalc
from indexcalc.data.instruments import SECTOR_LABELS, sector_label  # noqa: F401 (template filter)

METHODOLOGY_TEMPLATES = Path(__file__).resolve().parents[2] / "methodology"
"""The layout of the methodology documents (repository root); each family fills it from its folder."""

MISSING = "–"
"""Shown where a figure is not defined (history too short, no drawdown...)."""


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def unsigned_zero(text: str) -> str:
    """``-0.00`` -> ``0.00`` and ``+0.00`` -> ``0.00``: a figure that rounds to zero has no sign."""
    if text[:1] in "+-" and not any(digit in text for digit in "123456789"):
        return text[1:]
    return text


def percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: 0.1234 -> ``12.34%`` (-0.00001 -> ``0.00%``)."""
    return MISSING if _absent(value) else unsigned_zero(f"{value * 100:.{digits}f}") + "%"


def signed_percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a signed percentage: 0.01 -> ``+1.00%`` (a figure rounding to 0: ``0.00%``)."""
    return MISSING if _absent(value) else unsigned_zero(f"{value * 100:+.{digits}f}") + "%"


def ratio(value: float | None, digits: int = 2) -> str:
    """A unitless ratio: ``0.47`` (-0.001 -> ``0.00``, never ``-0.00``)."""
    return MISSING if _absent(value) else unsigned_zero(f"{value:.{digits}f}")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 business day``, ``2 business days``, ``0 business days``."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def level(value: float | None) -> str:
    """An index level in points: ``1,234.56``."""
    return MISSING if _absent(value) else f"{value:,.2f}"


def day(value: dt.date | None) -> str:
    """A date in ISO form, ``2024-01-31``."""
    return MISSING if value is None else value.isoformat()


def cell(value: object) -> str:
    """Any table cell: floats to 4 decimals (6 significant digits if tiny), dates ISO."""
    if _absent(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4f}" if value == 0.0 or abs(value) >= 1e-3 else f"{value:.6g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def direction(value: int | float | None) -> str:
    """+1 / -1 / 0 as Long / Short / Flat."""
    if _absent(value):
        return MISSING
    return "Long" if value > 0 else "Short" if value < 0 else "Flat"


def tone(value: float | None) -> str:
    """CSS class of a signed figure: ``up``, ``down`` or empty."""
    if _absent(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


@lru_cache(maxsize=1024)
def _mathml(latex: str, display: str) -> str:
    from latex2mathml.converter import convert

    return convert(" ".join(latex.split()), display=display)


def display_math(latex: str) -> Markup:
    """A LaTeX formula as a displayed MathML block, ``<p class="formula"><math display="block">``
    (every current browser renders MathML without a script); used as ``{% filter math %}``
    around the formula, so the template's parameters are filled in first."""
    return Markup(f'<p class="formula">{_mathml(str(latex), "block")}</p>')


def inline_math(latex: str) -> Markup:
    """A LaTeX formula as inline MathML, within a sentence (``{% filter inline_math %}``)."""
    return Markup(_mathml(str(latex), "inline"))


FILTERS = {
    "percent": percent,
    "signed_percent": signed_percent,
    "ratio": ratio,
    "level": level,
    "day": day,
    "cell": cell,
    "direction": direction,
    "tone": tone,
    "sector": sector_label,
    "plural": plural,
    "math": display_math,
    "inline_math": inline_math,
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Templates of the package (layout, factsheet, site), of ``methodology/`` (the methodology
    documents' layout) and of each family's folder (``<kind>/methodology.html.j2``); autoescaped,
    strict about undefined names so that a template cannot silently show an empty parameter."""
    from indexcalc.families.registry import FAMILIES

    families = jinja2.PrefixLoader({family.kind: jinja2.FileSystemLoader(str(family.folder)) for family in FAMILIES})
    loader = jinja2.ChoiceLoader(
        [jinja2.PackageLoader("indexcalc", "templates"), jinja2.FileSystemLoader(str(METHODOLOGY_TEMPLATES)), families]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(version=indexcalc.__version__, methodology_version=indexcalc.METHODOLOGY_VERSION)
    return env
