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

from search_api.domain.markets import country_from_name
from search_api.domain.markets import fold_name as _fold

__all__ = [
    "Location",
    "clean_city",
    "country_from_timezone",
    "country_name",
    "split_location",
    "to_country",
    "us_state_code",
]

_US_STATES: dict[str, str] = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "district of columbia": "DC",
    "washington dc": "DC",
}
_US_CODES = frozenset(_US_STATES.values())
_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
_STATE_ZIP = re.compile(r"^([A-Za-z]{2})\.?\s+(\d{5}(?:-\d{4})?)$")
_POSTCODE_LEAD = re.compile(r"^(?:[A-Z]{1,2}[- ])?\d{4,6}\s+")
_POSTCODE_TRAIL = re.compile(r"\s+(?:cedex\s*)?\d{4,6}$", re.IGNORECASE)
_STREETISH = re.compile(
    r"\b(road|rd|street|st|avenue|ave|blvd|boulevard|lane|drive|dr|suite|floor|"
    r"building|room|hall|strasse|straße|rue|calle|avenida|po box)\b\.?",
    re.IGNORECASE,
)


class Location(NamedTuple):
    venue: str | None
    city: str | None
    country: str | None


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
    raw = text.strip().strip(".")
    if re.fullmatch(r"[A-Za-z]{2}", raw):
        code = raw.upper()
        return code if code in _US_CODES else None
    return _US_STATES.get(_fold(raw))


def _is_us_state(text: str, *, zip_seen: bool, hint: str | None) -> bool | None:
    """True: surely a US state here. None: a US state, but the text also reads
    as a country ("IN" India/Indiana, "Georgia"), and nothing settles it."""
    code = us_state_code(text)
    if code is None:
        return False
    if zip_seen or hint == "US":
        return True
    if _code_or_name(text) is not None:
        return None
    return True


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
    it only settles ambiguous tokens such as "IN" (India or Indiana) and never
    supplies a country on its own.
    """
    try:
        if not isinstance(text, str):
            return Location(None, None, None)
        parts = _split_parts(text)
        if not parts:
            return Location(None, None, None)
        i = len(parts) - 1
        country: str | None = None
        last = parts[i]
        if us_state_code(last) is None:
            country = _code_or_name(last)
        elif _is_us_state(last, zip_seen=False, hint=hint) is None and (
            hint is not None or len(last) > 2
        ):
            # A bare "IN"/"NC"/"DE" is left to the US-state pass below unless a
            # non-US hint says otherwise; spelled-out "Georgia" is the country.
            country = _code_or_name(last)
        if country is not None:
            i -= 1
        region_seen = False
        ambiguous = False
        if country in (None, "US"):
            j = i
            zip_seen = False
            while j >= 0:
                p = parts[j]
                if _ZIP.match(p):
                    zip_seen = True
                    j -= 1
                    continue
                m = _STATE_ZIP.match(p)
                if m and us_state_code(m.group(1)):
                    zip_seen = region_seen = True
                    j -= 1
                    continue
                if not region_seen and us_state_code(p) is not None and j > 0:
                    verdict = _is_us_state(p, zip_seen=zip_seen, hint=hint)
                    region_seen = True
                    ambiguous = verdict is None
                    j -= 1
                    continue
                break
            if region_seen:
                i = j
                if country is None and not ambiguous:
                    country = "US"
        if country is None and not region_seen:
            return Location(parts[0], None, None)
        city = clean_city(parts[i], strict=True) if i >= 0 else None
        venue = parts[0] if i >= 1 else None
        return Location(venue, city, country)
    except Exception:  # a normaliser must never raise
        return Location(None, None, None)


def _from_mapping(value: Mapping[str, object], hint: str | None) -> str | None:
    if "@value" in value:
        return to_country(value.get("@value"), hint=hint)
    types = value.get("@type")
    type_list = types if isinstance(types, list) else [types]
    type_names = {str(t).rsplit("/", 1)[-1] for t in type_list}
    address_keys = ("addressCountry", "addressRegion", "postalCode", "addressLocality")
    if "PostalAddress" in type_names or any(k in value for k in address_keys):
        code = to_country(value.get("addressCountry"), hint=hint)
        if code:
            return code
        region = value.get("addressRegion")
        postcode = value.get("postalCode")
        if isinstance(region, str) and us_state_code(region):
            zip_ok = isinstance(postcode, str) and bool(_ZIP.match(postcode.strip()))
            if _is_us_state(region, zip_seen=zip_ok, hint=hint):
                return "US"
        return None
    if "address" in value:
        return to_country(value.get("address"), hint=hint)
    for key in ("name", "identifier", "alternateName"):
        if key in value:
            code = to_country(value.get(key), hint=hint)
            if code:
                return code
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


def country_from_timezone(tzname: object) -> str | None:
    """Country of an IANA zone ("America/New_York" -> "US"); None for UTC etc."""
    if not isinstance(tzname, str) or not tzname.strip():
        return None
    name = tzname.strip()
    if name.startswith("US/"):
        return "US"
    return _zone_countries().get(name)
