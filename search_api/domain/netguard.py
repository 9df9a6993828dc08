"""Which addresses the service may send requests to: never loopback, private, link-local,
multicast or cloud-metadata ones (server-side request forgery), unless the operator allows
private hosts (`TRADEPOINT_ALLOW_PRIVATE_HOSTS`, tests and the demo).

The crawler checks every request it makes here, redirects included; webhook deliveries check
their URL when it is registered and again before every attempt (a name may resolve elsewhere
later).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata"})


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052, RFC 8215)
# and the deprecated IPv4-compatible form. A gateway forwards them to that IPv4 address, so
# [64:ff9b::7f00:1] is 127.0.0.1 for the purpose of what we may fetch.
_V4_IN_LAST_32_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002::/16 (6to4)
        return ip.sixtofour
    if any(ip in net for net in _V4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(addr: str) -> bool:
    """True for an address on the public internet, IPv4 embedded in IPv6 judged by the IPv4."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])  # an IPv6 zone index names no host
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded.is_global and not embedded.is_multicast
    return ip.is_global and not ip.is_multicast


def pinned(url: str) -> tuple[str, str] | str:
    """`url` with its host replaced by the public address it resolves to, and the host name
    (for the Host header and TLS server name) — or why it must not be fetched. Connecting to
    the checked address, not the name, leaves no gap for a second, different DNS answer."""
    reason = refused_reason(url)
    if reason:
        return reason
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        address = str(
            socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)[0][4][0]
        )
    except (OSError, UnicodeError, ValueError) as exc:
        return f"cannot resolve {host}: {exc}"
    if not is_public_address(address):  # the answer changed since refused_reason asked
        return f"{host} resolves to non-public address {address}"
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl(), host


def refused_reason(url: str) -> str | None:
    """Why `url` must not be fetched, or None when it may be. `file:` URLs pass: only the
    operator can give them (sources added from the command line); callers that take URLs
    from others check the scheme first."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "no host in URL"
    if host in METADATA_HOSTS or host.endswith(".internal"):
        return f"host {host} is a cloud metadata or internal name"
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve {host}: {exc}"
    except ValueError as exc:  # a port out of range
        return f"bad address: {exc}"
    for info in infos:
        addr = str(info[4][0])
        if not is_public_address(addr):
            return f"{host} resolves to non-public address {addr}"
    return None
