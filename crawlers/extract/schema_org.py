"""schema.org Events from HTML: JSON-LD (our own tolerant parser), microdata and
RDFa (via extruct)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from crawlers.extract.events import SUMMARY_MAX, ExtractResult, finish_event, new_event
from crawlers.extract.language import first_language, page_language
from crawlers.normalise.countries import clean_city, split_location, to_country
from crawlers.normalise.dates import parse_date
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise

try:
    import jstyleson
except ImportError:  # pragma: no cover - extruct depends on it, but stay usable without
    jstyleson = None

__all__ = ["extract_events"]

log = logging.getLogger(__name__)

# Properties turned into event fields; everything else on an Event node is
# reported in `unmapped` so that new vocabulary on a source shows up.
_MAPPED = frozenset(
    {
        "name",
        "description",
        "url",
        "startDate",
        "endDate",
        "eventStatus",
        "eventAttendanceMode",
        "location",
        "organizer",
        "keywords",
        "category",
        "inLanguage",
    }
)
_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
_MAX_DEPTH = 40


def _decode(body: bytes | str, encoding: str | None) -> str:
    if isinstance(body, str):
        return body
    header = f"text/html; charset={encoding}" if encoding else None
    # w3lib follows the WHATWG rules: BOM, then header, then <meta charset>,
    # and maps ISO-8859-1 to windows-1252 as browsers do.
    _, text = html_to_unicode(header, bytes(body))
    return text


def _short(name: object) -> str:
    text = str(name).strip()
    for prefix in _SCHEMA_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _type_names(node: dict[str, Any]) -> list[str]:
    types = node.get("@type", node.get("type"))
    if not isinstance(types, list):
        types = [types]
    names = []
    for t in types:
        if isinstance(t, str) and t.strip():
            names.append(re.split(r"[/#:]", t.strip())[-1])
    return names


def _is_event(node: dict[str, Any]) -> bool:
    return any(name.endswith("Event") for name in _type_names(node))


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


# --------------------------------------------------------------------- JSON-LD


def _strip_wrappers(raw: str) -> str:
    text = raw.strip()
    text = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", text).strip()
    text = re.sub(r"^<!--|-->$", "", text).strip()
    return text


def _loads_tolerant(raw: str) -> Any:
    """json.loads, then again with comments and trailing commas removed (as
    real CMS templates emit). Raises the *first* error if both fail, since it
    points at the real problem."""
    try:
        return json.loads(raw, strict=False)
    except json.JSONDecodeError as first:
        if jstyleson is not None:
            try:
                return json.loads(jstyleson.dispose(raw), strict=False)
            except (json.JSONDecodeError, ValueError, IndexError):
                pass
        repaired = re.sub(r",\s*([}\]])", r"\1", raw)
        try:
            return json.loads(repaired, strict=False)
        except json.JSONDecodeError:
            raise first from None


def _jsonld_blocks(tree: etree._Element, errors: list[str]) -> list[Any]:
    blocks: list[Any] = []
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
            blocks.append(_loads_tolerant(raw))
        except json.JSONDecodeError as exc:
            errors.append(
                f"broken JSON-LD block {number}: {exc.msg} at line {exc.lineno} column {exc.colno}"
            )
        except (ValueError, RecursionError) as exc:
            errors.append(f"broken JSON-LD block {number}: {exc}")
    return blocks


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
            out["@type"] = [_short(t) for t in types]
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
        out[_short(key)] = compacted[0] if len(compacted) == 1 else compacted
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


# ------------------------------------------------------------- field mapping


def _first(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            if item not in (None, "", [], {}):
                return item
        return None
    return value


def _resolve(value: Any, ids: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and set(value) <= {"@id", "@type"}:
        node_id = value.get("@id")
        if isinstance(node_id, str) and node_id in ids:
            return ids[node_id]
    return value


def _name_of(value: Any, ids: dict[str, dict[str, Any]]) -> str | None:
    value = _resolve(_first(value), ids)
    if isinstance(value, dict):
        value = _first(value.get("name")) or _first(value.get("@value"))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean_text(value)
    return None


def _token(value: Any) -> str:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@id") or value.get("@value") or value.get("name")
    if not isinstance(value, str):
        return ""
    return re.sub(r"[^a-z]", "", _short(value).lower())


def _status(value: Any) -> str | None:
    token = _token(value)
    if not token:
        return None
    if "cancel" in token:
        return "cancelled"
    if "postpon" in token:
        return "postponed"
    if "reschedul" in token:
        return "rescheduled"
    if "movedonline" in token:
        return "moved_online"
    if "scheduled" in token or "onschedule" in token or "confirmed" in token:
        return "scheduled"
    return None


def _categories(node: dict[str, Any]) -> list[str]:
    cats: list[str] = []
    for key in ("keywords", "category"):
        value = node.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                item = _first(item.get("name"))
            if not isinstance(item, str):
                continue
            # keywords is a comma-separated text in schema.org
            pieces = item.split(",") if key == "keywords" else [item]
            for piece in pieces:
                cleaned = clean_text(piece, 200)
                if cleaned:
                    cats.append(cleaned)
    return cats


def _language_texts(value: Any, ids: dict[str, dict[str, Any]]) -> list[str]:
    """What an inLanguage says, in order: Text tags, and Language objects' code
    (`alternateName`) before their `name`."""
    texts: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        item = _resolve(item, ids)
        if isinstance(item, dict):
            for key in ("alternateName", "name", "@value"):
                found = item.get(key)
                texts += found if isinstance(found, list) else [found] if found else []
        elif item is not None:
            texts.append(item)
    return [t.strip() for t in texts if isinstance(t, str) and t.strip()]


def _in_language(value: Any, ids: dict[str, dict[str, Any]]) -> tuple[str | None, list[str]]:
    """The code of the first inLanguage value that is a language; else None and the
    values it gave, so that a tag that means nothing can be reported."""
    texts = _language_texts(value, ids)
    code = first_language(texts)
    return code, [] if code else texts


def _is_url(text: str) -> bool:
    return bool(re.match(r"^\s*https?://\S+\s*$", text, re.IGNORECASE))


def _apply_location(event: dict[str, Any], node: dict[str, Any], ids: dict[str, Any]) -> bool:
    """Fill venue/city/country; True when the event has a physical place."""
    raw = node.get("location")
    locations = raw if isinstance(raw, list) else [raw]
    physical: list[Any] = []
    virtual = False
    for loc in locations:
        loc = _resolve(loc, ids)
        if isinstance(loc, dict):
            if "VirtualLocation" in _type_names(loc):
                virtual = True
            else:
                physical.append(loc)
        elif isinstance(loc, str) and loc.strip():
            if _is_url(loc):
                virtual = True
            else:
                physical.append(loc)
    event["_virtual_only"] = virtual and not physical
    if not physical:
        return False
    place = physical[0]
    if isinstance(place, str):
        loc = split_location(clean_text(place) or "")
        event["venue"], event["city"], event["country"] = loc.venue, loc.city, loc.country
        return True
    venue = _name_of(place.get("name"), ids)
    address = _resolve(_first(place.get("address")), ids)
    if address is None and any(
        k in place for k in ("addressLocality", "addressCountry", "postalCode")
    ):
        address = place  # address fields written straight onto the Place
    if isinstance(address, dict):
        event["city"] = clean_city(clean_text(_first(address.get("addressLocality"))))
        event["country"] = to_country(address)
    elif isinstance(address, str):
        text = clean_text(address) or ""
        loc = split_location(text)
        event["city"], event["country"] = loc.city, loc.country
        if not venue or venue == text:
            # the Place name repeats the whole address ("Club, 1 Rd, City, ST")
            venue = loc.venue or venue
    event["venue"] = venue
    return True


def _event_from_node(node: dict[str, Any], ids: dict[str, Any]) -> dict[str, Any]:
    event = new_event()
    event["title"] = _name_of(node.get("name"), ids)
    description = _first(node.get("description"))
    if isinstance(description, str):
        event["summary"] = clean_text(description, SUMMARY_MAX)
    url = _first(node.get("url"))
    if isinstance(url, dict):
        url = url.get("@id")
    event["url"] = url if isinstance(url, str) else None  # resolved after merging
    event["start_date"] = parse_date(node.get("startDate"))
    event["end_date"] = parse_date(node.get("endDate"))
    status = _status(node.get("eventStatus"))
    event["status"] = status
    mode = _token(node.get("eventAttendanceMode"))
    has_place = _apply_location(event, node, ids)
    virtual_only = bool(event.pop("_virtual_only", False))
    online = "online" in mode and "mixed" not in mode
    event["online"] = online or (virtual_only and not has_place)
    event["organiser"] = _name_of(node.get("organizer"), ids)
    event["categories"] = _categories(node)
    event["language"], event["_bad_language"] = _in_language(node.get("inLanguage"), ids)
    event["unmapped"] = [k for k in node if not k.startswith("@") and k not in _MAPPED]
    return event


def _merge(base: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key in ("categories", "unmapped"):
            base[key] = base[key] + [v for v in value if v not in base[key]]
        elif key == "online":
            base[key] = base[key] or value
        elif base.get(key) in (None, "") and value not in (None, ""):
            base[key] = value


def _link_href(tree: etree._Element, tags: tuple[str, ...], rel: str) -> str | None:
    for el in tree.iter(*tags):
        rels = (el.get("rel") or "").lower().split()
        href = el.get("href")
        if rel in rels and href and href.strip():
            return href.strip()
    return None


def extract_events(body: bytes | str, url: str, encoding: str | None = None) -> ExtractResult:
    """Every schema.org Event (any subtype) on an HTML page. Never raises."""
    result = ExtractResult(events=[], errors=[])
    try:
        _extract_into(result, body, url, encoding)
    except Exception as exc:  # a bad page must never take down a crawl
        log.debug("schema.org extraction failed for %s", url, exc_info=True)
        result.errors.append(f"extraction failed: {type(exc).__name__}: {exc}"[:300])
    return result


def _extract_into(result: ExtractResult, body: bytes | str, url: str, encoding: str | None) -> None:
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
    result.canonical_url = canonicalise(canonical, base) if canonical else None
    next_href = _link_href(tree, ("link", "a"), "next")
    result.next_url = canonicalise(next_href, base) if next_href else None
    result.links = [
        urljoin(base, href.strip()) for el in tree.iter("a") if (href := el.get("href"))
    ]

    jsonld = _jsonld_blocks(tree, result.errors)
    ids: dict[str, dict[str, Any]] = {}
    _collect_ids(jsonld, ids)
    nodes: list[dict[str, Any]] = list(_walk_events(jsonld))
    # extruct parses the page again for each syntax (RDFa through rdflib, slowly): only ask it
    # when the markup is there at all. Microdata needs `itemscope`; an RDFa event needs `typeof`.
    if tree.xpath("boolean(//*[@itemscope])"):
        nodes.extend(_walk_events(_extruct(data, base, "microdata", result.errors)))
    if tree.xpath("boolean(//*[@typeof])"):
        nodes.extend(_rdfa_events(_extruct(data, base, "rdfa", result.errors)))

    page_url = result.canonical_url or canonicalise(url) or url
    page_lang = page_language(tree)
    merged: dict[tuple[str | None, Any], dict[str, Any]] = {}
    for number, node in enumerate(nodes, start=1):
        event = _event_from_node(node, ids)
        bad_language = event.pop("_bad_language")
        # an event nobody can name or date cannot be listed; say so, for drift
        if event["title"] is None:
            result.errors.append(f"event #{number} skipped: no name")
            continue
        if event["start_date"] is None:
            result.errors.append(f"event {event['title']!r} skipped: no usable startDate")
            continue
        if bad_language:
            note = (
                f"event {event['title']!r}: inLanguage {', '.join(bad_language)!r} "
                "is not a language; ignored"
            )
            if note not in result.errors:  # the same event in several syntaxes: say it once
                result.errors.append(note)
        # the same event is often published in several syntaxes on one page
        key = ((event["title"] or "").casefold(), event["start_date"])
        if key in merged:
            _merge(merged[key], event)
        else:
            merged[key] = event
    for event in merged.values():
        own = event["url"]
        event["url"] = (canonicalise(own, base) if own else None) or page_url
        # the page's language is a default: an event may say it is in another one
        event["language"] = event["language"] or page_lang
        result.events.append(finish_event(event))
