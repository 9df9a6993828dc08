"""Refuse requests to loopback, private, link-local and cloud-metadata addresses.

Every request passes here, redirects included (Scrapy re-schedules a redirect as a new request),
so a public URL that redirects to 169.254.169.254 is refused too.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

# One address check for the whole service (webhook deliveries use it too); re-exported here.
from search_api.domain.netguard import METADATA_HOSTS, is_public_address, refused_reason

__all__ = [
    "METADATA_HOSTS",
    "PrivateHostGuard",
    "PrivateHostRefused",
    "is_public_address",
    "refused_reason",
]


class PrivateHostRefused(IgnoreRequest):
    pass


class PrivateHostGuard:
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateHostGuard:
        return cls(crawler.settings.getbool("TRADEPOINT_ALLOW_PRIVATE_HOSTS"))

    def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        if self.allow_private:
            return None
        reason = refused_reason(request.url)
        if reason:
            raise PrivateHostRefused(f"refused {request.url}: {reason}")
        return None
