"""ISO 3166-1 alpha-2 country codes from codes, names, addresses and schema.org."""

from __future__ import annotations

import gettext
import importlib.resources
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pycountry

from crawlers.normalise.places import (
    POSTCODE_SHAPE,
    REGION_COUNTRIES,
    Inference,
    is_postcode_shaped,
    postcode_countries,
    postcode_fits,
    postcode_position,
    region_fits,
    regions_named,
    subdivision_country,
)
from search_api.domain.markets import country_from_name

__all__ = [
    "Located",
    "Location",
    "address_country",
    "clean_city",
    "country_from_timezone",
    "country_name",
    "locate",
    "split_location",
    "to_country",
    "us_state_code",
    "zones_by_country",
]

_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
_POSTCODE_LEAD = re.compile(r"^(?:[A-Z]{1,2}[- ])?\d{4,6}\s+")
_POSTCODE_TRAIL = re.compile(r"\s+(?:cedex\s*)?\d{4,6}$", re.IGNORECASE)
_STREETISH = re.compile(
    r"\b(road|rd|street|st|avenue|ave|blvd|boulevard|lane|drive|dr|suite|floor|"
    r"building|room|hall|strasse|straße|rue|calle|avenida|po box)\b\.?",
    re.IGNORECASE,
)
# "OR 97201", "ON M5V 2T6", "NSW 2000": a region then a postal code, in one address part.
_REGION_POSTCODE = re.compile(rf"^(?P<region>[^\d,]+?)\.?\s+(?P<post>{POSTCODE_SHAPE})$", re.I)
# "Portland OR 97201", "Sydney NSW 2000": the city too, without commas.
_CITY_REGION_POSTCODE = re.compile(
    rf"^(?P<city>.+?)\s+(?P<region>[A-Za-z]{{2,3}}|[A-Za-z]+(?:\s[A-Za-z]+)?)\.?\s+"
    rf"(?P<post>{POSTCODE_SHAPE})$",
    re.IGNORECASE,
)
_POSTCODE_CITY = re.compile(rf"^(?P<post>{POSTCODE_SHAPE})\s+(?P<city>\D.*)$", re.IGNORECASE)
_CITY_POSTCODE = re.compile(rf"^(?P<city>.*\D)\s+(?P<post>{POSTCODE_SHAPE})$", re.IGNORECASE)


class Location(NamedTuple):
    venue: str | None
    city: str | None
    country: str | None


class Located(NamedTuple):
    """A Location and, when the country was inferred rather than named, how."""

    location: Location
    inference: Inference | None


def _alpha2(code: str) -> str | None:
    try:
        c = pycountry.countries.get(alpha_2=code.upper())
    except (KeyError, LookupError):
        return None
    return c.alpha_2 if c else None


def _code_or_name(text: str) -> str | None:
    """Exact match of a whole value: alpha-2, alpha-3, a name or an alias."""
    raw = text.strip().strip(".")
    if not raw:
        return None
    if re.fullmatch(r"[A-Za-z]{2}", raw):
        return _alpha2(raw) or country_from_name(raw)
    if re.fullmatch(r"[A-Za-z]{3}", raw):
        try:
            c = pycountry.countries.get(alpha_3=raw.upper())
        except (KeyError, LookupError):
            c = None
        if c:
            return c.alpha_2
    return country_from_name(raw)


def us_state_code(text: str) -> str | None:
    """USPS code of a US state given as code or name ("il", "Illinois")."""
    for region in regions_named(text):
        if region.country == "US":
            return region.code
    return None


def _region_countries(text: str) -> set[str]:
    return {r.country for r in regions_named(text)}


def _region_verdict(text: str, *, postcode_seen: bool, hint: str | None) -> str | None:
    """The country a region written alone settles ("OR" -> US, "Ontario" -> CA): None when it
    names regions of several countries ("NT": Canada's and Australia's), reads as a country
    too ("IN": India or Indiana, "Georgia") and nothing settles it, or is an Australian state
    without a postcode ("Victoria" is also a Canadian city)."""
    countries = _region_countries(text)
    if hint in countries:
        return hint
    if len(countries) != 1:
        return None
    (country,) = countries
    if country == "AU" and not postcode_seen:
        return None
    if _code_or_name(text) is not None and not postcode_seen:
        return None
    return country


def _decide(
    regions: list[str], postcodes: list[tuple[str, str]], hint: str | None, hint_source: str
) -> Inference | None:
    """The country the regions and postal codes (code, its place: "before"/"after" the city or
    "" when given as a field) of one address settle."""
    if regions:
        fits = {
            r.country
            for region in regions
            for r in regions_named(region)
            for code, _ in postcodes
            if region_fits(r, code)
        }
        if postcodes:
            if len(fits) == 1:
                (country,) = fits
                evidence = f"{regions[0]} {postcodes[0][0]}"
                return Inference(country, "country.region_postcode", evidence)
            # a postal code of another shape than the region's country: do not decide
            if not fits and any(postcode_countries(code) for code, _ in postcodes):
                return None
        else:
            verdict = _region_verdict(regions[0], postcode_seen=False, hint=hint)
            if verdict:
                return Inference(verdict, "country.region", regions[0])
            return None
    for code, _ in postcodes:
        countries = postcode_countries(code)
        if len(countries) == 1:
            return Inference(countries[0], "country.postcode", code)
    if hint:
        for code, place in postcodes:
            if postcode_fits(code, hint) and place in ("", postcode_position(hint)):
                return Inference(hint, "country.postcode_hint", f"{code} ({hint_source})")
    return None


def clean_city(part: object, *, strict: bool = False) -> str | None:
    """A city name from an address part: postcodes and stray punctuation
    removed, lowercase entry capitalised. `strict` (for free-text addresses)
    also rejects parts that look like a street, a state or a country."""
    if not isinstance(part, str):
        return None
    city = _POSTCODE_LEAD.sub("", re.sub(r"\s+", " ", part).strip())
    city = _POSTCODE_TRAIL.sub("", city).strip(" ,;.-")
    if not city or len(city) > 100:
        return None
    if strict and (
        any(ch.isdigit() for ch in city)
        or _STREETISH.search(city)
        or _code_or_name(city) is not None
        or us_state_code(city) is not None
    ):
        return None
    if city == city.lower():
        # lowercase data entry ("chicago"); keep hyphen and apostrophe words intact
        city = " ".join(w[:1].upper() + w[1:] for w in city.split())
    return city


def _split_parts(text: str) -> list[str]:
    parts = re.split(r"[,;\n\r|]+", text)
    # Filter after collapsing: a part of only odd whitespace ("\x1f") must not become "".
    cleaned = (re.sub(r"\s+", " ", p).strip(" \t,;") for p in parts)
    return [p for p in cleaned if p]


def split_location(text: object, hint: str | None = None) -> Location:
    """Best-effort (venue, city, country) from a free-text address.

    `hint` is a country code known from elsewhere (e.g. a calendar's time zone);
    it only settles ambiguous tokens such as "IN" (India or Indiana) and postal codes of its
    shape, and never supplies a country on its own.
    """
    return locate(text, hint).location


def locate(text: object, hint: str | None = None, hint_source: str = "hint") -> Located:
    """`split_location`, saying how a country that the address does not name was inferred."""
    empty = Located(Location(None, None, None), None)
    try:
        if not isinstance(text, str):
            return empty
        parts = _split_parts(text)
        if not parts:
            return empty
        i = len(parts) - 1
        country: str | None = None
        last = parts[i]
        iso_country = subdivision_country(last)
        if iso_country and len(parts) > 1:
            return Located(
                Location(parts[0] if len(parts) > 2 else None, _city_of(parts, i - 1), iso_country),
                Inference(iso_country, "country.iso3166_2", last),
            )
        if not regions_named(last):
            country = _code_or_name(last)
        elif (
            _region_verdict(last, postcode_seen=False, hint=hint) is None
            and (hint is not None or len(last) > 2)
            and hint not in _region_countries(last)
        ):
            # A bare "IN"/"NC"/"DE" is left to the region pass below unless a hint says
            # otherwise; spelled-out "Georgia" is the country.
            country = _code_or_name(last)
        if country is not None:
            i -= 1
        regions: list[str] = []
        postcodes: list[tuple[str, str]] = []
        j = i
        if country is None or country in REGION_COUNTRIES:
            while j >= 0:
                p = parts[j]
                if is_postcode_shaped(p):
                    postcodes.append((p, "after"))
                    j -= 1
                    continue
                m = _REGION_POSTCODE.match(p)
                if m and regions_named(m.group("region")) and not regions:
                    regions.append(m.group("region").strip())
                    postcodes.append((m.group("post"), "after"))
                    j -= 1
                    continue
                if not regions and regions_named(p) and j > 0:
                    regions.append(p)
                    j -= 1
                    continue
                break
        city_part = parts[j] if j >= 0 else None
        if city_part is not None and country is None and not regions:
            m = _CITY_REGION_POSTCODE.match(city_part)
            if m and regions_named(m.group("region")):
                regions.append(m.group("region"))
                postcodes.append((m.group("post"), "after"))
                city_part = m.group("city")
            else:
                m = _POSTCODE_CITY.match(city_part) or _CITY_POSTCODE.match(city_part)
                if m:
                    place = "before" if city_part.startswith(m.group("post")) else "after"
                    postcodes.append((m.group("post"), place))
                    city_part = m.group("city")
        inference: Inference | None = None
        if country is None:
            inference = _decide(regions, postcodes, hint, hint_source)
            country = inference.country if inference else None
        if country is None:
            # Nothing says which country: the city cannot be told from the venue either.
            return Located(Location(parts[0], None, None), None)
        if j >= 0 and city_part is not None:
            parts = [*parts[:j], city_part]
        city = clean_city(parts[j], strict=True) if j >= 0 else None
        venue = parts[0] if j >= 1 else None
        return Located(Location(venue, city, country), inference)
    except Exception:  # a normaliser must never raise
        return empty


def _city_of(parts: list[str], i: int) -> str | None:
    return clean_city(parts[i], strict=True) if i >= 0 else None


def _from_mapping(value: Mapping[str, object], hint: str | None) -> str | None:
    found = address_country(value, hint)
    return found[0] if found else None


def address_country(
    value: Mapping[str, object], hint: str | None = None, hint_source: str = "hint"
) -> tuple[str, Inference | None] | None:
    """The country of a schema.org Country/PostalAddress/Place object, and how it was inferred
    when the object does not name it (None: it does)."""
    if "@value" in value:
        code = to_country(value.get("@value"), hint=hint)
        return (code, None) if code else None
    types = value.get("@type")
    type_list = types if isinstance(types, list) else [types]
    type_names = {str(t).rsplit("/", 1)[-1] for t in type_list}
    address_keys = ("addressCountry", "addressRegion", "postalCode", "addressLocality")
    if "PostalAddress" in type_names or any(k in value for k in address_keys):
        code = to_country(value.get("addressCountry"), hint=hint)
        if code:
            return code, None
        inference = _postal_address(value, hint, hint_source)
        return (inference.country, inference) if inference else None
    if "address" in value:
        address = value.get("address")
        if isinstance(address, Mapping):
            return address_country(address, hint, hint_source)
        code = to_country(address, hint=hint)
        return (code, None) if code else None
    for key in ("name", "identifier", "alternateName"):
        if key in value:
            code = to_country(value.get(key), hint=hint)
            if code:
                return code, None
    return None


def _text_field(value: Mapping[str, object], key: str) -> str | None:
    item = value.get(key)
    if isinstance(item, list):
        item = next((x for x in item if isinstance(x, str | int) and str(x).strip()), None)
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    return item.strip() if isinstance(item, str) and item.strip() else None


def _postal_address(
    value: Mapping[str, object], hint: str | None, hint_source: str
) -> Inference | None:
    region = _text_field(value, "addressRegion")
    postcode = _text_field(value, "postalCode")
    if region:
        iso = subdivision_country(region)
        if iso:
            return Inference(iso, "country.iso3166_2", region)
    postcodes = [(postcode, "")] if postcode and is_postcode_shaped(postcode) else []
    regions = [region] if region and regions_named(region) else []
    inference = _decide(regions, postcodes, hint, hint_source)
    if inference:
        return inference
    # The whole address in one field ("Portland, OR 97201" as the locality, or as the street).
    for key in ("addressLocality", "streetAddress"):
        text = _text_field(value, key)
        if text:
            extra = ", ".join(x for x in (region, postcode) if x)
            found = locate(f"{text}, {extra}" if extra else text, hint, hint_source)
            if found.inference:
                return found.inference
    return None


def to_country(value: object, *, hint: str | None = None) -> str | None:
    """ISO 3166-1 alpha-2 code for `value`, or None. Never raises.

    Accepts codes, names (EN/FR/ES and more), common aliases, schema.org
    Country/PostalAddress/Place objects and free-text addresses.
    """
    try:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, Mapping):
            return _from_mapping(value, hint)
        if isinstance(value, list | tuple):
            for item in value:
                code = to_country(item, hint=hint)
                if code:
                    return code
            return None
        if not isinstance(value, str):
            return None
        text = value.strip()
        if not text or len(text) > 500:
            return None
        code = _code_or_name(text)
        if code:
            return code
        return split_location(text, hint=hint).country
    except Exception:  # a normaliser must never raise
        return None


def country_name(code: str, lang: str = "en") -> str | None:
    """Display name of an alpha-2/alpha-3 code in `lang` (falls back to English)."""
    try:
        if not isinstance(code, str) or not code.strip():
            return None
        raw = code.strip().upper()
        c = (
            pycountry.countries.get(alpha_2=raw)
            if len(raw) == 2
            else pycountry.countries.get(alpha_3=raw)
        )
        if c is None:
            return None
        name: str = getattr(c, "common_name", None) or c.name
        if lang and lang.lower() != "en":
            try:
                tr = gettext.translation(
                    "iso3166-1", pycountry.LOCALES_DIR, languages=[lang.lower()]
                )
                name = tr.gettext(name)
            except OSError:
                pass
        return name
    except (KeyError, LookupError):
        return None


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    text = ""
    try:
        text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, OSError):
        for path in ("/usr/share/zoneinfo/zone.tab", "/usr/share/zoneinfo/zone1970.tab"):
            try:
                text = Path(path).read_text("utf-8")
                break
            except OSError:
                continue
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) >= 3:
            zones.setdefault(cols[2].strip(), cols[0].split(",")[0].strip())
    return zones


@lru_cache(maxsize=1)
def zones_by_country() -> dict[str, tuple[str, ...]]:
    """Country code -> its IANA zones (zone.tab)."""
    out: dict[str, list[str]] = {}
    for zone, country in _zone_countries().items():
        out.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in out.items()}


def country_from_timezone(tzname: object) -> str | None:
    """Country of an IANA zone ("America/New_York" -> "US"); None for UTC etc."""
    if not isinstance(tzname, str) or not tzname.strip():
        return None
    name = tzname.strip()
    if name.startswith("US/"):
        return "US"
    return _zone_countries().get(name)
