"""Canonical URLs, so that one page reached several ways is stored once."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "canonicalise", "is_tracking_param", "with_scheme"]

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "igshid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "srsltid",
        "pk_campaign",
        "pk_kwd",
        "pk_source",
        "pk_medium",
        "pk_content",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left alone when re-quoting: the reserved set plus "%" so that
# existing escapes survive, which keeps canonicalise() idempotent.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/%:@!$&'()*+,;=-._~?"
_HOST_OK = re.compile(r"^[a-z0-9._~!$&'()*+,;=%-]+$|^\[[0-9a-f:.]+\]$")


# A first path segment that is a host: "www.x.org", "x.co.uk/fairs", "x.org:8080".
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_START = re.compile(rf"^({_LABEL}(?:\.{_LABEL})+)(?::\d+)?(?:[/?#]|$)", re.I)
# Endings of file names that a relative link ("fair.html") has and a host does not, even
# where the ending is also a top-level domain (.py, .md, .sh are countries' domains).
_FILE_ENDINGS = frozenset(
    {
        *("html", "htm", "shtml", "xhtml", "php", "asp", "aspx", "jsp", "cfm", "cgi", "pl"),
        *("py", "md", "sh", "xml", "json", "csv", "tsv", "ics", "pdf", "txt", "rss", "atom"),
        *("xls", "xlsx", "doc", "docx", "odt", "ods", "png", "jpg", "jpeg", "gif", "svg", "zip"),
    }
)


def with_scheme(url: str) -> str:
    """`url` with `https://` added when it is a scheme-less absolute URL ("www.workboatshow.com",
    "expo.co.ke/2027"), which would otherwise be joined to the page it was found on; any other
    text is returned as given. A host is recognised by `www.`, or by ending in a public suffix
    (the Public Suffix List, bundled by the `tld` package) that is not a file name's ending."""
    text = url.strip()
    if not text or "://" in text or text.startswith(("/", ".", "?", "#")):
        return url  # "//host/x" included: a base (or none) decides its scheme
    if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.I) and not _HOST_START.match(text):
        return url  # mailto:, tel:, javascript: ...
    m = _HOST_START.match(text)
    if not m:
        return url
    host = m.group(1).lower()
    suffix = host.rsplit(".", 1)[1]
    if host.startswith("www.") or (suffix not in _FILE_ENDINGS and _is_public_suffix(host)):
        return "https://" + text
    return url


def _is_public_suffix(host: str) -> bool:
    from tld import get_tld  # bundles the Public Suffix List: no network

    return get_tld(host, fix_protocol=True, fail_silently=True) is not None


def is_tracking_param(name: str) -> bool:
    key = unquote(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, so "/a/./b/../c" and "/a/c" are one URL.
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def canonicalise(url: str, base: str | None = None, *, href: bool = False) -> str | None:
    """Absolute, normalised http(s) URL without fragment or tracking params.

    A scheme-less absolute URL ("www.example.org") gets `https://` instead of being joined to
    `base` (see `with_scheme`): what a data field holds. With `href` (a link element's
    target), it is joined to `base` as a browser does: "agenda.info" on a page is a page of
    that site. Returns None for anything that is not a usable http(s) URL. Idempotent.
    """
    try:
        if not isinstance(url, str):
            return None
        url = url.strip()
        if not url or any(c in url for c in "\r\n\t\x00"):
            # embedded line breaks mean a template or scraping error, not a URL
            url = re.sub(r"[\r\n\t\x00]", "", url)
            if not url:
                return None
        if not href:
            url = with_scheme(url)
        if base:
            url = urljoin(base.strip(), url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return None
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        if ":" in host:  # IPv6 literal: urlsplit strips the brackets
            host = f"[{host}]"
        if not _HOST_OK.match(host):
            return None
        port = parts.port  # raises ValueError for junk ports
        netloc = host
        if parts.username is not None:
            userinfo = parts.username
            if parts.password is not None:
                userinfo += ":" + parts.password
            netloc = f"{userinfo}@{host}"
        if port is not None and port != _DEFAULT_PORTS[scheme]:
            netloc += f":{port}"
        path = quote(_remove_dot_segments(parts.path or "/"), safe=_PATH_SAFE)
        kept = [
            quote(piece, safe=_QUERY_SAFE)
            for piece in parts.query.split("&")
            if piece and not is_tracking_param(piece.split("=", 1)[0])
        ]
        return urlunsplit((scheme, netloc, path, "&".join(kept), ""))
    except (ValueError, TypeError, UnicodeError):
        return None
