"""Extraction: records from the bytes of one page, feed, calendar, table or document.

Pure functions: no Scrapy, no network, never raise on bad input.
"""

from crawlers.extract.events import EVENT_KEYS, STATUSES, ExtractResult, finish_event, new_event
from crawlers.extract.ical import extract_ical
from crawlers.extract.schema_org import extract_events

__all__ = [
    "EVENT_KEYS",
    "STATUSES",
    "ExtractResult",
    "extract_events",
    "extract_ical",
    "finish_event",
    "new_event",
]
