"""Reading published pages back in tests: the text of elements marked with data attributes,
links, ids and anything that would make a page fetch something from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID_ELEMENTS = {"meta", "link", "br", "img", "input", "hr", "col", "source", "path", "rect", "use", "stop"}


class _Marked(HTMLParser):
    """Collects ``(attribute, value) -> text`` for elements carrying one of ``attributes``."""

    def __init__(self, attributes: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes = attributes
        self.open: list[tuple[str, tuple[str, str] | None, list[str]]] = []
        self.found: dict[tuple[str, str], list[str]] = {}
        self.links: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"])
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
        if tag in VOID_ELEMENTS:
            return
        mark = next(((name, values[name]) for name in self.attributes if name in values), None)
        self.open.append((tag, mark, []))

    def handle_startendtag(self, tag, attrs):
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"])

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            return
        while self.open:
            open_tag, mark, text = self.open.pop()
            if mark is not None:
                self.found.setdefault(mark, []).append("".join(text).strip())
            if self.open:
                self.open[-1][2].extend(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.open:
            self.open[-1][2].append(data)


def parse(html: str, attributes: tuple[str, ...]) -> _Marked:
    parser = _Marked(attributes)
    parser.feed(html)
    parser.close()
    return parser


def marked(html: str, attribute: str) -> dict[str, str]:
    """``value -> text`` of every element with ``attribute="value"`` (one element per value)."""
    found = parse(html, (attribute,)).found
    result = {}
    for (_, value), texts in found.items():
        assert len(texts) == 1, f"{attribute}={value} appears {len(texts)} times"
        result[value] = texts[0]
    return result


def links(html: str) -> list[str]:
    return parse(html, ()).links


def element_ids(html: str) -> list[str]:
    return parse(html, ()).ids


EXTERNAL_REFERENCES = [
    re.compile(r"<script\b", re.I),
    re.compile(r"<link\b(?![^>]*href=\"data:)", re.I),
    re.compile(r"\b(?:src|href)\s*=\s*\"(?:https?:)?//", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"url\(\s*['\"]?(?:https?:)?//", re.I),
    re.compile(r"@font-face", re.I),
]


def external_references(html: str) -> list[str]:
    """Anything in the page that would load a resource from outside the page itself."""
    return [match.group(0) for pattern in EXTERNAL_REFERENCES for match in pattern.finditer(html)]
