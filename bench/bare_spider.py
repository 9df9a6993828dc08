"""Baseline for the crawl benchmark: a bare Scrapy spider that follows the same links and
parses the same JSON-LD, with nothing else (no validation, normalisation, store or index).

    python -m bench.bare_spider START_URL CONCURRENCY
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, start_url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.start_urls = [start_url]
        self.events = 0

    def parse(self, response: scrapy.http.Response) -> Iterator[Any]:
        for raw in response.css('script[type="application/ld+json"]::text').getall():
            data = json.loads(raw)
            self.events += len(data) if isinstance(data, list) else 1
        for href in response.css("a::attr(href)").getall():
            if "/fairs/" in response.urljoin(href):
                yield response.follow(href, self.parse)


def main() -> None:
    start, concurrency = sys.argv[1], int(sys.argv[2])
    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "ROBOTSTXT_OBEY": True,
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
        }
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, start_url=start)
    process.start()
    print(json.dumps({"events": crawler.spider.events}))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
