"""Turn untrusted, possibly HTML-laden values into plain display text."""

from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree

__all__ = ["clean_text"]

# Elements whose *content* is never user-visible text and may be hostile, so
# it is dropped together with the tag rather than kept as text.
_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "head",
        "title",
        "textarea",
        "select",
    }
)
# Block-level elements are separated by whitespace so that "<p>a</p><p>b</p>"
# does not glue into "ab".
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "hr",
        "dd",
        "dt",
        "dl",
        "address",
        "figure",
        "figcaption",
    }
)
_TAG_LIKE = re.compile(r"<\s*[a-zA-Z/!?]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_WS = re.compile(r"\s+")
# Last-resort stripping when lxml cannot parse the fragment at all.
_RE_DROP = re.compile(
    r"<\s*(script|style|noscript|template|iframe|object|embed|svg|math|textarea)\b.*?"
    r"(<\s*/\s*\1\s*>|$)",
    re.IGNORECASE | re.DOTALL,
)
_RE_TAG = re.compile(r"<[^>]*>?", re.DOTALL)


def _text_of(fragment: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError, TypeError):
        return _RE_TAG.sub(" ", _RE_DROP.sub(" ", fragment))
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if tag in _DROP_WITH_CONTENT or not isinstance(el.tag, str):
            # comments, processing instructions and hostile elements: skip
            # their content but keep the tail, which belongs to the parent.
            if el.tail:
                parts.append(el.tail)
            return
        if tag in _BLOCK:
            parts.append(" ")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if tag in _BLOCK:
            parts.append(" ")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return "".join(parts)


def _one_pass(text: str) -> str:
    if _TAG_LIKE.search(text):
        text = _text_of(text)
    text = html.unescape(text)
    text = _CONTROL.sub("", text)
    return _WS.sub(" ", text).strip()


def _truncate(text: str, max_len: int) -> str:
    if max_len <= 0:
        return ""
    if len(text) <= max_len:
        return text
    if max_len == 1:
        return "…"
    cut = text[: max_len - 1]
    # Prefer a word boundary, but not if that throws away most of the text.
    space = cut.rfind(" ")
    if space > max_len // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def clean_text(value: object, max_len: int | None = None) -> str | None:
    """Plain text from `value`: tags stripped (hostile content dropped), entities
    unescaped, whitespace collapsed. None for empty input. Idempotent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, bytes):
            text = value.decode("utf-8", errors="replace")
        elif isinstance(value, list | tuple):
            text = " ".join(str(v) for v in value if v is not None and not isinstance(v, bool))
        else:
            text = str(value)
        # Escaped markup ("&lt;p&gt;", common in WordPress JSON-LD) turns into
        # markup after one unescape; loop to a fixed point so that the result
        # is idempotent. Each changing pass shortens the text, so this ends.
        for _ in range(50):
            cleaned = _one_pass(text)
            if cleaned == text:
                break
            text = cleaned
        if max_len is not None:
            text = _truncate(text, max_len)
        return text or None
    except Exception:  # a normaliser must never raise
        return None
