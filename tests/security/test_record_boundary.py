"""Class: what a record may carry. Issue 13 items 3-6: line breaks in URLs, control and
invisible characters in text, provenance that only the system sets, and a removed source's id
that another owner cannot take over."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import icalendar
import pytest
from fastapi.testclient import TestClient

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.formats import crawl, make_spec
from tests.helpers.sites import serve_site

# The curated-file cases crawl (tests/helpers/crawling.py runs them here).
pytestmark = pytest.mark.crawl


def bearer(store: Store, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(store, name, 'agency')}"}


def post_fair(client: TestClient, headers: dict[str, str], **fields: object) -> object:
    body = {"kind": "fair", "title": "Nairobi Coffee Days", "country": "KE"}
    body |= {"start_date": "2027-03-10", "end_date": "2027-03-12"} | fields
    return client.post("/api/v1/records", json=body, headers=headers)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a\r\nX-INJ-U:1",
        "https://example.org/a\nb",
        "https://example.org/a\tb",
        "https://example.org/\x00",
    ],
)
def test_a_url_with_line_breaks_or_controls_is_refused_naming_the_field(
    client: TestClient, store: Store, url: str
) -> None:
    r = post_fair(client, bearer(store, "agency_a"), slug="inj", url=url)
    assert r.status_code == 422, r.text  # type: ignore[attr-defined]
    assert "url" in r.json()["error"]["message"]  # type: ignore[attr-defined]
    assert store.get_record("curated_agency_a:inj") is None


def test_calendars_stay_valid_whatever_the_records_text(
    client: TestClient, store: Store, backend: SearchBackend
) -> None:
    hostile = "Day\u0000 one\u0007 \u202eevil\u202c \u200bhidden\u2066"
    r = post_fair(
        client,
        bearer(store, "agency_a"),
        slug="ctl",
        title=f"Coffee {hostile}",
        summary=f"Summary {hostile}\nsecond line\tand a tab",
        url="https://example.org/coffee",
    )
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    stored = store.get_record("curated_agency_a:ctl")
    assert stored is not None and stored.summary is not None
    for text in (stored.title, stored.summary):
        assert not any(ch in text for ch in "\u0000\u0007\u202e\u202c\u200b\u2066")
    # Newline and tab stay where text allows them.
    assert "\nsecond line\tand a tab" in stored.summary
    drain_outbox(store, backend)

    ics = client.get("/api/v1/fairs.ics", params={"market": "KE"})
    assert ics.status_code == 200
    [event] = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Coffee Day one")
    assert str(event["URL"]) == "https://example.org/coffee"

    atom = client.get("/api/v1/search.atom", params={"q": "coffee"})
    if atom.status_code != 404:  # the search Atom feed, where it exists, must parse
        assert atom.status_code == 200
        ElementTree.fromstring(atom.content)  # well-formed XML: no raw NUL


def test_provenance_in_a_sources_defaults_is_refused(client: TestClient, store: Store) -> None:
    spec = {
        "id": "xa_claims",
        "name": "Claims",
        "kind": "fair",
        "format": "ical",
        "start_urls": ["https://example.org/fairs.ics"],
    }
    headers = bearer(store, "agency_a")
    for field, value in (("curated_by", "agency_b"), ("source_id", "xb_other")):
        r = client.post(
            "/api/v1/sources", json=spec | {"defaults": {field: value}}, headers=headers
        )
        assert r.status_code == 422, r.text
        assert field in r.json()["error"]["message"]
    assert "xa_claims" not in {source.id for source in store.list_sources()}


def test_a_curated_file_cannot_say_who_curated_it(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "fairs.yml"
    data.write_text(
        "records:\n"
        "  - {id: f1, title: Fair One, country: KE, usual_month: 3, curated_by: agency_b,\n"
        "     source_id: xb_other, first_seen: '2001-01-01T00:00:00'}\n"
    )
    spec = make_spec(
        id="xa_curated", kind="fair", format="curated", start_urls=[data.as_uri()], owner="agency_a"
    )
    assert crawl(settings, store, spec).ok
    record = store.get_record("xa_curated:f1")
    assert record is not None
    assert record.curated_by == "agency_a" and record.source_id == "xa_curated"
    assert record.first_seen is not None and record.first_seen.year >= 2026


def test_a_removed_sources_id_stays_its_owners_while_its_records_remain(
    client: TestClient, store: Store, tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "fairs.yml").write_text(
        "records:\n  - {id: f1, title: B's fair, country: KE, usual_month: 3}\n"
    )
    with serve_site(tmp_path) as site:
        _take_over(client, store, settings, site.url("/fairs.yml"))


def _take_over(client: TestClient, store: Store, settings: Settings, url: str) -> None:
    spec = {
        "id": "xb_orphan",
        "name": "B's fairs",
        "kind": "fair",
        "format": "curated",
        "start_urls": [url],
        "min_items": 1,
    }
    b, a = bearer(store, "agency_b"), bearer(store, "agency_a")
    assert client.post("/api/v1/sources", json=spec, headers=b).status_code == 201
    stored = store.get_source("xb_orphan")
    assert stored is not None and crawl(settings, store, stored).ok
    assert client.delete("/api/v1/sources/xb_orphan", headers=b).status_code == 204

    # Another agency cannot take the id over: B's records keep their title and history.
    r = client.post("/api/v1/sources", json=spec | {"name": "A's"}, headers=a)
    assert r.status_code == 409 and r.json()["error"]["code"] == "source_id_taken"
    record = store.get_record("xb_orphan:f1")
    assert record is not None and record.title == "B's fair"
    assert [run.source_id for run in store.list_runs("xb_orphan", limit=5)] == ["xb_orphan"]
    # Its owner can bring it back.
    assert client.post("/api/v1/sources", json=spec, headers=b).status_code == 201
