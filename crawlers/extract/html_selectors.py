"""Items from HTML pages by a source's CSS or XPath selectors. Pure: parsel, no Scrapy.

A selector starting with `/` or `(` is XPath, anything else CSS (with parsel's `::text` and
`::attr(name)`). Field selectors are evaluated inside each item, so an XPath `//td` means "a td
in this item", as a reader of the source file would expect, not "any td on the page". A selector
matching elements (no `::text`) yields their whole visible text, markup and scripts dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from parsel import Selector
from w3lib.html import get_base_url

from crawlers.extract.language import page_language
from crawlers.normalise.text import clean_text

__all__ = [
    "DetailResult",
    "HtmlResult",
    "extract_detail",
    "extract_items",
    "is_xpath",
    "read_detail",
    "select_values",
]

# Fields whose values are links, resolved against the page (and its <base href>).
URL_FIELDS = frozenset({"url", "application_url"})


@dataclass
class HtmlResult:
    items: list[dict[str, list[str]]]
    """Field name -> every non-empty value its selector matched, in document order."""
    errors: list[str] = field(default_factory=list)
    next_url: str | None = None
    language: str | None = None
    """What the page declares (`<html lang>`): the items' language unless a field says one."""


@dataclass
class DetailResult:
    values: dict[str, list[str]]
    errors: list[str] = field(default_factory=list)
    language: str | None = None
    """What the item's own page declares (`<html lang>`)."""


def is_xpath(expr: str) -> bool:
    return expr.lstrip().startswith(("/", "(", "./", "../"))


_ABSOLUTE = re.compile(r"^(\(*)\s*/")


def _relative(expr: str) -> str:
    """`//td` -> `.//td`, `(//a)[1]` -> `(.//a)[1]`: evaluate inside the item."""
    return _ABSOLUTE.sub(lambda m: f"{m.group(1)}./", expr.strip(), count=1)


def select_values(sel: Selector, expr: str, *, relative: bool = False) -> list[str]:
    """Plain-text values `expr` matches under `sel`. Raises ValueError on a bad selector."""
    expr = expr.strip()
    try:
        if is_xpath(expr):
            matches = sel.xpath(_relative(expr) if relative else expr)
        else:
            matches = sel.css(expr)
    except Exception as exc:  # cssselect and lxml raise their own error types
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    out: list[str] = []
    for match in matches:
        raw = match.get()
        text = clean_text(raw) if raw is not None else None
        if text:
            out.append(text)
    return out


def _read_fields(
    sel: Selector, fields: dict[str, str], base: str, errors: list[str], bad: set[str]
) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, expr in fields.items():
        if name in bad:
            continue
        try:
            found = select_values(sel, expr, relative=True)
        except ValueError as exc:
            bad.add(name)  # reported once per page, not once per item
            errors.append(f"selector for {name!r} ({expr!r}) is not valid: {exc}")
            continue
        if name in URL_FIELDS:
            found = [urljoin(base, v) for v in found]
        if found:
            values[name] = found
    return values


def _document(body: str | bytes, url: str) -> tuple[Selector, str]:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return Selector(text=text, base_url=url), get_base_url(text, url)


def extract_items(
    body: str | bytes,
    url: str,
    item: str,
    fields: dict[str, str],
    next_selector: str | None = None,
) -> HtmlResult:
    """One dict of raw values per element `item` matches. Never raises."""
    result = HtmlResult([])
    try:
        doc, base = _document(body, url)
    except Exception as exc:  # lxml refuses some byte soup outright
        result.errors.append(f"not a readable HTML page: {type(exc).__name__}: {exc}")
        return result
    result.language = page_language(doc.root)
    try:
        nodes = doc.xpath(item.strip()) if is_xpath(item) else doc.css(item.strip())
    except Exception as exc:
        result.errors.append(f"item selector {item!r} is not valid: {type(exc).__name__}: {exc}")
        return result
    if not nodes:
        result.errors.append(f"item selector {item!r} matched nothing")
    bad: set[str] = set()
    for node in nodes:
        values = _read_fields(node, fields, base, result.errors, bad)
        if values:
            result.items.append(values)
    if next_selector:
        try:
            found = select_values(doc, next_selector)
        except ValueError as exc:
            result.errors.append(f"next selector {next_selector!r} is not valid: {exc}")
            found = []
        if found:
            result.next_url = urljoin(base, found[0])
    return result


def read_detail(body: str | bytes, url: str, fields: dict[str, str]) -> DetailResult:
    """Raw values of `fields` read on an item's own page, and the page's language. Never
    raises."""
    try:
        doc, base = _document(body, url)
    except Exception as exc:
        return DetailResult({}, [f"not a readable HTML page: {type(exc).__name__}: {exc}"])
    result = DetailResult({}, language=page_language(doc.root))
    result.values = _read_fields(doc, fields, base, result.errors, set())
    return result


def extract_detail(
    body: str | bytes, url: str, fields: dict[str, str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Raw values of `fields` read on an item's own page; (values, errors). Never raises."""
    result = read_detail(body, url, fields)
    return result.values, result.errors
