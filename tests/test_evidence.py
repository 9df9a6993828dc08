"""Curated facts carry their evidence: the public page that states them (`evidence_url`) and the
day they were checked against it (`checked_on`), in the model, the API and the record page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.factories import fair

EVIDENCE = "https://organiser.example.org/press/2027-dates?lang=en&x=1"


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    store.upsert_records(
        [
            fair("t_src:checked", "Checked Expo", evidence_url=EVIDENCE, checked_on="2026-12-07"),
            fair("t_src:own-page", "Own Page Expo", checked_on="2026-12-01"),
            fair("t_src:plain", "Plain Expo", as_of="2026-11-22"),
        ]
    )
    drain_outbox(store, backend)


def test_evidence_url_is_an_http_url_and_needs_the_day_it_was_checked() -> None:
    ok = fair(evidence_url=EVIDENCE, checked_on="2026-12-07")
    assert ok.evidence_url == EVIDENCE and ok.checked_on == date(2026, 12, 7)
    with pytest.raises(ValidationError, match="evidence_url"):
        fair(evidence_url="javascript:alert(1)", checked_on="2026-12-07")
    with pytest.raises(ValidationError, match="checked_on"):
        fair(evidence_url=EVIDENCE)
    with pytest.raises(ValidationError, match="checked_on"):
        fair(evidence_url=EVIDENCE, checked_on="2026-13-07")
    with pytest.raises(ValidationError, match="out of range"):
        fair(evidence_url=EVIDENCE, checked_on="0026-12-07")
    # checked against the record's own official page: no separate evidence page needed
    assert fair(checked_on="2026-12-07").evidence_url is None


def test_checking_a_fact_changes_the_record(store: Store) -> None:
    before = fair(as_of="2026-11-22")
    after = fair(as_of="2026-11-22", evidence_url=EVIDENCE, checked_on="2026-12-07")
    assert before.content_fingerprint() != after.content_fingerprint()


@pytest.mark.usefixtures("loaded")
def test_api_serves_evidence_and_check_date(client: TestClient) -> None:
    r = client.get("/api/v1/records/t_src:checked").json()
    assert r["evidence_url"] == EVIDENCE and r["checked_on"] == "2026-12-07"
    plain = client.get("/api/v1/records/t_src:plain").json()
    assert plain["evidence_url"] is None and plain["checked_on"] is None
    found = client.get("/api/v1/fairs", params={"q": "checked expo"}).json()["items"]
    hit = next(i for i in found if i["id"] == "t_src:checked")
    assert hit["evidence_url"] == EVIDENCE and hit["checked_on"] == "2026-12-07"


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "Checked on 7 Dec 2026 against"),
        ("fr", "Vérifié le 7 déc. 2026 sur"),
        ("es", "Comprobado el 7 dic 2026 en"),
    ],
)
def test_record_page_says_when_and_against_what_a_fact_was_checked(
    client: TestClient, lang: str, sentence: str
) -> None:
    html = client.get("/records/t_src:checked", params={"lang": lang}).text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).replace("\xa0", " ")
    assert sentence in text, text
    # the evidence page is a link, its address escaped in the attribute
    assert f'<a href="{EVIDENCE.replace("&", "&amp;")}"' in html
    own = client.get("/records/t_src:own-page", params={"lang": lang}).text
    assert EVIDENCE not in own
    plain = client.get("/records/t_src:plain", params={"lang": lang}).text
    assert sentence.split(" ")[0] not in plain


@pytest.mark.usefixtures("loaded")
def test_record_page_without_evidence_page_points_to_the_official_page(
    client: TestClient,
) -> None:
    html = client.get("/records/t_src:own-page").text
    assert "Checked on 1 Dec 2026 against the official page" in html


def test_agency_posts_evidence_with_a_curated_record(client: TestClient, store: Store) -> None:
    headers = {"Authorization": f"Bearer {create_key(store, 'agency_a', 'agency')}"}
    body = {
        "kind": "fair",
        "slug": "coffee-week",
        "title": "Coffee Week",
        "start_date": "2027-03-01",
        "evidence_url": EVIDENCE,
        "checked_on": "2026-12-07",
    }
    r = client.post("/api/v1/records", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["evidence_url"] == EVIDENCE and r.json()["checked_on"] == "2026-12-07"
    bad = client.post(
        "/api/v1/records",
        json={**body, "slug": "coffee-week-2", "checked_on": None},
        headers=headers,
    )
    assert bad.status_code in (400, 422), bad.text
    assert "checked_on" in bad.json()["error"]["message"]
    worse = client.post(
        "/api/v1/records",
        json={**body, "slug": "coffee-week-3", "evidence_url": "ftp://x.example.org/a"},
        headers=headers,
    )
    assert worse.status_code in (400, 422) and "evidence_url" in worse.json()["error"]["message"]
