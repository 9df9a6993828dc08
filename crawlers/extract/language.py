"""The language a page or an item says it is in, as one ISO 639 code.

Every extractor reads language tags through `search_api.domain.languages.language_code`, so that a
record from a page, a feed, a calendar or a field mapping is filtered (`lang=fr`) alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from search_api.domain.languages import language_code, language_problem

__all__ = ["first_language", "language_code", "language_problem", "page_language"]

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XHTML = "{http://www.w3.org/1999/xhtml}"


def first_language(values: Iterable[object]) -> str | None:
    """The code of the first value that names a language; non-text values are passed over."""
    for value in values:
        if isinstance(value, str) and value.strip():
            code = language_code(value)
            if code:
                return code
    return None


def page_language(element: etree._Element) -> str | None:
    """The language an HTML page declares: `<html lang>` (or `xml:lang`), else a
    `<meta http-equiv="content-language">`. None when it declares none that is a language."""
    if not isinstance(element, etree._Element):  # parsel's root of a non-XML document
        return None
    root = element.getroottree().getroot()
    # lxml's HTML parser keeps `xml:lang` as a plain attribute name; its XML parser (parsel
    # reads an XHTML page with an XML declaration as XML) puts it in the XML namespace.
    declared = [root.get("lang"), root.get("xml:lang"), root.get(_XML_LANG)]
    code = first_language(declared)
    if code:
        return code
    for meta in root.iter("meta", f"{_XHTML}meta"):
        if (meta.get("http-equiv") or "").strip().lower() != "content-language":
            continue
        content = meta.get("content") or ""
        # HTML ignores a list ("de, en"): a page in several languages has no default one.
        if "," not in content:
            return language_code(content) if content.strip() else None
        return None
    return None
