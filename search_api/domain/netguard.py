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


def is_public_address(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
