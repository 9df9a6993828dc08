"""What an HTML page says about where it is, for events whose address does not name a country:
a `geo.region` meta tag (ISO 3166-2, "DE-SN"), the country code top-level domain of its host,
the region of its declared language ("de-DE", `og:locale` "fr_CA").

These are hints, never a country on their own: they settle a postal code of their country's
shape, or an ambiguous region code, in an event's address. Only `geo.region`, which names the
page's place, also places an event with a physical location and no other evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pycountry
from lxml import etree

from crawlers.normalise.places import subdivision_country

__all__ = ["PageHints", "page_hints"]

# Country-code domains used as generic ones ("example.io", "site.co", "stream.tv").
_GENERIC_CCTLDS = frozenset(
    {"io", "co", "tv", "me", "ai", "fm", "ly", "to", "cc", "ws", "nu", "gg", "so", "sh", "ac"}
)
_TLD_ALIASES = {"uk": "GB"}
# CMSs declare en-US by default whatever the site: it says nothing about where a site is.
_DEFAULT_LOCALES = frozenset({"en-us"})


@dataclass(frozen=True)
class PageHints:
    country: str | None = None  # the best hint
    source: str = ""  # what said so: "geo.region DE-SN", "domain .de", "lang de-DE"
    region_country: str | None = None  # the country of a geo.region meta tag
    region: str = ""  # that tag as written


def _alpha2(code: str) -> str | None:
    code = _TLD_ALIASES.get(code.lower(), code.upper())
    if not re.fullmatch(r"[A-Z]{2}", code):
        return None
    try:
        found = pycountry.countries.get(alpha_2=code)
    except (KeyError, LookupError):
        return None
    return found.alpha_2 if found else None


def _meta(root: etree._Element, *names: str) -> str | None:
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        if key in names:
            content = (meta.get("content") or "").strip()
            if content:
                return content
    return None


def _locale_country(tag: str | None) -> str | None:
    if not tag or tag.strip().lower().replace("_", "-") in _DEFAULT_LOCALES:
        return None
    m = re.fullmatch(r"\s*[A-Za-z]{2,3}[-_](?:[A-Za-z]{4}[-_])?([A-Za-z]{2})\s*", tag)
    return _alpha2(m.group(1)) if m else None


def page_hints(tree: etree._Element, url: str) -> PageHints:
    """The page's hints, strongest first: geo.region, the host's country domain, its locale."""
    try:
        root = tree.getroottree().getroot()
        region = _meta(root, "geo.region")
        region_country = None
        if region:
            region_country = subdivision_country(region) or _alpha2(region.strip())
        if region_country:
            return PageHints(region_country, f"geo.region {region}", region_country, region or "")
        host = (urlsplit(url).hostname or "").rstrip(".")
        tld = host.rsplit(".", 1)[-1] if "." in host else ""
        if tld and tld not in _GENERIC_CCTLDS and not tld.isdigit():
            country = _alpha2(tld)
            if country:
                return PageHints(country, f"domain .{tld}")
        for tag, source in (
            (root.get("lang"), "lang"),
            (_meta(root, "og:locale"), "og:locale"),
        ):
            country = _locale_country(tag)
            if country:
                return PageHints(country, f"{source} {tag}")
    except (ValueError, AttributeError):
        pass
    return PageHints()
