"""`feed`: RSS 2.0 and Atom feeds, one record per entry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawlers.extract.feed import extract_feed
from search_api.domain.sources import SourceFormat, SourceSpec

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider


class FeedOptions(BaseModel):
    """What to take from a broad feed (a journal's every act) for one topic."""

    model_config = ConfigDict(extra="forbid")
    keep: list[str] = Field(
        default_factory=list,
        description="regexes (case-insensitive): only entries whose title or summary matches "
        "one are kept; default: every entry",
    )
    drop: list[str] = Field(
        default_factory=list, description="regexes: entries whose title or summary matches go"
    )
    reference: str | None = Field(
        None,
        description="regex finding a requirement's legal reference in the entry's id, link or "
        "title (its first group, else the match): CELEX[:=](\\w+) for EUR-Lex",
    )

    @field_validator("keep", "drop")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            _compile(pattern)
        return v

    @field_validator("reference")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            _compile(v)
        return v


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc


class FeedSource(SourceSpec):
    format: Literal["feed"] = "feed"
    feed: FeedOptions | None = None


def _wanted(entry: dict[str, Any], options: FeedOptions) -> bool:
    text = f"{entry.get('title') or ''}\n{entry.get('summary') or ''}"
    if options.keep and not any(_compile(p).search(text) for p in options.keep):
        return False
    return not any(_compile(p).search(text) for p in options.drop)


def _reference(entry: dict[str, Any], pattern: str) -> str | None:
    for where in (entry.get("_key"), entry.get("url"), entry.get("title")):
        m = _compile(pattern).search(str(where or ""))
        if m:
            return (m.group(1) if m.groups() else m.group(0)).strip() or None
    return None


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    spec = spider.spec
    assert isinstance(spec, FeedSource)
    content_type = spider.content_type(response) or None
    result = extract_feed(response.body, response.url, spec.kind, content_type, spider.dates)
    for message in result.errors:
        spider.collector.add_error(response.url, message)
    spider.collector.failed += result.skipped
    options = spec.feed
    for entry in result.entries:
        problems = entry.pop("_problems", None) or []
        if options is not None:
            if not _wanted(entry, options):
                continue  # another topic's entry: not an error, not a record
            if options.reference and spec.kind == "requirement":
                entry = {**entry, "legal_reference": _reference(entry, options.reference)}
        for problem in problems:
            spider.collector.add_error(response.url, problem)
        yield {**entry, "_page": response.url}
    # Atom paging (RFC 5005): rel="next" on the feed.
    yield from spider.follow_links(response, result.next_url)


FORMAT = SourceFormat(
    name="feed",
    source=FeedSource,
    parse=parse,
    reads="RSS 2.0 and Atom entries: title, link, summary (plain text), published date (a "
    "requirement's `published_date`, else `as_of`), categories. A category that is a country "
    'code or name (EN/FR/ES) or a bloc becomes a market; "HS 19, 20" becomes hs_codes; a '
    'requirement type ("Étiquetage") or finance instrument ("Credit insurance") fills that '
    'field; other words map to sectors. Atom `rel="next"` pages are followed. `feed.keep` / '
    "`feed.drop` (regexes on title and summary) take one topic from a broad feed; "
    "`feed.reference` (a regex on the entry's id, link or title) gives a requirement's "
    "legal reference.",
)
