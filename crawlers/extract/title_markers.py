"""Status and "online" markers that organisers write into an event's title instead of (or as
well as) its structured fields: "DDA Regular Board Meeting – Cancelled", "Cancelled: Rules
Committee", "ANNULÉ", "Concierto (aplazado)", "Sitzung – verschoben", "Board meeting
(virtual)", "Online: Export basics".

A word counts only where it stands apart from the name as a marker: in brackets, before or after
a separator (":", "|", a dash with a space), as the last word of the title (status words only),
as a capitalised first word (cancellation words only) or as the whole title. So "Cancellation
insurance seminar", "Online Marketing Days" or "Virtual Reality Expo" stay as they are. The
title itself is left as written: the marker is part of what the organiser published.

Hand-written: no library reads event-status words out of titles; the word lists cover English,
French, Spanish (the languages of the service) and German.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["TitleMarker", "is_online_place", "online_marker", "status_marker"]

# Accented forms are required in mixed case ("reporté", not "reporte", which is Spanish for
# "report"); capitals often drop accents, so unaccented capitals are listed case-sensitively.
_STATUS_WORDS: tuple[tuple[str, str], ...] = (
    (
        "cancelled",
        r"cancel+ed|annul[ée]e?s?|(?-i:ANNULEE?S?)|cancelad[oa]s?|suspendid[oa]s?|"
        r"suspendue?s?|abgesagt|entf[äa]ll?t|f[äa]llt\s+aus|ausgefallen|storniert|called\s+off",
    ),
    (
        "postponed",
        r"postponed|report[ée]e?s?|(?-i:REPORTEE?S?)|ajourn[ée]e?s?|(?-i:AJOURNEE?S?)|"
        r"aplazad[oa]s?|pospuest[oa]s?|postergad[oa]s?|verschoben|vertagt",
    ),
    (
        "rescheduled",
        r"rescheduled|new\s+date|nouvelle\s+date|reprogramm[ée]e?s?|(?-i:REPROGRAMMEE?S?)|"
        r"reprogramad[oa]s?|nueva\s+fecha|neuer\s+termin|neues\s+datum",
    ),
    (
        "moved_online",
        r"moved\s+online|now\s+online|now\s+virtual|passe\s+en\s+ligne|d[ée]sormais\s+en\s+ligne|"
        r"ahora\s+en\s+l[ií]nea|jetzt\s+online",
    ),
)
# Status words that may also end a title without a separator ("Board Meeting Cancelled"): words
# that end no event's name ("suspendido" does: "Puente suspendido").
_FINAL = {
    "cancelled": r"cancel+ed|annul[ée]e?s?|(?-i:ANNULEE?S?)|cancelad[oa]s?|abgesagt|entf[äa]ll?t|"
    r"f[äa]llt\s+aus|ausgefallen",
    "postponed": r"postponed|report[ée]e?s?|(?-i:REPORTEE?S?)|aplazad[oa]s?|pospuest[oa]s?|"
    r"verschoben",
    "rescheduled": r"rescheduled|reprogramm[ée]e?s?|reprogramad[oa]s?",
}
# ... or open it in capitals ("CANCELLED Board Meeting").
_CAPITAL_FIRST = re.compile(
    r"^\s*(CANCEL+ED|ANNUL[ÉE]E?S?|CANCELAD[OA]S?|ABGESAGT)\s+(?=\S)",
)
_ONLINE_WORDS = (
    r"online(?:[\s-]+(?:only|event|meeting|veranstaltung|session))?|on-line|"
    r"virtual(?:\s+(?:only|event|meeting|session))?|virtuel(?:le)?|virtuell|"
    r"webinar|webinaire|webinario|web\s+conference|livestream|live\s+stream|"
    r"(?:via\s+|on\s+)?zoom|en\s+ligne|en\s+l[ií]nea|a\s+distancia|[àa]\s+distance"
)
# "Hybrid" events keep a physical venue: never online.
_SEP_BEFORE = r"(?:[:|–—]|\s-|-\s|,)\s*"
_SEP_AFTER = r"\s*(?:[:|–—]|-\s|\s-)"
_BRACKET_OPEN = r"[(\[{*]\s*"
_BRACKET_CLOSE = r"\s*[)\]}*]"


class TitleMarker(NamedTuple):
    value: str  # the status, or "online"
    marker: str  # the words of the title that said so


def _status_patterns(words: str, final: str | None) -> list[re.Pattern[str]]:
    w = f"(?P<m>{words})"
    patterns = [
        # "(Cancelled)", "[Postponed until further notice]"
        rf"{_BRACKET_OPEN}{w}\b[^)\]}}*]*{_BRACKET_CLOSE}",
        # "Cancelled: Rules Committee", "POSTPONED - Expo"
        rf"^\s*{w}{_SEP_AFTER}",
        # "Board Meeting – Cancelled", "Sitzung - verschoben!"
        rf"{_SEP_BEFORE}{w}\s*[.!]*\s*$",
        # "Board Meeting – CANCELLED – see the new date below"
        rf"(?:[:|–—]|\s-)\s*{w}{_SEP_AFTER}",
        # "ANNULÉ"
        rf"^\s*{w}\s*[.!]*\s*$",
    ]
    if final:
        # "DDA Regular Board Meeting Cancelled"
        patterns.append(rf"\s(?P<m>{final})\s*[.!]*\s*$")
    return [re.compile(p, re.IGNORECASE) for p in patterns]


_STATUS = [(status, _status_patterns(words, _FINAL.get(status))) for status, words in _STATUS_WORDS]
_ONLINE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"{_BRACKET_OPEN}(?P<m>{_ONLINE_WORDS}){_BRACKET_CLOSE}",
        rf"^\s*(?P<m>{_ONLINE_WORDS}){_SEP_AFTER}",
        rf"{_SEP_BEFORE}(?P<m>{_ONLINE_WORDS})\s*$",
        rf"^\s*(?P<m>{_ONLINE_WORDS})\s*$",
    )
]


def status_marker(title: object) -> TitleMarker | None:
    """The status a title marks, with the words that mark it; None when it marks none."""
    if not isinstance(title, str) or not title.strip():
        return None
    for status, patterns in _STATUS:
        for pattern in patterns:
            m = pattern.search(title)
            if m:
                return TitleMarker(status, m.group("m"))
    m = _CAPITAL_FIRST.match(title)
    if m:
        return TitleMarker("cancelled", m.group(1))
    return None


def online_marker(title: object) -> TitleMarker | None:
    """ "online" when the title marks the event as held online ("(Virtual)", "Online: ...")."""
    if not isinstance(title, str) or not title.strip():
        return None
    for pattern in _ONLINE:
        m = pattern.search(title)
        if m:
            return TitleMarker("online", m.group("m"))
    return None


# A location that is a way to join, not a place: "Zoom", "Online", "Microsoft Teams".
_ONLINE_PLACE = re.compile(
    rf"^\s*(?:{_ONLINE_WORDS}|(?:microsoft\s+)?teams|google\s+meet|webex|gotomeeting|"
    r"zoom\s+(?:meeting|webinar)|online\s+via\s+\w+)\s*$",
    re.IGNORECASE,
)


def is_online_place(text: object) -> bool:
    return isinstance(text, str) and bool(_ONLINE_PLACE.match(text))
