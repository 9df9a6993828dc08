"""Calendar (iCalendar) and Atom feeds of a subscription, and of any fair search.

Calendar apps update an event in place when its UID stays the same and its SEQUENCE grows, so
UIDs are `<record id>@<host of BASE_URL>` (record ids are stable across re-crawls) and SEQUENCE
is the record's `version`. A cancelled fair stays in the feed with STATUS:CANCELLED so that
subscribed calendars mark it instead of silently losing it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from icalendar import Alarm, Calendar, Event, vText

from search_api.domain import duplicates
from search_api.domain.i18n import label_in, usually_in
from search_api.domain.records import AnyRecord, FairRecord, RequirementRecord, stored_records
from search_api.domain.reminders import DATE_FIELDS
from search_api.errors import Gone, NotFound
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.match import record_matches, without_dates
from search_api.search.request import SavedSearch, SearchRequest
from search_api.services.mail import strings
from search_api.services.search import every_record
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.reminders import records_dated_between
from search_api.store.subscriptions import get_by_feed_token
from search_api.store.tables import SubscriptionRow

FEED_LIMIT = 1000
# Feeds keep fairs of the recent past: calendar apps delete events that vanish from a
# subscribed feed, and an advisor wants last month's fair still in the calendar.
FEED_PAST_DAYS = 90
ICS_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Feed:
    body: bytes
    media_type: str
    filename: str
    records: list[AnyRecord]

    @property
    def last_changed(self) -> datetime | None:
        return max((r.last_changed for r in self.records if r.last_changed), default=None)


def saved_search_of(sub: SubscriptionRow) -> SavedSearch:
    return SavedSearch.model_validate(sub.search)


def host_of(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def record_link(settings: Settings, record_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/records/{quote(record_id, safe='')}"


def _location(record: FairRecord) -> str:
    return ", ".join(x for x in (record.venue, record.city, record.country) if x)


def _title(record: AnyRecord, lang: str, settings: Settings) -> str:
    # Many calendar apps show no STATUS: say it in the title too.
    status = getattr(record, "status", None)
    if status in ("cancelled", "postponed", "moved_online", "rescheduled"):
        return f"{record.title} ({strings(settings, lang).status(status)})"
    return record.title


ALARM_HOUR = 9
"""Alarms ring at 09:00 (the calendar's own time) N days before an all-day date."""
_DATE_EVENT = {
    "comment_deadline": "ics_comment_deadline",
    "effective_date": "ics_effective_date",
    "registration_deadline": "ics_registration_deadline",
}


def _alarms(ev: Event, summary: str, days: Sequence[int]) -> None:
    """VALARMs `days` before the event's (all-day) start, at ALARM_HOUR."""
    for n in days:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(days=-n, hours=ALARM_HOUR))
        ev.add_component(alarm)


def _stamp(ev: Event, record: AnyRecord) -> None:
    changed = (record.last_changed or datetime(2000, 1, 1)).replace(tzinfo=UTC)
    ev.add("sequence", record.version)
    # DTSTAMP is when this version was made, not "now": unchanged feeds stay byte-identical
    # (stable ETag) and clients see no spurious updates.
    ev.add("dtstamp", changed)
    ev.add("last-modified", changed)


def _date_event(
    record: AnyRecord, field: str, settings: Settings, lang: str, alarms: Sequence[int]
) -> Event | None:
    """An all-day event for one date of a record (a comment deadline, entry into force, a
    registration deadline); its UID stays the same when the date moves."""
    day = getattr(record, field, None)
    if day is None:
        return None
    ev = Event()
    ev.add("uid", f"{record.id}-{field.replace('_', '-')}@{host_of(settings)}")
    _stamp(ev, record)
    summary = strings(settings, lang)(_DATE_EVENT[field], title=record.title)
    ev.add("summary", summary)
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    status = getattr(record, "status", None)
    ev.add("status", "CANCELLED" if status in ("repealed", "cancelled") else "CONFIRMED")
    ev.add("transp", "TRANSPARENT")
    ev.add("url", record.url or record_link(settings, record.id))
    description = [record.summary or "", record_link(settings, record.id)]
    ev.add("description", vText("\n\n".join(d for d in description if d)))
    _alarms(ev, summary, alarms)
    return ev


def one_per_fair(records: Iterable[AnyRecord]) -> tuple[list[AnyRecord], dict[str, list[str]]]:
    """The records with each fair listed once whatever the number of sources that list it
    (domain/duplicates.py), and for each kept fair the ids of the records it stands for."""
    records = list(records)
    by_id = {r.id: r for r in records}
    items = [
        r.model_dump(
            mode="json",
            include={
                "id",
                "kind",
                "title",
                "city",
                "country",
                "start_date",
                "end_date",
                "usual_month",
                "source_id",
                "source_url",
                "url",
            },
        )
        for r in records
    ]
    merged = duplicates.merge(items)
    also = {
        item["id"]: [p["id"] for p in item["sources"][1:]] for item in merged if "sources" in item
    }
    return [by_id[item["id"]] for item in merged], also


def build_ics(
    records: Iterable[AnyRecord],
    settings: Settings,
    *,
    name: str,
    lang: str = "en",
    alarms: Sequence[int] = (),
) -> bytes:
    """Fairs as events over their dates (and their registration deadlines), requirements as
    events on their comment deadline and entry into force; `alarms`: VALARMs so many days
    before each."""
    cal = Calendar()
    cal.add("prodid", "-//Tradepoint//Fair calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT6H")
    host = host_of(settings)
    records, also = one_per_fair(records)
    for record in records:
        if isinstance(record, RequirementRecord):
            for field in DATE_FIELDS["requirement"]:
                event = _date_event(record, field, settings, lang, alarms)
                if event is not None:
                    cal.add_component(event)
            continue
        if not isinstance(record, FairRecord) or record.start_date is None:
            continue
        ev = Event()
        ev.add("uid", f"{record.id}@{host}")
        _stamp(ev, record)
        ev.add("summary", _title(record, lang, settings))
        ev.add("dtstart", record.start_date)
        # All-day events: DTEND is exclusive, the day after the last day.
        ev.add("dtend", (record.end_date or record.start_date) + timedelta(days=1))
        ev.add("status", _ics_status(record.status))
        ev.add("transp", "TRANSPARENT")
        if _location(record):
            ev.add("location", _location(record))
        ev.add("url", record.url or record_link(settings, record.id))
        if record.sectors:
            ev.add("categories", [s.replace("_", " ") for s in record.sectors])
        description = [
            record.summary or "",
            record_link(settings, record.id),
            *(record_link(settings, other) for other in also.get(record.id, ())),
        ]
        ev.add("description", vText("\n\n".join(d for d in description if d)))
        _alarms(ev, _title(record, lang, settings), alarms)
        cal.add_component(ev)
        if record.registration_deadline is not None:
            event = _date_event(record, "registration_deadline", settings, lang, alarms)
            if event is not None:
                cal.add_component(event)
    return cal.to_ical()


def _ics_status(status: str | None) -> str:
    if status == "cancelled":
        return "CANCELLED"
    if status == "postponed":
        return "TENTATIVE"  # new dates not known yet
    return "CONFIRMED"


def _rfc3339(value: datetime | None) -> str:
    value = value or datetime(2000, 1, 1)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def build_atom(
    records: list[AnyRecord],
    settings: Settings,
    *,
    title: str,
    feed_id: str,
    self_url: str,
    alternate_url: str,
    updated: datetime | None,
    lang: str = "en",
    hs: str | None = None,
) -> bytes:
    """An Atom feed of `records`. With `hs` (a saved search for a product), rules and finance
    without HS codes, which apply to every product, say so (category `all_products`)."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": lang})
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    newest = max((r.last_changed for r in records if r.last_changed), default=None)
    sub(feed, "updated", _rfc3339(newest or updated))
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=alternate_url, type="text/html")
    author = sub(feed, "author")
    sub(author, "name", "Tradepoint")
    sub(feed, "generator", "Tradepoint")
    host = host_of(settings)
    records, also = one_per_fair(records)
    for record in records:
        entry = sub(feed, "entry")
        # tag: URI (RFC 4151): stable for the record's life, whatever its URL does.
        sub(entry, "id", f"tag:{host},2025:record:{quote(record.id, safe=':_-.')}")
        sub(entry, "title", _title(record, lang, settings))
        sub(entry, "updated", _rfc3339(record.last_changed))
        if record.first_seen:
            sub(entry, "published", _rfc3339(record.first_seen))
        sub(entry, "link", rel="alternate", href=record_link(settings, record.id), type="text/html")
        if record.url:
            sub(entry, "link", rel="related", href=record.url)
        for other in also.get(record.id, ()):  # the same fair from another source
            sub(entry, "link", rel="via", href=record_link(settings, other), type="text/html")
        for sector in record.sectors:
            sub(entry, "category", term=sector)
        lines = []
        if hs and record.kind != "fair" and not record.hs_codes:
            all_products = label_in(lang, "all_products")
            sub(entry, "category", term="all_products", label=all_products)
            lines.append(all_products)
        if isinstance(record, FairRecord):
            if record.start_date:
                end = record.end_date or record.start_date
                lines.append(
                    f"{record.start_date}" + (f" – {end}" if end != record.start_date else "")
                )
            elif record.usual_month:  # a series: no date to put in a calendar
                lines.append(usually_in(lang, record.usual_month))
            if _location(record):
                lines.append(_location(record))
        if record.summary:
            lines.append(record.summary)
        sub(entry, "summary", "\n".join(lines) or record.title, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def subscription_for_feed(store: Store, feed_token: str) -> SubscriptionRow:
    sub = get_by_feed_token(store, feed_token)
    if sub is None or sub.confirmed_at is None:
        raise NotFound("feed not found; check the link in your confirmation page or email")
    if sub.unsubscribed_at is not None:
        raise Gone("this subscription was cancelled; subscribe again to get its feed")
    return sub


def subscription_query(sub: SubscriptionRow, today: date) -> SearchQuery:
    search = saved_search_of(sub)
    query = search.to_query(today)
    if query.date_from is not None and not (search.date_from or search.date_to):
        query = query.model_copy(update={"date_from": query.date_from - timedelta(FEED_PAST_DAYS)})
    return query


def search_page_url(settings: Settings, search: SavedSearch, today: date | None = None) -> str:
    """The web results page of a saved search (relative windows shown as today's dates)."""
    pairs = search.search_on(today or date.today()).to_params()
    return f"{settings.base_url.rstrip('/')}/search" + (f"?{urlencode(pairs)}" if pairs else "")


def feed_url(settings: Settings, sub: SubscriptionRow, ext: str, *, webcal: bool = False) -> str:
    url = f"{settings.base_url.rstrip('/')}/feeds/{sub.feed_token}.{ext}"
    if webcal:
        return "webcal://" + url.split("://", 1)[-1]
    return url


def subscription_calendar(
    store: Store, backend: SearchBackend, settings: Settings, feed_token: str
) -> Feed:
    """A subscription's fairs, and the comment deadlines and entry-into-force dates of its
    requirements; its reminders become the events' alarms."""
    sub = subscription_for_feed(store, feed_token)
    today = date.today()
    search = saved_search_of(sub)
    records: list[AnyRecord] = []
    if "fair" in search.kind:
        query = subscription_query(sub, today).model_copy(update={"kind": ("fair",)})
        records += every_record(backend, query, FEED_LIMIT)
    if "requirement" in search.kind:
        records += dated_requirements(
            store, search.to_query(today), today - timedelta(days=FEED_PAST_DAYS), None
        )
    alarms = list(sub.reminder_days or [])
    body = build_ics(records, settings, name="Tradepoint", lang=sub.language, alarms=alarms)
    return Feed(body, ICS_TYPE, "tradepoint.ics", records)


def dated_requirements(
    store: Store, query: SearchQuery, start: date, end: date | None
) -> list[AnyRecord]:
    """Requirements `query` finds (whatever its date window) with a comment deadline or an
    entry into force from `start` to `end`, soonest first, up to FEED_LIMIT. Read from the
    system of record and matched here (search/match.py): these dates are not what the index
    filters dates on."""
    query = without_dates(query)
    fields = {"requirement": DATE_FIELDS["requirement"]}
    last = (end or date(2200, 12, 31)).isoformat()
    found: list[tuple[str, AnyRecord]] = []
    for record in stored_records(records_dated_between(store, fields, start.isoformat(), last)):
        if not record_matches(query, record):
            continue
        days = [
            d.isoformat()
            for f in DATE_FIELDS["requirement"]
            if (d := getattr(record, f, None)) is not None and start <= d <= (end or d)
        ]
        found.append((min(days), record))
    found.sort(key=lambda x: (x[0], x[1].id))
    return [record for _, record in found[:FEED_LIMIT]]


def requirements_calendar(
    store: Store,
    settings: Settings,
    request: SearchRequest,
    today: date,
    alarms: Sequence[int],
) -> Feed:
    """Comment deadlines and entry-into-force dates of a requirement search, as all-day events:
    dates from `date_from` to `date_to` (default: from FEED_PAST_DAYS ago on)."""
    start = request.date_from or (
        today - timedelta(days=FEED_PAST_DAYS) if request.date_to is None else date(1900, 1, 1)
    )
    query = request.to_query(kind=("requirement",), facets=False)
    records = dated_requirements(store, query, start, request.date_to)
    body = build_ics(records, settings, name="Tradepoint: requirement dates", alarms=alarms)
    return Feed(body, ICS_TYPE, "requirements.ics", records)


def subscription_atom(
    store: Store, backend: SearchBackend, settings: Settings, feed_token: str
) -> Feed:
    sub = subscription_for_feed(store, feed_token)
    records = every_record(backend, subscription_query(sub, date.today()), FEED_LIMIT)
    body = build_atom(
        records,
        settings,
        title="Tradepoint alert",
        feed_id=f"tag:{host_of(settings)},2025:subscription:{sub.id}",
        self_url=feed_url(settings, sub, "atom"),
        alternate_url=search_page_url(settings, saved_search_of(sub)),
        updated=sub.confirmed_at,
        lang=sub.language,
        hs=saved_search_of(sub).hs,
    )
    return Feed(body, ATOM_TYPE, "tradepoint.atom", records)


def fairs_calendar(
    backend: SearchBackend,
    settings: Settings,
    request: SearchRequest,
    today: date,
    alarms: Sequence[int] = (),
) -> Feed:
    """The fairs of any search as a calendar: up to FEED_LIMIT, page and size ignored; without
    dates, from FEED_PAST_DAYS ago on."""
    date_from = request.date_from
    if date_from is None and request.date_to is None:
        date_from = today - timedelta(days=FEED_PAST_DAYS)
    query = request.to_query(
        kind=("fair",), date_from=date_from, sort="date", page=1, size=100, facets=False
    )
    records = every_record(backend, query, FEED_LIMIT)
    return Feed(
        build_ics(records, settings, name="Tradepoint: fairs", alarms=alarms),
        ICS_TYPE,
        "fairs.ics",
        records,
    )
