"""Reading calendar feeds the way calendar apps do (`icalendar`)."""

from __future__ import annotations

from icalendar import Calendar


def events(body: bytes) -> dict[str, dict]:
    """VEVENTs by UID, with the properties a calendar app acts on."""
    cal = Calendar.from_ical(body)
    out = {}
    for ev in cal.walk("VEVENT"):
        out[str(ev["UID"])] = {
            "summary": str(ev["SUMMARY"]),
            "sequence": int(ev["SEQUENCE"]),
            "status": str(ev["STATUS"]),
            "start": ev.decoded("DTSTART"),
            "end": ev.decoded("DTEND"),
            "location": str(ev.get("LOCATION", "")),
            "categories": [str(c) for c in ev["CATEGORIES"].cats] if "CATEGORIES" in ev else [],
            "url": str(ev.get("URL", "")),
            "last_modified": ev.decoded("LAST-MODIFIED"),
        }
    return out
