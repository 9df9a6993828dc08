"""`python -m crawlers.watch`: the change watch of curated records' official pages.

Fetches the official page (`url`) of every curated record of the watched kinds, politely (the
crawler's settings: robots.txt, the user agent, the SSRF guard, per-host delay and
concurrency), extracts its main text with trafilatura, and stores the reading
(search_api.store.watch): the first after the record's `as_of` is the baseline, a later one
that differs materially marks the record "the official page changed on DATE: check".
Prints one JSON line of counts on stdout. Run by the scheduler (`watch:pages`) and by
`tradepoint watch`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import scrapy
from pydantic import ValidationError
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.spiders.base import failure_message
from search_api.domain.records import AnyRecord, load_stored_record
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.changes import stored_fields
from search_api.store.watch import Reading, record_reading

log = logging.getLogger(__name__)

WATCHED_KINDS = ("finance", "requirement")
MIN_TEXT_CHARS = 40  # less main text than this is a consent wall or an empty shell, not a page


def main_text(html: str | bytes, url: str | None = None) -> str | None:
    """The page's main text (menus, footers, cookie banners left out), or None.

    trafilatura does what no few lines of ours would: boilerplate removal tuned on real pages.
    """
    import trafilatura

    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=True, favor_recall=True
    )
    if not text or len(text.strip()) < MIN_TEXT_CHARS:
        return None
    return str(text)


def watched_page(record: AnyRecord) -> str | None:
    """The page that states the record's facts: its `evidence_url` where the record has one
    (a programme's own page, not the provider's home page, which changes with every news
    item), else its official `url`."""
    for url in (getattr(record, "evidence_url", None), record.url):
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def checked_on(record: AnyRecord) -> Any:
    """When the record's facts were last checked against that page."""
    return getattr(record, "checked_on", None) or record.as_of


def watched_records(store: Store, kinds: Iterable[str] = WATCHED_KINDS) -> list[AnyRecord]:
    """Curated, not withdrawn records of `kinds` with an http(s) page to watch."""
    # Read as stored and decoded only when curated: a large store is almost all crawled
    # records, which validating one by one (~30 µs each) would cost for nothing.
    out: list[AnyRecord] = []
    for batch in store.iter_record_json(kinds=tuple(kinds), include_withdrawn=False):
        for _id, data in batch:
            if not stored_fields(data).get("curated_by"):  # {} for a row that is not JSON
                continue
            try:
                record = load_stored_record(data)
            except ValidationError:
                continue  # a broken record is listed by the agency's health, not watched
            if watched_page(record):
                out.append(record)
    return out


@dataclass
class WatchCollector:
    texts: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class WatchSpider(scrapy.Spider):
    name = "watch"

    def __init__(self, urls: list[str], collector: WatchCollector, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.collector = collector

    async def start(self) -> AsyncIterator[Any]:
        for url in self.urls:
            yield scrapy.Request(
                url, callback=self.read, errback=self.failed, dont_filter=True, meta={"url": url}
            )

    def read(self, response: Response) -> Iterable[Any]:
        url = response.meta["url"]
        if not hasattr(response, "text"):
            self.collector.errors[url] = "not an HTML page"
            return []
        text = main_text(response.text, response.url)
        if text is None:
            self.collector.errors[url] = "no main text found on the page"
        else:
            self.collector.texts[url] = text
        return []

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.meta.get("url", request.url) if request is not None else "?"
        limit = self.settings.getint("DOWNLOAD_MAXSIZE")
        self.collector.errors[url] = failure_message(failure.value, limit)[:500]


def fetch_texts(settings: Settings, urls: list[str]) -> WatchCollector:
    """Fetch `urls` with the crawler's settings (one reactor: call once per process)."""
    from crawlers.runner import run_spider
    from crawlers.settings import scrapy_settings

    collector = WatchCollector()
    options = scrapy_settings(settings)
    options["ITEM_PIPELINES"] = {}
    options["CLOSESPIDER_PAGECOUNT"] = 0  # the watch's own list bounds it
    run_spider(settings, options, WatchSpider, urls=urls, collector=collector)
    return collector


def run_watch(settings: Settings, kinds: Iterable[str] = WATCHED_KINDS) -> dict[str, int]:
    store = Store(settings.sqlalchemy_url)
    records = watched_records(store, kinds)
    urls = sorted({str(watched_page(r)) for r in records})
    collector = fetch_texts(settings, urls) if urls else WatchCollector()
    counts: dict[str, int] = {"records": len(records), "pages": len(urls)}
    for record in records:
        url = str(watched_page(record))
        reading = Reading(
            record_id=record.id,
            url=url,
            as_of=checked_on(record),
            text=collector.texts.get(url),
            error=collector.errors.get(url, "not fetched"),
        )
        outcome = record_reading(store, reading)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "changed":
            log.warning("official page changed: %s", url, extra={"record": record.id, "url": url})
    store.close()
    return counts


def main() -> int:
    settings = Settings()
    from search_api.logs import setup_logging

    setup_logging(settings)
    kinds = [k for k in (sys.argv[1:] or WATCHED_KINDS)]
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        counts = run_watch(settings, kinds)
    finally:
        sys.stdout = real_stdout
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
