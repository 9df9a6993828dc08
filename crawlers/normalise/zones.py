"""Time zones of places, to read a UTC instant ("2024-03-06T00:30:00Z") as the date people
there see. Only what a page or calendar says is used: a zone it names, an offset it writes, or
the state, province or country of the event's address.

The zones of a country come from the tz database's zone.tab; US, Canadian and Australian
regions are listed here (no library maps a state to its zones): a region that spans two zones
lists both, and a date is read only when every zone of the place gives the same one.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawlers.normalise.countries import zones_by_country
from crawlers.normalise.dates import Moment, moment_local_date

__all__ = ["REGION_ZONES", "date_in_zones", "zone_named", "zones_of"]

_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
REGION_ZONES: dict[tuple[str, str], tuple[str, ...]] = {
    **dict.fromkeys(
        [("US", s) for s in ("CT", "DE", "DC", "GA", "ME", "MD", "MA", "NH", "NJ")], (_E,)
    ),
    **dict.fromkeys(
        [("US", s) for s in ("NY", "NC", "OH", "PA", "RI", "SC", "VT", "VA", "WV")], (_E,)
    ),
    **{("US", s): (_C,) for s in ["AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"]},
    **{("US", s): (_M,) for s in ["CO", "MT", "NM", "UT", "WY"]},
    ("US", "CA"): (_P,),
    ("US", "WA"): (_P,),
    ("US", "NV"): (_P, _M),
    ("US", "OR"): (_P, _M),
    ("US", "ID"): (_M, _P),
    ("US", "AZ"): ("America/Phoenix",),
    ("US", "FL"): (_E, _C),
    ("US", "IN"): ("America/Indiana/Indianapolis", _C),
    ("US", "KY"): (_E, _C),
    ("US", "MI"): ("America/Detroit", _C),
    ("US", "TN"): (_C, _E),
    ("US", "TX"): (_C, _M),
    ("US", "KS"): (_C, _M),
    ("US", "NE"): (_C, _M),
    ("US", "ND"): (_C, _M),
    ("US", "SD"): (_C, _M),
    ("US", "AK"): ("America/Anchorage",),
    ("US", "HI"): ("Pacific/Honolulu",),
    ("CA", "ON"): ("America/Toronto", "America/Winnipeg"),
    ("CA", "QC"): ("America/Toronto",),
    ("CA", "BC"): ("America/Vancouver", "America/Edmonton"),
    ("CA", "AB"): ("America/Edmonton",),
    ("CA", "MB"): ("America/Winnipeg",),
    ("CA", "SK"): ("America/Regina",),
    ("CA", "NS"): ("America/Halifax",),
    ("CA", "NB"): ("America/Moncton",),
    ("CA", "PE"): ("America/Halifax",),
    ("CA", "NL"): ("America/St_Johns", "America/Goose_Bay"),
    ("CA", "YT"): ("America/Whitehorse",),
    ("CA", "NT"): ("America/Yellowknife",),
    ("CA", "NU"): ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    ("AU", "NSW"): ("Australia/Sydney",),
    ("AU", "ACT"): ("Australia/Sydney",),
    ("AU", "VIC"): ("Australia/Melbourne",),
    ("AU", "QLD"): ("Australia/Brisbane",),
    ("AU", "SA"): ("Australia/Adelaide",),
    ("AU", "WA"): ("Australia/Perth",),
    ("AU", "TAS"): ("Australia/Hobart",),
    ("AU", "NT"): ("Australia/Darwin",),
}


@lru_cache(maxsize=256)
def zone_named(name: object) -> dt.tzinfo | None:
    """The IANA zone `name` names ("America/Chicago", "Europe/Berlin", "UTC"); None otherwise."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        return None
    try:
        return ZoneInfo(name.strip().strip('"'))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zones_of(country: str | None, region: str | None = None) -> tuple[dt.tzinfo, ...]:
    """The zones of a region (when listed) else of a country; () when unknown."""
    if not country:
        return ()
    names = REGION_ZONES.get((country, region or "")) or zones_by_country().get(country, ())
    return tuple(z for z in (zone_named(n) for n in names) if z is not None)


def date_in_zones(moment: Moment, zones: tuple[dt.tzinfo, ...]) -> dt.date | None:
    """The local date of a UTC instant when every one of `zones` gives the same; else None."""
    if not zones or not moment.utc or moment.time is None:
        return None
    dates = {moment_local_date(moment, zone) for zone in zones}
    if len(dates) != 1:
        return None
    return dates.pop()
