"""Class: requests the service makes on someone else's behalf (crawls, previews, webhooks) must
never reach loopback, private, link-local or metadata addresses, however the address is
written or however the name's DNS answers change between check and connection."""

from __future__ import annotations

import pytest
from twisted.internet.error import DNSLookupError

from crawlers.resolver import GuardedResolver, NonPublicAddress, checked
from crawlers.settings import scrapy_settings
from search_api.domain.netguard import is_public_address, pinned, refused_reason
from search_api.settings import Settings


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::7f00:1",  # IPv4-compatible (deprecated, still routed by some stacks)
        "64:ff9b::7f00:1",  # NAT64 well-known prefix to 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 to the cloud metadata address
        "64:ff9b:1::a00:1",  # NAT64 local-use prefix to 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_every_spelling_of_a_private_address_is_refused(address: str) -> None:
    assert not is_public_address(address)
    literal = f"[{address.split('%')[0]}]" if ":" in address else address
    assert refused_reason(f"http://{literal}/x") is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_pass_in_any_spelling(address: str) -> None:
    assert is_public_address(address)


def test_the_crawler_checks_the_address_its_connection_uses() -> None:
    # DNS rebinding: the resolver the connection uses refuses non-public answers itself.
    assert checked("example.org", "93.184.216.34") == "93.184.216.34"
    with pytest.raises(NonPublicAddress, match=r"refused evil\.example: it resolves to non-public"):
        checked("evil.example", "127.0.0.1")
    assert issubclass(NonPublicAddress, DNSLookupError)  # reported like any failed lookup
    guarded = scrapy_settings(Settings(allow_private_hosts=False))
    assert guarded["DNS_RESOLVER"] == "crawlers.resolver.GuardedResolver"
    assert "DNS_RESOLVER" not in scrapy_settings(Settings(allow_private_hosts=True))
    assert callable(GuardedResolver.getHostByName)


def test_webhooks_connect_to_the_address_they_checked() -> None:
    assert pinned("https://8.8.8.8:8443/hook?x=1") == ("https://8.8.8.8:8443/hook?x=1", "8.8.8.8")
    assert pinned("https://[2606:4700::1111]/hook") == (
        "https://[2606:4700::1111]/hook",
        "2606:4700::1111",
    )
    assert "non-public" in str(pinned("http://localhost:9/hook"))
    assert "non-public" in str(pinned("http://[64:ff9b::7f00:1]/hook"))
