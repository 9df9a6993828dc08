"""Refuse requests to loopback, private, link-local and cloud-metadata addresses.

Every request passes here, redirects included (Scrapy re-schedules a redirect as a new request),
so a public URL that redirects to 169.254.169.254 is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

METADATA_HOSTS = {"metadata.google.internal", "metadata"}


class PrivateHostRefused(IgnoreRequest):
    pass


def is_public_address(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def refused_reason(url: str) -> str | None:
    """Why `url` must not be fetched, or None when it may be."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None  # local files are allowed only for sources added by the operator (CLI)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "no host in URL"
    if host in METADATA_HOSTS or host.endswith(".internal"):
        return f"host {host} is a cloud metadata or internal name"
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        addr = str(info[4][0])
        if not is_public_address(addr):
            return f"{host} resolves to non-public address {addr}"
    return None


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
