"""The crawler's DNS resolver: the address a name resolves to is checked where it is used.

`PrivateHostGuard` (middlewares.py) checks each URL before its request leaves, but resolving
the name there and again for the connection leaves a gap: a name can answer a public address
to the check and 127.0.0.1 to the connection (DNS rebinding). This resolver is the one the
connection uses, so the checked answer is the connected one.
"""

from __future__ import annotations

from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from search_api.domain.netguard import is_public_address


class NonPublicAddress(DNSLookupError):
    """A name that resolved to a loopback, private or link-local address."""


def checked(name: str, address: str) -> str:
    if not is_public_address(address):
        raise NonPublicAddress(f"refused {name}: it resolves to non-public address {address}")
    return address


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to non-public addresses."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        return super().getHostByName(name, timeout).addCallback(lambda addr: checked(name, addr))
