"""iCalendar (.ics) feeds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response

from crawlers.extract.ical import extract_ical
from crawlers.spiders.base import SourceSpider


class IcalSpider(SourceSpider):
    name = "ical"

    def parse_page(self, response: Response) -> Iterable[Any]:
        result = extract_ical(response.body, response.url)
        for message in result.errors:
            self.collector.add_error(response.url, message)
        for event in result.events:
            # A UID identifies an event across edits; without one, its title and start do.
            key = event.get("uid") or f"{event.get('title')}|{event.get('start_date')}"
            yield {**event, "_key": f"uid:{key}", "_page": response.url}
