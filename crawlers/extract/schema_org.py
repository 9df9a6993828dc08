"""schema.org Events from HTML: JSON-LD (repaired with json-repair when broken), microdata and
RDFa (via extruct)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from crawlers.extract.events import ExtractResult, Note, finish_event
from crawlers.extract.jsonld import Block, attested, jsonld_blocks, run_together
from crawlers.extract.language import page_language
from crawlers.extract.page_context import page_hints
from crawlers.extract.schema_fields import event_from_node, first, short, type_names
from crawlers.normalise.dates import DateReading
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise

__all__ = ["extract_events"]

log = logging.getLogger(__name__)

_MAX_DEPTH = 40
# Event types that are not listings of something to attend: the publication of a video or a
# broadcast ("publication": {"@type": "BroadcastEvent"} on every video page), a delivery.
_NOT_LISTINGS = frozenset({"publicationevent", "broadcastevent", "ondemandevent", "deliveryevent"})
# Event subtypes whose names do not end in "Event".
_OTHER_EVENT_TYPES = frozenset({"festival", "hackathon"})


def _decode(body: bytes | str, encoding: str | None) -> str:
    if isinstance(body, str):
        return body
    header = f"text/html; charset={encoding}" if encoding else None
    # w3lib follows the WHATWG rules: BOM, then header, then <meta charset>,
    # and maps ISO-8859-1 to windows-1252 as browsers do.
    _, text = html_to_unicode(header, bytes(body))
    return text


def _is_event(node: dict[str, Any]) -> bool:
    # Case aside: "@type": "event" is seen too.
    names = [name.lower() for name in type_names(node)]
    if any(name in _NOT_LISTINGS for name in names):
        return False
    return any(name.endswith("event") or name in _OTHER_EVENT_TYPES for name in names)


def _walk_events(node: object, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_events(item, depth + 1)
    elif isinstance(node, dict):
        if _is_event(node):
            # an Event's own sub-objects (superEvent, subEvent) are not
            # listings of their own on this page
            yield node
            return
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _walk_events(value, depth + 1)


def _collect_ids(node: object, ids: dict[str, dict[str, Any]], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            _collect_ids(item, ids, depth + 1)
    elif isinstance(node, dict):
        node_id = node.get("@id")
        if isinstance(node_id, str) and len(node) > 1:
            ids.setdefault(node_id, node)
        for value in node.values():
            if isinstance(value, dict | list):
                _collect_ids(value, ids, depth + 1)


# ------------------------------------------------------------- microdata, RDFa


def _extruct(data: bytes, base: str, syntax: str, errors: list[str]) -> list[Any]:
    # Imported here: extruct and its parsers take ~0.2 s to import, and most pages (and so most
    # crawl processes) carry JSON-LD only.
    import extruct

    try:
        out = extruct.extract(
            data,
            base_url=base,
            encoding="utf-8",
            syntaxes=[syntax],
            uniform=True,
            errors="strict",
        )
        items = out.get(syntax, [])
        return items if isinstance(items, list) else []
    except Exception as exc:  # extruct raises whatever its parsers raise
        errors.append(f"{syntax} extraction failed: {type(exc).__name__}: {exc}"[:300])
        return []


def _compact_rdfa(
    node: dict[str, Any], nodes: dict[str, dict[str, Any]], seen: frozenset[str]
) -> dict[str, Any]:
    """Expanded JSON-LD (extruct's RDFa output) to the compact shape JSON-LD
    and microdata give us, resolving blank-node references."""
    out: dict[str, Any] = {}
    for key, values in node.items():
        if key == "@id":
            out["@id"] = values
            continue
        if key == "@type":
            types = values if isinstance(values, list) else [values]
            out["@type"] = [short(t) for t in types]
            continue
        compacted: list[Any] = []
        for item in values if isinstance(values, list) else [values]:
            if isinstance(item, dict) and "@value" in item:
                compacted.append(item["@value"])
            elif isinstance(item, dict) and "@id" in item:
                ref_id = item["@id"]
                ref = nodes.get(ref_id)
                if ref is not None and ref_id not in seen:
                    compacted.append(_compact_rdfa(ref, nodes, seen | {ref_id}))
                else:
                    compacted.append(ref_id)
            else:
                compacted.append(item)
        out[short(key)] = compacted[0] if len(compacted) == 1 else compacted
    return out


def _rdfa_events(items: list[Any]) -> list[dict[str, Any]]:
    nodes = {n["@id"]: n for n in items if isinstance(n, dict) and isinstance(n.get("@id"), str)}
    events = []
    for node in items:
        if not isinstance(node, dict):
            continue
        compact = _compact_rdfa(node, nodes, frozenset({str(node.get("@id"))}))
        if _is_event(compact):
            events.append(compact)
    return events


def _link_href(tree: etree._Element, tags: tuple[str, ...], rel: str) -> str | None:
    for el in tree.iter(*tags):
        rels = (el.get("rel") or "").lower().split()
        href = el.get("href")
        if rel in rels and href and href.strip():
            return href.strip()
    return None


def extract_events(
    body: bytes | str,
    url: str,
    encoding: str | None = None,
    *,
    reading: DateReading | None = None,
) -> ExtractResult:
    """Every schema.org Event (any subtype) on an HTML page. Never raises.

    `reading` is how the source writes its dates:
    how dates that are not ISO 8601 are written ("03/04/2027"), and the zone UTC times are read
    in when the event names none."""
    result = ExtractResult(events=[], errors=[])
    try:
        reading = reading or DateReading()
        _extract_into(result, body, url, encoding, reading)
    except Exception as exc:  # a bad page must never take down a crawl
        log.debug("schema.org extraction failed for %s", url, exc_info=True)
        result.errors.append(f"extraction failed: {type(exc).__name__}: {exc}"[:300])
    return result


def _merge(base: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key == "_notes":
            base[key] = base[key] + [n for n in value if n not in base[key]]
        elif key in ("categories", "unmapped"):
            base[key] = base[key] + [v for v in value if v not in base[key]]
        elif key == "online":
            base[key] = base[key] or value
        elif base.get(key) in (None, "") and value not in (None, ""):
            base[key] = value


def _same_title(title: str | None) -> str:
    """A title as compared across syntaxes: case, accents, punctuation and spacing aside."""
    return re.sub(r"\W+", " ", (clean_text(title) or "").casefold()).strip()


class _Events:
    """Events of one page, the same event given in several syntaxes (or twice in one) merged:
    same title and start, or same own URL and start."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._by_key: dict[tuple[str, Any], dict[str, Any]] = {}

    def add(self, event: dict[str, Any]) -> bool:
        keys = [("title", _same_title(event["title"]), event["start_date"])]
        if event["url"]:
            keys.append(("url", event["url"].strip(), event["start_date"]))
        for key in keys:
            found = self._by_key.get(key)  # type: ignore[arg-type]
            if found is not None:
                _merge(found, event)
                for other in keys:
                    self._by_key.setdefault(other, found)  # type: ignore[arg-type]
                return False
        self.events.append(event)
        for key in keys:
            self._by_key[key] = event  # type: ignore[index]
        return True


def _nodes(
    tree: etree._Element, data: bytes, base: str, result: ExtractResult
) -> tuple[list[tuple[dict[str, Any], Block | None]], dict[str, dict[str, Any]]]:
    """The page's Event nodes (with the JSON-LD block each came from) and every node with an
    @id, to resolve references."""
    blocks = jsonld_blocks(tree, result)
    ids: dict[str, dict[str, Any]] = {}
    _collect_ids([b.data for b in blocks], ids)
    nodes: list[tuple[dict[str, Any], Block | None]] = []
    seen: set[str] = set()
    for block in blocks:
        for node in _walk_events(block.data):
            node_id = node.get("@id")
            if isinstance(node_id, str):
                # a reference to an Event ({"@id", "@type"} only) stands for the full node
                full = ids.get(node_id)
                if full is not None and set(node) <= {"@id", "@type"}:
                    node = full
                if node_id in seen:
                    continue
                seen.add(node_id)
            nodes.append((node, block))
    # extruct parses the page again for each syntax (RDFa through rdflib, slowly): only ask it
    # when the markup is there at all. Microdata needs `itemscope`; an RDFa event needs `typeof`.
    if tree.xpath("boolean(//*[@itemscope])"):
        # The value of a <time> is its datetime attribute, else its text (HTML's microdata
        # rules); extruct reads only the attribute, so "<time itemprop=startDate>Sa., 18. Nov.
        # 2023</time>" would give no date. Write the text into the attribute first.
        bare = tree.xpath("//time[@itemprop and not(@datetime)]")
        for el in bare:
            el.set("datetime", " ".join(el.text_content().split()))
        if bare:
            data = lxml.html.tostring(tree, encoding="utf-8")
        items = _extruct(data, base, "microdata", result.errors)
        _collect_ids(items, ids)
        nodes.extend((n, None) for n in _walk_events(items))
    if tree.xpath("boolean(//*[@typeof])"):
        nodes.extend((n, None) for n in _rdfa_events(_extruct(data, base, "rdfa", result.errors)))
    return nodes, ids


def _extract_into(
    result: ExtractResult,
    body: bytes | str,
    url: str,
    encoding: str | None,
    reading: DateReading,
) -> None:
    if body is None:
        result.errors.append("empty document")
        return
    text = _decode(body, encoding)
    if not text.strip():
        result.errors.append("empty document")
        return
    # lxml refuses str input that carries an XML encoding declaration; feeding
    # it UTF-8 bytes with the encoding stated sidesteps that and the charset
    # <meta>, which no longer applies once we have decoded text.
    data = text.replace("\x00", "").encode("utf-8", errors="replace")
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        result.errors.append(f"unparsable HTML: {exc}")
        return

    base = url
    base_href: str | None = None
    for el in tree.iter("base"):
        if el.get("href"):
            base_href = el.get("href")
            break
    if base_href:
        base = urljoin(url, base_href.strip())
    canonical = _link_href(tree, ("link",), "canonical")
    result.canonical_url = canonicalise(canonical, base, href=True) if canonical else None
    next_href = _link_href(tree, ("link", "a"), "next")
    result.next_url = canonicalise(next_href, base, href=True) if next_href else None
    result.links = [
        urljoin(base, href.strip()) for el in tree.iter("a") if (href := el.get("href"))
    ]

    nodes, ids = _nodes(tree, data, base, result)
    page_url = result.canonical_url or canonicalise(url) or url
    page_lang = page_language(tree)
    hints = page_hints(tree, result.canonical_url or url)
    found = _Events()
    said: set[str] = set()  # date problems reported
    for number, (node, block) in enumerate(nodes, start=1):
        notes: list[Note] = []
        event = event_from_node(node, ids, hints, notes, reading)
        bad_language = event.pop("_bad_language")
        date_problems: list[str] = event.pop("_date_problems")
        # an event nobody can name or date cannot be listed; say so, for drift
        if event["title"] is None:
            result.errors.append(f"event #{number} skipped: no name")
            continue
        if event["start_date"] is None:
            why = next(
                (p for p in date_problems if p.startswith("startDate")), "no usable startDate"
            )
            result.errors.append(f"event {event['title']!r} skipped: {why}")
            continue
        for problem in date_problems:
            message = f"event {event['title']!r}: {problem}; left out"
            if message not in said:  # the same event in several syntaxes: once
                said.add(message)
                result.errors.append(message)
        if block is not None and block.repaired:
            # Only what the page wrote whole: a repair never invents an event.
            cut = [
                key
                for key in ("name", "startDate")
                if not attested(value := first(node.get(key)), block.text)
                or run_together(value, block)
            ]
            if cut:
                result.errors.append(
                    f"event {event['title']!r} skipped: its {' and '.join(cut)} in the "
                    "repaired JSON-LD block is not as written (cut off or run together)"
                )
                continue
        if bad_language:
            note = (
                f"event {event['title']!r}: inLanguage {', '.join(bad_language)!r} "
                "is not a language; ignored"
            )
            if note not in result.errors:  # the same event in several syntaxes: say it once
                result.errors.append(note)
        event["url"] = (canonicalise(event["url"], base) if event["url"] else None) or None
        event["_notes"] = notes
        found.add(event)
    for event in found.events:
        event["url"] = event["url"] or page_url
        # the page's language is a default: an event may say it is in another one
        event["language"] = event["language"] or page_lang
        event_notes: list[Note] = event.pop("_notes")
        result.events.append(finish_event(event, event_notes))
        for event_note in event_notes:
            if event_note not in result.notes:  # the same event in several syntaxes: once
                result.notes.append(event_note)
