"""The JSON API through the in-process client, on a real store and a real index."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.store import Store
from tests.helpers.factories import fair, parse_record

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")

NEXT_YEAR = date.today().year + 1


@pytest.fixture
def loaded(store: Store, backend: SearchBackend) -> None:
    records = [
        fair(
            "t_src:coffee",
            "East Africa Coffee Expo",
            country="KE",
            start_date=f"{NEXT_YEAR}-03-10",
            end_date=f"{NEXT_YEAR}-03-12",
            summary="Roasters and traders.",
            sectors=["coffee_tea_cocoa", "food"],
            language="en",
        ),
        fair(
            "t_src:anuga",
            "Anuga food fair",
            country="DE",
            city="Köln",
            start_date=f"{NEXT_YEAR}-10-09",
            end_date=f"{NEXT_YEAR}-10-13",
            sectors=["food"],
            language="de-DE",
        ),
        fair(
            "t_src:textile",
            "Andean Textile Fair",
            country="PE",
            city="Lima",
            start_date=f"{NEXT_YEAR}-09-21",
            end_date=f"{NEXT_YEAR}-09-24",
            sectors=["textiles"],
            status="cancelled",
            language="Spanish",
        ),
        fair(
            "t_src:past",
            "Past Packaging Week",
            country="AE",
            city="Dubai",
            start_date="2020-05-04",
            end_date="2020-05-06",
            sectors=["packaging"],
        ),
        parse_record(
            {
                "id": "t_src:req",
                "kind": "requirement",
                "title": "Food labelling rules",
                "source_id": "t_src",
                "markets": ["EU"],
                "hs_codes": ["09"],
                "requirement_type": "labelling",
            }
        ),
    ]
    store.upsert_records(records)
    drain_outbox(store, backend)


def titles(resp) -> list[str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text
    return [i["title"] for i in resp.json()["items"]]


@pytest.mark.usefixtures("loaded")
def test_search_by_words_market_and_dates(client: TestClient) -> None:
    assert titles(client.get("/api/v1/search", params={"q": "coffee"})) == [
        "East Africa Coffee Expo"
    ]
    # A German market search also finds EU-wide rules (DE is an EU member).
    in_germany = ["Anuga food fair", "Food labelling rules"]
    assert sorted(titles(client.get("/api/v1/search", params={"market": "DE"}))) == in_germany
    assert sorted(titles(client.get("/api/v1/search", params={"market": "Germany"}))) == in_germany
    assert titles(client.get("/api/v1/search", params={"market": "DE", "kind": "fair"})) == [
        "Anuga food fair"
    ]
    got = titles(
        client.get(
            "/api/v1/search",
            params={
                "kind": "fair",
                "date_from": f"{NEXT_YEAR}-09-01",
                "date_to": f"{NEXT_YEAR}-09-30",
            },
        )
    )
    assert got == ["Andean Textile Fair"]
    body = client.get("/api/v1/search", params={"q": "food"}).json()
    assert body["total"] == 2 and body["page"] == 1 and body["size"] == 20
    assert {f["value"]: f["count"] for f in body["facets"]["kind"]} == {"fair": 1, "requirement": 1}


@pytest.mark.usefixtures("loaded")
def test_search_by_language_of_the_records(client: TestClient) -> None:
    def by_lang(*values: str, path: str = "/api/v1/search") -> list[str]:
        return sorted(titles(client.get(path, params=[("lang", v) for v in values])))

    # stored as codes, whatever the source wrote ("de-DE", "Spanish")
    assert by_lang("es") == ["Andean Textile Fair"]
    assert by_lang("de") == ["Anuga food fair"]
    # a tag, a name or a 3-letter code asks for the same language
    assert by_lang("es-419") == by_lang("Spanish") == by_lang("spa") == ["Andean Textile Fair"]
    assert by_lang("en", "de") == by_lang("en,de") == ["Anuga food fair", "East Africa Coffee Expo"]
    assert by_lang("fr") == []
    assert by_lang("en", path="/api/v1/fairs") == ["East Africa Coffee Expo"]
    ics = client.get("/api/v1/fairs.ics", params={"lang": "de"}).text
    assert "Anuga food fair" in ics and "Coffee Expo" not in ics
    # records with no language are found without the filter
    assert "Food labelling rules" in titles(client.get("/api/v1/search", params={"q": "food"}))


@pytest.mark.usefixtures("loaded")
def test_items_carry_record_fields(client: TestClient) -> None:
    item = client.get("/api/v1/search", params={"q": "coffee"}).json()["items"][0]
    for key in (
        "id",
        "title",
        "start_date",
        "end_date",
        "status",
        "city",
        "country",
        "markets",
        "url",
        "source_id",
        "first_seen",
        "last_seen",
    ):
        assert key in item
    assert (item["start_date"], item["country"], item["city"]) == (
        f"{NEXT_YEAR}-03-10",
        "KE",
        "Nairobi",
    )


@pytest.mark.usefixtures("loaded")
def test_fairs_are_upcoming_first(client: TestClient) -> None:
    got = titles(client.get("/api/v1/fairs"))
    assert got == ["East Africa Coffee Expo", "Andean Textile Fair", "Anuga food fair"]
    assert "Past Packaging Week" in titles(
        client.get("/api/v1/fairs", params={"date_to": "2021-01-01"})
    )


@pytest.mark.usefixtures("loaded")
def test_record_endpoint_and_404(client: TestClient) -> None:
    r = client.get("/api/v1/records/t_src:anuga")
    assert r.status_code == 200 and r.json()["city"] == "Köln"
    r = client.get("/api/v1/records/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "record 'nope' not found"}}


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"kind": "rocket"}, 400, "kind: unknown kind 'rocket'"),
        ({"market": "Narnia"}, 400, "market: unknown market 'Narnia'"),
        ({"sector": "spaceships"}, 400, "sector: unknown sector"),
        ({"status": "maybe"}, 400, "status: unknown status"),
        ({"hs": "abc"}, 400, "hs: 'abc' is not an HS code"),
        ({"date_from": "2027-13-45"}, 422, "date_from"),
        ({"date_from": "2027-05-01", "date_to": "2027-04-01"}, 400, "date_to: must not be before"),
        ({"page": "0"}, 422, "page"),
        ({"size": "1000"}, 422, "size"),
        ({"sort": "random"}, 422, "sort"),
        ({"page": "9999", "size": "100"}, 400, "page * size"),
        ({"q": "x" * 600}, 422, "q"),
        ({"lang": "xx"}, 400, "lang: unknown language 'xx'"),
        ({"lang": "und"}, 400, "lang: unknown language 'und'"),
    ],
)
def test_bad_parameters_get_4xx_with_a_message(
    client: TestClient, params: dict[str, str], status: int, fragment: str
) -> None:
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert fragment in error["message"]
    assert error["code"] == "invalid_parameter"


HOSTILE = [
    "C++",
    '"unbalanced',
    "title:foo AND (",
    "*",
    "\x00",
    "-",
    "a" * 500,
    "🙂 fair",
    "' OR 1=1; DROP TABLE records; --",
    "<script>alert(1)</script>",
    "%",
    "\\",
    "[1 TO",
    "NOT",
    "field:",
    "~2",
    "^3",
    "((((",
    "))))",
    "a:b:c",
    "\u202e",
    "..",
    "/regex/",
]


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_500(client: TestClient, q: str) -> None:
    r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["total"], int)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["search"] == "ok"


def test_openapi_documents_the_search(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {
        "q",
        "kind",
        "market",
        "sector",
        "status",
        "hs",
        "date_from",
        "date_to",
        "page",
        "size",
        "sort",
    } <= params
    assert client.get("/docs").status_code == 200


def test_dates_overlap_edges(client: TestClient, store: Store, backend: SearchBackend) -> None:
    start = date.today() + timedelta(days=30)
    store.upsert_records(
        [
            fair(
                "t_src:x",
                "Edge Fair",
                start_date=start.isoformat(),
                end_date=(start + timedelta(days=2)).isoformat(),
            )
        ]
    )
    drain_outbox(store, backend)
    last_day = (start + timedelta(days=2)).isoformat()
    assert titles(client.get("/api/v1/search", params={"date_from": last_day})) == ["Edge Fair"]
    day_after = (start + timedelta(days=3)).isoformat()
    assert titles(client.get("/api/v1/search", params={"date_from": day_after})) == []
