"""JSON-LD blocks of an HTML page, read as browsers and search engines read them: a broken block
is repaired (json-repair) rather than dropped, and the repair is reported as a note."""

from __future__ import annotations

import html
import json
import re
from typing import Any, NamedTuple

import json_repair
from lxml import etree

from crawlers.extract.events import ExtractResult, Note

__all__ = ["Block", "attested", "jsonld_blocks", "parse_block", "run_together"]


def _strip_wrappers(raw: str) -> str:
    text = raw.strip()
    text = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", text).strip()
    text = re.sub(r"^<!--|-->$", "", text).strip()
    return text


_ENTITY_QUOTE = re.compile(r"&(?:quot|#0*34|#x0*22);", re.IGNORECASE)


class Block(NamedTuple):
    data: Any
    # Why the block needed repairing (None: it was JSON), and the text the data came from.
    repaired: str | None
    text: str
    # Values the repair found under a key given twice in one object: two objects run together
    # (a lost "{"), so which event a value belongs to is unknown.
    doubtful: frozenset[str] = frozenset()


def parse_block(raw: str) -> Block:
    """A JSON-LD block as browsers and search engines read it: strict JSON when it is, else what
    a tolerant parser recovers. Raises ValueError when nothing usable is left."""
    try:
        return Block(json.loads(raw), None, raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        first = exc
    problem = (
        f"{first.msg} (line {first.lineno}, column {first.colno})"
        if isinstance(first, json.JSONDecodeError)
        else "nested too deeply"
    )
    # Raw newlines, tabs and other control characters inside strings: Python's own parser
    # reads them when asked to, exactly (json-repair would too, but slower).
    try:
        data = json.loads(raw, strict=False)
        return Block(data, f"control characters in strings ({problem})", raw)
    except (json.JSONDecodeError, RecursionError):
        pass
    # A whole block HTML-escaped ({&quot;@type&quot;: ...}, from templates that escape what they
    # print): json-repair reads "&quot;" as text, so unescape first. Only then: a valid block's
    # strings may hold entities that must stay as they are (clean_text decodes them later).
    text = raw
    if _ENTITY_QUOTE.search(raw) and '"' not in raw.split(":", 1)[0]:
        text = html.unescape(raw)
        problem = f"HTML-escaped JSON ({problem})"
        try:
            return Block(json.loads(text, strict=False), problem, text)
        except (json.JSONDecodeError, RecursionError):
            pass
    # Several objects one after the other: json-repair reads a second object with the same keys
    # as an update of the first (its streaming mode), so they are read one by one here.
    values = _one_after_another(text)
    if values is not None:
        return Block(values, f"several JSON values in one block ({problem})", text)
    # Trailing commas, comments, unescaped quotes, missing commas or brackets, single quotes:
    # json-repair, a maintained tolerant parser.
    try:
        repaired: Any = json_repair.loads(text, skip_json_loads=True, logging=True)
        data, log = repaired
    except (RecursionError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(problem) from exc
    if not _has_nodes(data):
        # What is left is no schema.org data (an unrendered template, a script): nothing
        raise ValueError(problem)
    doubtful = frozenset(
        value
        for entry in log
        if isinstance(entry, dict) and "duplicate key" in str(entry.get("text", ""))
        for value in _DUPLICATED.findall(str(entry.get("context", "")))
    )
    return Block(data, problem, text, doubtful)


_DUPLICATED = re.compile(r'"(?:name|startDate)"\s*:\s*"([^"]+)')


def _one_after_another(text: str) -> list[Any] | None:
    """The values of a block that holds several complete JSON values in a row; None if it
    does not (one value, or values that are themselves broken)."""
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i] in " \t\r\n,;":
            i += 1
        if i >= len(text):
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError):
            return None
        values.append(value)
    return values if len(values) > 1 else None


def _has_nodes(data: object, depth: int = 0) -> bool:
    """Whether `data` holds a node with a type or a context, as schema.org data does."""
    if depth > 20:
        return False
    if isinstance(data, dict):
        if "@type" in data or "@context" in data or "@graph" in data:
            return True
        return any(_has_nodes(v, depth + 1) for v in data.values())
    if isinstance(data, list):
        return any(_has_nodes(v, depth + 1) for v in data)
    return False


def jsonld_blocks(tree: etree._Element, result: ExtractResult) -> list[Block]:
    blocks: list[Block] = []
    number = 0
    for script in tree.iter("script"):
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        number += 1
        raw = _strip_wrappers(script.text or "")
        if not raw:
            continue
        try:
            block = parse_block(raw)
        except ValueError as exc:
            result.errors.append(f"broken JSON-LD block {number}: {exc}; nothing recovered")
            continue
        if block.repaired:
            result.notes.append(
                Note("jsonld.repaired", f"JSON-LD block {number} repaired: {block.repaired}")
            )
        blocks.append(block)
    return blocks


def attested(value: object, text: str) -> bool:
    """Whether a string value read from a repaired block stands complete in its text: between
    quotes, as written or JSON-escaped. A repair may close a string cut off mid-way (a truncated
    block) or glue two fields into one; an event named or dated by such a string is not one the
    page published."""
    if not isinstance(value, str):
        # A repair that turned a string into a number or an object misread the block.
        return False
    if f'"{value}"' in text or f"'{value}'" in text:
        return True
    for escaped in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        if escaped in text:
            return True
    return False


def run_together(value: object, block: Block) -> bool:
    """Whether a value was read under a key the repaired block gave twice in one object."""
    return isinstance(value, str) and any(value.startswith(d) for d in block.doubtful)
