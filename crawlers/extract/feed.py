"""Entries of RSS 2.0 and Atom feeds (feedparser) as record fields. Pure: no Scrapy, no network.

Categories carry most of what a feed says about an entry beyond its text, so each one is read
as, in order: HS codes ("HS 19, 20"), a market (a country code or an English, French or Spanish
name, or a bloc), a term of the kind's vocabulary (requirement type, finance instrument), a
sector. A category none of these take is reported as unmapped.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import re
import time
from dataclasses import dataclass, field
from typing import Any

import feedparser

from crawlers.extract.language import first_language
from crawlers.normalise.dates import DateReading
from crawlers.normalise.sectors import map_sectors
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise
from crawlers.normalise.values import hs_from_category, markets_of, split_list
from crawlers.normalise.vocab_map import map_choice

__all__ = ["FeedResult", "categorise", "extract_feed"]

SUMMARY_MAX = 5000
TITLE_MAX = 500
# A title-less entry (microblog-style feeds) is named by the start of its text.
TITLE_FROM_SUMMARY = 120

# Bozo reasons that say nothing about the content: the entries are as good as ever.
_HARMLESS = tuple(
    cls
    for cls in (
        getattr(feedparser, "CharacterEncodingOverride", None),
        getattr(feedparser, "NonXMLContentType", None),
    )
    if cls is not None
)


@dataclass
class FeedResult:
    entries: list[dict[str, Any]]
    errors: list[str] = field(default_factory=list)
    next_url: str | None = None
    version: str = ""
    skipped: int = 0
    """Entries that could not become an item (each also has an error)."""


def categorise(categories: list[str], kind: str) -> dict[str, list[str]]:
    """markets, hs_codes, sectors, the kind's vocabulary terms and what is left (`unmapped`)."""
    out: dict[str, list[str]] = {
        "markets": [],
        "hs_codes": [],
        "sectors": [],
        "requirement_type": [],
        "instruments": [],
        "unmapped": [],
    }

    def add(key: str, values: list[str]) -> None:
        out[key] += [v for v in values if v not in out[key]]

    for category in categories:
        hs = hs_from_category(category)
        if hs:
            add("hs_codes", hs)
            continue
        for part in split_list(category):
            markets, _ = markets_of(part)
            if markets:
                add("markets", markets)
                continue
            vocab = {"requirement": "requirement_type", "finance": "instruments"}.get(kind)
            term = map_choice(vocab, part) if vocab else None
            if term:
                add(vocab, [term])  # type: ignore[arg-type]
                continue
            sectors, _ = map_sectors([part])
            if sectors:
                add("sectors", sectors)
            else:
                add("unmapped", [f"category: {part}"])
    return out


def _entry_date(
    entry: Any, *names: str, reading: DateReading, problems: list[str]
) -> dt.date | None:
    """The calendar date as the feed wrote it; feedparser's parsed form (UTC) only as a fallback,
    because converting "Fri, 24 Jan 2025 23:30 -0500" to UTC moves it to the next day. With the
    source's time zone, a time with an offset becomes its date in that zone; with its order, a
    date that is not RFC 822 or ISO 8601 ("03/04/2027") is read in that order."""
    said: set[str] = set()
    for name in names:
        raw = entry.get(name)
        if not raw:
            continue
        date, wrong_order = reading.read(raw)
        if wrong_order:
            # Not read another way (feedparser's guess) either: the source said its order.
            # feedparser copies an RSS pubDate into `updated`: the same text is said once.
            if str(raw) not in said:
                problems.append(f"{name}: {wrong_order}; left out")
                said.add(str(raw))
            continue
        if date is None:
            try:
                date = reading.read(email.utils.parsedate_to_datetime(str(raw))).date
            except (TypeError, ValueError, IndexError):
                date = None
        if date is None:
            # feedparser reads more forms than we do, but fills what the text lacks: midnight
            # UTC for a date alone (which a zone west of UTC would move to the day before) and
            # day 1 for "2027-03". Its date only, and only when the text names that day.
            parsed = entry.get(f"{name}_parsed")
            if isinstance(parsed, time.struct_time) and re.search(
                rf"(?<!\d)0?{parsed.tm_mday}(?!\d)", str(raw)
            ):
                date = reading.read(dt.date(*parsed[:3])).date
        if date is not None:
            return date
    return None


def _categories(entry: Any) -> list[str]:
    out: list[str] = []
    for tag in entry.get("tags") or []:
        term = (tag.get("term") or tag.get("label") or "").strip()
        if term and term not in out:
            out.append(term)
    return out


def _entry_language(entry: Any) -> str | None:
    """What the entry says of its own language: `dc:language`, else the `xml:lang` feedparser
    gives each text of an Atom entry (inherited from the feed when the entry sets none)."""
    said: list[object] = [entry.get("language")]
    for name in ("title_detail", "summary_detail"):
        detail = entry.get(name)
        said.append(detail.get("language") if isinstance(detail, dict) else None)
    said += [c.get("language") for c in entry.get("content") or [] if isinstance(c, dict)]
    return first_language(said)


def _entry(
    entry: Any,
    base: str,
    kind: str,
    language: str | None,
    reading: DateReading,
    problems: list[str],
) -> dict[str, Any]:
    summary_html = entry.get("summary")
    if not summary_html and entry.get("content"):
        summary_html = entry["content"][0].get("value")
    summary = clean_text(summary_html, SUMMARY_MAX)
    title = clean_text(entry.get("title"), TITLE_MAX) or clean_text(summary, TITLE_FROM_SUMMARY)
    link = entry.get("link") or next(
        (lk.get("href") for lk in entry.get("links") or [] if lk.get("rel") == "alternate"), None
    )
    url = canonicalise(link, base) if link else None

    def dated(*names: str) -> dt.date | None:
        return _entry_date(entry, *names, reading=reading, problems=problems)

    published = dated("published", "updated", "created")
    item: dict[str, Any] = {"title": title, "summary": summary, "url": url}
    language = _entry_language(entry) or language
    if language:
        item["language"] = language
    if kind == "requirement":
        item["published_date"] = published
    elif kind == "fair":
        # The RSS event module says when a fair happens; the publication date never does.
        item["start_date"] = dated("ev_startdate")
        item["end_date"] = dated("ev_enddate")
        item["as_of"] = published
    else:
        item["as_of"] = published
    found = categorise(_categories(entry), kind)
    for key in ("markets", "hs_codes", "sectors", "instruments"):
        item[key] = found[key]
    if found["requirement_type"]:
        item["requirement_type"] = found["requirement_type"][0]
        found["unmapped"] += [f"category: {t}" for t in found["requirement_type"][1:]]
    item["categories"] = _categories(entry)
    item["unmapped"] = found["unmapped"]
    # The entry id (RSS guid, Atom id) survives edits of the title and link; then the link.
    natural = entry.get("id") or entry.get("guid") or url or f"{title}|{published}"
    item["_key"] = f"feed:{natural}"
    return item


def extract_feed(
    body: bytes,
    url: str,
    kind: str,
    content_type: str | None = None,
    reading: DateReading | None = None,
) -> FeedResult:
    """Entries of the feed in `body` as record fields of `kind`. Never raises.
    `reading`: the source's `date_order` and `time_zone`."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # A stream, never bytes: feedparser opens bytes that name a local file ("/etc/passwd")
        # and would read that file in place of the body a hostile server sent.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser is lenient, but a parser bug must not end the run
        return FeedResult([], [f"not a readable feed: {type(exc).__name__}: {exc}"])
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and isinstance(problem, _HARMLESS):
        problem = None
    result = FeedResult([], version=parsed.get("version") or "")
    if not parsed.entries:
        if problem is not None:
            result.errors.append(f"not a readable RSS or Atom feed: {problem}")
        elif not result.version:
            result.errors.append("not an RSS or Atom feed (no channel or feed element)")
        return result
    if problem is not None:
        result.errors.append(
            f"feed is not well-formed XML ({problem}); {len(parsed.entries)} entries read anyway"
        )
    feed = parsed.get("feed") or {}
    # RSS <language>, or the Atom feed's xml:lang; a tag that names no language is no default
    language = first_language([feed.get("language")])
    for n, entry in enumerate(parsed.entries, 1):
        problems: list[str] = []
        try:
            item = _entry(entry, url, kind, language, reading or DateReading(), problems)
        except Exception as exc:  # one odd entry must not cost the others
            result.errors.append(f"entry #{n}: {type(exc).__name__}: {exc}")
            result.skipped += 1
            continue
        if not item["title"]:
            result.errors.append(f"entry #{n} has neither a title nor any text; skipped")
            result.skipped += 1
            continue
        # Said by the format, for the entries it keeps (feed.keep / feed.drop).
        item["_problems"] = [f"entry {item['title']!r}: {problem}" for problem in problems]
        result.entries.append(item)
    for link in feed.get("links") or []:
        if link.get("rel") == "next" and link.get("href"):
            result.next_url = canonicalise(link["href"], url, href=True)
    return result
