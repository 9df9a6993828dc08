"""The `api` format against a loopback API: query parameters, headers, secrets, POST bodies,
every kind of pagination, JMESPath fields into nested data, JSON:API joins, value maps and
records that amend others. Real crawls, in child processes, as in production."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.api_server import ApiRequest, ApiServer, Reply, api_server, json_reply
from tests.helpers.formats import crawl, errors_of, make_spec, records_of

pytestmark = pytest.mark.crawl

SECRET = "s3cr3t-key-5f1e"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TRADEPOINT_SECRET_TEST_API_KEY", SECRET)
    with api_server() as server:
        yield server


def notifications(request: ApiRequest) -> Reply:
    if request.headers.get("x-api-key") != SECRET:
        return json_reply({"error": "unauthorised"}, 401)
    if request.arg("language") != "1" or request.query.get("area[]") != ["SPS", "TBT"]:
        return json_reply({"error": "bad parameters"}, 400)
    page = int(request.arg("page") or "1")
    items = {
        1: [
            {
                "id": 1,
                "documentSymbol": " G/SPS/N/KOR/1",
                "area": "SPS",
                "notifyingMember": "Korea, Republic of",
                "titlePlain": "Maximum residue limits for pesticides",
                "hsCodes": [{"id": 7, "code": "030617"}, {"id": 8, "code": "0901"}],
                "distributionDate": "2026-11-03T00:00:00",
                "commentDeadlineDate": "2027-01-02T00:00:00",
                "venues": [{"country": "KR"}, {"country": "JP"}],
                "linkToNotification": "/notifications/1",
            },
            {
                "id": 2,
                "documentSymbol": "G/TBT/N/EU/1100",
                "area": "TBT",
                "notifyingMember": "European Union",
                "titlePlain": "Labelling of wine",
                "hsCodes": [],
                "distributionDate": "2026-11-04T00:00:00",
                "venues": [],
                "linkToNotification": "www.epingalert.org/en/Search?viewData=G/TBT/N/EU/1100",
            },
        ],
        2: [
            {
                "id": 3,
                "documentSymbol": "G/SPS/N/KOR/1/Add.1",
                "area": "SPS",
                "notifyingMember": "Korea, Republic of",
                "titlePlain": "Maximum residue limits for pesticides (addendum)",
                "hsCodes": [],
                "distributionDate": "2026-12-01T00:00:00",
                "proposedEntryIntoForceDate": "2027-06-01T00:00:00",
                "linkToNotification": "/notifications/3",
            }
        ],
    }.get(page, [])
    return json_reply({"data": {"items": items, "totalCount": 3}})


def notifications_spec(server: ApiServer, **api: Any) -> Any:
    options: dict[str, Any] = {
        "params": {"language": 1, "area[]": ["SPS", "TBT"]},
        "headers": {"X-Api-Key": "${TEST_API_KEY}"},
        "records": "data.items",
        "fields": {
            "title": "titlePlain",
            "legal_reference": "regex_replace(documentSymbol, '^\\s+|\\s+$', '')",
            "requirement_type": "area",
            "markets": "notifyingMember",
            "hs_codes": "hsCodes[].code",
            "origins": "venues[0].country",
            "published_date": "distributionDate",
            "comment_deadline": "commentDeadlineDate",
            "effective_date": "proposedEntryIntoForceDate",
            "url": "linkToNotification",
        },
        "values": {"requirement_type": {"SPS": "sps", "TBT": "tbt"}},
        "key": "regex_replace(documentSymbol, '^\\s+|/(Add|Corr|Rev)\\.\\d+.*$', '')",
        "newest": "distributionDate",
        "paginate": {"param": "page", "start": 1, "max_pages": 10},
    }
    options.update(api)
    return make_spec(
        id="xx_test_api",
        kind="requirement",
        format="api",
        start_urls=[server.url("/v1/notifications")],
        defaults={"status": "proposed"},
        withdraw_after_misses=0,
        api=options,
    )


def test_api_source_with_header_secret_params_and_page_parameter(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    api.route("/v1/notifications", notifications)
    outcome = crawl(settings, store, notifications_spec(api))
    assert outcome.ok, outcome.message
    assert errors_of(store, outcome) == []
    # pages 1, 2, then the empty page 3 ends the paging
    assert [r.arg("page") for r in api.hits("/v1/notifications")] == ["1", "2", "3"]
    assert all(r.headers["x-api-key"] == SECRET for r in api.hits("/v1/notifications"))
    records = {r.legal_reference: r for r in records_of(store, "xx_test_api").values()}
    assert set(records) == {"G/SPS/N/KOR/1/Add.1", "G/TBT/N/EU/1100"}
    # the addendum updated the notification it amends: one record, its newer values on top
    kor = records["G/SPS/N/KOR/1/Add.1"]
    assert kor.kind == "requirement"
    assert kor.title == "Maximum residue limits for pesticides (addendum)"
    assert kor.requirement_type == "sps"
    assert kor.markets == ["KR"]  # "Korea, Republic of" is one country, not two words
    assert kor.hs_codes == ["030617", "0901"]  # from the notification: the addendum has none
    assert kor.origins == ["KR"]
    assert kor.published_date == dt.date(2026, 12, 1)
    assert kor.comment_deadline == dt.date(2027, 1, 2)
    assert kor.effective_date == dt.date(2027, 6, 1)
    assert kor.status == "proposed"
    assert kor.url == api.url("/notifications/3")
    eu = records["G/TBT/N/EU/1100"]
    assert eu.kind == "requirement"
    assert eu.markets == ["EU"]
    assert eu.requirement_type == "tbt"
    assert eu.hs_codes == []
    # a scheme-less link is a host, not a path under the API
    assert eu.url == "https://www.epingalert.org/en/Search?viewData=G/TBT/N/EU/1100"


def test_addendum_first_or_last_gives_the_same_record(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    """`newest` decides, not the order pages arrive in: pages served newest first."""

    def reversed_pages(request: ApiRequest) -> Reply:
        flipped = {"1": "2", "2": "1"}.get(request.arg("page") or "", request.arg("page"))
        request.query["page"] = [flipped or "3"]
        return notifications(request)

    api.route("/v1/notifications", reversed_pages)
    outcome = crawl(settings, store, notifications_spec(api))
    assert outcome.ok, outcome.message
    kor = next(r for r in records_of(store, "xx_test_api").values() if "KOR" in str(r))
    assert kor.kind == "requirement"
    assert kor.title == "Maximum residue limits for pesticides (addendum)"
    assert kor.published_date == dt.date(2026, 12, 1)


def test_secrets_are_resolved_at_crawl_time_and_never_stored_or_shown(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    def in_query(request: ApiRequest) -> Reply:
        if request.arg("key") != SECRET:
            return json_reply({"error": "unauthorised"}, 401)
        if request.arg("page") == "2":
            return json_reply({"error": "boom"}, 500)
        return json_reply([{"name": "A rule", "link": "https://example.org/a"}])

    api.route("/search", in_query)
    spec = make_spec(
        id="xx_test_api_key_in_query",
        kind="requirement",
        format="api",
        start_urls=[api.url("/search?key=${TEST_API_KEY}")],
        api={"fields": {"title": "name", "url": "link"}, "paginate": {"param": "page"}},
    )
    assert spec.secrets() == ["TEST_API_KEY"]
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    # page 1, then page 2 (a 500, retried)
    assert {r.arg("key") for r in api.hits("/search")} == {SECRET}
    assert {r.arg("page") for r in api.hits("/search")} == {"1", "2"}
    errors = errors_of(store, outcome)
    assert errors and all(SECRET not in json.dumps(e) for e in errors)
    assert any("key=***" in e["url"] and "HTTP 500" in e["message"] for e in errors), errors
    (record,) = records_of(store, spec.id).values()
    assert record.source_url is not None and "key=***" in record.source_url
    # nothing in the database holds the value: the spec keeps the reference
    assert store.get_source(spec.id).start_urls == [api.url("/search?key=${TEST_API_KEY}")]
    with store.engine.connect() as conn:
        for table in ("sources", "records", "runs"):
            dump = json.dumps(
                [list(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
            )
            assert SECRET not in dump, table


def test_a_source_whose_secret_is_unset_fails_without_asking(
    api: ApiServer, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEPOINT_SECRET_TEST_API_KEY")
    api.route("/v1/notifications", notifications)
    outcome = crawl(settings, store, notifications_spec(api))
    assert outcome.status == "failed"
    assert outcome.message is not None
    assert "needs TRADEPOINT_SECRET_TEST_API_KEY" in outcome.message
    assert api.hits("/v1/notifications") == []


def test_post_with_a_json_body_and_the_page_in_the_body(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    def search(request: ApiRequest) -> Reply:
        if request.method != "POST" or request.headers.get("content-type") != "application/json":
            return json_reply({"error": "POST only"}, 405)
        body = request.json()
        assert body["query"] == {"text": "coffee"} and body["token"] == SECRET
        page = body["pageNumber"]
        rows = [{"title": f"Call {page}-{n}", "deadline": "12/31/2027"} for n in (1, 2)]
        return json_reply({"results": rows if page <= 2 else []})

    api.route("/search", search)
    spec = make_spec(
        id="xx_test_api_post",
        kind="requirement",
        format="api",
        start_urls=[api.url("/search")],
        date_order="MDY",
        api={
            "method": "POST",
            "body": {"query": {"text": "coffee"}, "token": "${TEST_API_KEY}"},
            "records": "results",
            "fields": {"title": "title", "comment_deadline": "deadline"},
            "key": "title",
            "paginate": {"param": "pageNumber", "location": "body", "start": 1},
        },
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert [r.json()["pageNumber"] for r in api.hits("/search")] == [1, 2, 3]
    records = records_of(store, spec.id)
    assert sorted(records) == ["Call 1-1", "Call 1-2", "Call 2-1", "Call 2-2"]
    assert {r.comment_deadline for r in records.values() if r.kind == "requirement"} == {
        dt.date(2027, 12, 31)
    }


def test_next_link_cursor_and_offset_pagination_bounded_by_max_pages(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    def linked(request: ApiRequest) -> Reply:
        page = int(request.arg("p") or "1")
        nxt = f"/linked?p={page + 1}" if page < 50 else None  # relative, as APIs often give it
        return json_reply({"results": [{"t": f"L{page}"}], "next_page_url": nxt})

    def cursored(request: ApiRequest) -> Reply:
        cursor = request.arg("cursor") or "start"
        following = {"start": "c2", "c2": "c3", "c3": None}[cursor]
        return json_reply({"items": [{"t": f"C-{cursor}"}], "meta": {"next": following}})

    def offsets(request: ApiRequest) -> Reply:
        offset = int(request.arg("$offset") or "0")
        rows = [{"t": f"O{n}"} for n in range(offset, min(offset + 2, 5))]
        return json_reply(rows)

    api.route("/linked", linked)
    api.route("/cursored", cursored)
    api.route("/offsets", offsets)
    cases = [
        ("linked", {"next": "next_page_url", "max_pages": 4}, "results"),
        ("cursored", {"param": "cursor", "cursor": "meta.next"}, "items"),
        ("offsets", {"param": "$offset", "start": 0, "step": 2}, None),
    ]
    for name, paginate, path in cases:
        spec = make_spec(
            id=f"xx_test_api_{name}",
            kind="fair",
            format="api",
            start_urls=[api.url(f"/{name}")],
            api={"records": path, "fields": {"title": "t"}, "key": "t", "paginate": paginate},
        )
        outcome = crawl(settings, store, spec)
        assert outcome.ok, (name, outcome.message)
    assert sorted(records_of(store, "xx_test_api_linked")) == ["L1", "L2", "L3", "L4"]
    assert "stopped at a page or time limit" in (
        store.list_runs("xx_test_api_linked")[0].message or ""
    )
    assert sorted(records_of(store, "xx_test_api_cursored")) == ["C-c2", "C-c3", "C-start"]
    assert sorted(records_of(store, "xx_test_api_offsets")) == ["O0", "O1", "O2", "O3", "O4"]
    assert [r.arg("$offset") for r in api.hits("/offsets")] == ["0", "2", "4", "6"]


def test_jsonapi_documents_are_joined_by_type_and_id(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    doc = {
        "data": {
            "id": "1",
            "type": "commodity",
            "attributes": {"code": "0901110000", "description": "Not decaffeinated"},
            "relationships": {
                "measures": {
                    "data": [{"id": "m1", "type": "measure"}, {"id": "m2", "type": "measure"}]
                }
            },
        },
        "included": [
            {
                "id": "m1",
                "type": "measure",
                "attributes": {"start": "2021-01-01T00:00:00.000Z"},
                "relationships": {
                    "measure_type": {"data": {"id": "360", "type": "measure_type"}},
                    "commodity": {"data": {"id": "1", "type": "commodity"}},  # a cycle
                },
            },
            {
                "id": "m2",
                "type": "measure",
                "attributes": {"start": "2022-03-01T00:00:00.000Z"},
                "relationships": {"measure_type": {"data": {"id": "103", "type": "measure_type"}}},
            },
            {"id": "360", "type": "measure_type", "attributes": {"description": "Phytosanitary"}},
            {"id": "103", "type": "measure_type", "attributes": {"description": "Duty"}},
        ],
    }
    api.route("/commodities/0901110000", lambda r: json_reply(doc))
    spec = make_spec(
        id="xx_test_api_jsonapi",
        kind="requirement",
        format="api",
        start_urls=[api.url("/commodities/0901110000")],
        time_zone="Europe/London",
        api={
            "records": "data.measures[?measure_type.id=='360']",
            "fields": {
                "title": "join(' ', [measure_type.description, _root.data.code])",
                "hs_codes": "_root.data.code",
                "effective_date": "start",
            },
        },
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    (record,) = records_of(store, spec.id).values()
    assert record.kind == "requirement"
    assert record.title == "Phytosanitary 0901110000"
    assert record.hs_codes == ["090111"]
    assert record.effective_date == dt.date(2021, 1, 1)


@pytest.mark.parametrize(
    ("api_options", "message"),
    [
        ({"fields": {"title": "a[?"}}, "invalid JMESPath"),
        ({"fields": {"colour": "a"}}, "not a field of requirement records"),
        ({"fields": {"title": "a"}, "body": {"x": 1}}, "with method POST"),
        ({"fields": {"title": "a"}, "paginate": {"next": "n", "param": "p"}}, "not both"),
        ({"fields": {"title": "a"}, "headers": {"K": "${lower}"}}, "secret"),
        ({"fields": {}}, "at least the title"),
    ],
)
def test_bad_api_options_are_refused_naming_the_field(
    api_options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("?", r"\?")):
        make_spec(
            id="xx_bad",
            kind="requirement",
            format="api",
            start_urls=["https://x.org/a"],
            api=api_options,
        )


def test_api_requests_obey_robots_txt_and_the_private_host_guard(
    api: ApiServer, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.route("/robots.txt", lambda r: (200, "text/plain", b"User-agent: *\nDisallow: /private/\n"))
    api.route("/private/search", lambda r: json_reply([{"t": "secret record"}]))
    spec = make_spec(
        id="xx_test_api_robots",
        kind="requirement",
        format="api",
        start_urls=[api.url("/private/search")],
        api={"method": "POST", "body": {"q": 1}, "fields": {"title": "t"}},
    )
    outcome = crawl(settings, store, spec)
    assert outcome.status == "failed"
    assert [e["message"] for e in errors_of(store, outcome)] == ["disallowed by robots.txt"]
    assert api.hits("/private/search") == []

    monkeypatch.setenv("TRADEPOINT_ALLOW_PRIVATE_HOSTS", "0")
    guarded = Settings()
    api.route("/open", lambda r: json_reply([{"t": "a record"}]))
    spec = spec.model_copy(update={"id": "xx_test_api_guard", "start_urls": [api.url("/open")]})
    outcome = crawl(guarded, store, spec)
    assert outcome.status == "failed"
    (error,) = errors_of(store, outcome)
    assert "non-public address" in error["message"]
    assert api.hits("/open") == []


def test_a_hostile_jsonapi_document_cannot_grow_the_join_without_bound() -> None:
    from crawlers.extract.api import JOIN_MAX_NODES, join_jsonapi

    n = 40  # every resource relates to every other: 40**4 paths at the join's depth
    refs = [{"id": str(j), "type": "x"} for j in range(n)]
    included = [
        {"id": str(i), "type": "x", "attributes": {"n": i}, "relationships": {"r": {"data": refs}}}
        for i in range(n)
    ]
    joined = join_jsonapi({"data": [{"id": "0", "type": "x"}], "included": included})

    def count(node: Any) -> int:
        if isinstance(node, dict):
            return 1 + sum(count(v) for v in node.values() if isinstance(v, dict | list))
        if isinstance(node, list):
            return sum(count(v) for v in node)
        return 0

    assert count(joined["data"]) < 2 * JOIN_MAX_NODES  # not 40**4 = 2,560,000
    assert joined["data"][0]["n"] == 0 and len(joined["data"][0]["r"]) == n


def test_an_amendment_in_a_later_run_keeps_what_the_stored_notification_said(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    """The source's window has moved on: run 2 sees only the addendum."""
    shown = {"pages": {1: "1"}}

    def window(request: ApiRequest) -> Reply:
        page = request.arg("page")
        if page != "1":
            request.query["page"] = ["99"]  # past the end
        else:
            request.query["page"] = [shown["pages"][1]]
        return notifications(request)

    api.route("/v1/notifications", window)
    spec = notifications_spec(api)
    assert crawl(settings, store, spec).ok
    shown["pages"][1] = "2"  # now only the addendum is listed
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    kor = next(r for r in records_of(store, "xx_test_api").values() if "KOR" in str(r))
    assert kor.kind == "requirement"
    assert kor.legal_reference == "G/SPS/N/KOR/1/Add.1"
    assert kor.effective_date == dt.date(2027, 6, 1)  # the addendum's
    assert kor.hs_codes == ["030617", "0901"]  # the notification's, kept
    assert kor.comment_deadline == dt.date(2027, 1, 2)
    assert kor.markets == ["KR"]


def test_a_next_link_to_another_host_is_not_followed_with_the_sources_keys(
    api: ApiServer, settings: Settings, store: Store
) -> None:
    """The source's headers carry its key: an API answer naming another host as its next
    page (a hijacked or misconfigured API) gets nothing from us."""

    def elsewhere(request: ApiRequest) -> Reply:
        other = api.url("/stolen").replace("127.0.0.1", "localhost")
        return json_reply({"results": [{"t": "R1"}], "next_page_url": other})

    api.route("/first", elsewhere)
    api.route("/stolen", lambda request: json_reply({"results": []}))
    spec = make_spec(
        id="xx_test_api_next_elsewhere",
        kind="fair",
        format="api",
        start_urls=[api.url("/first")],
        api={
            "records": "results",
            "fields": {"title": "t"},
            "key": "t",
            "headers": {"x-api-key": "${TEST_API_KEY}"},
            "paginate": {"next": "next_page_url"},
        },
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert sorted(records_of(store, spec.id)) == ["R1"]
    assert api.hits("/stolen") == []


def test_a_secret_with_url_reserved_characters_is_masked_as_urls_carry_it(
    api: ApiServer, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ab+c/d=q 7"
    monkeypatch.setenv("TRADEPOINT_SECRET_TEST_API_KEY", secret)

    def failing(request: ApiRequest) -> Reply:
        assert request.arg("key") == secret
        return json_reply({"error": "boom"}, 500)

    api.route("/search", failing)
    spec = make_spec(
        id="xx_test_api_reserved_key",
        kind="requirement",
        format="api",
        start_urls=[api.url("/search")],
        api={"fields": {"title": "name"}, "params": {"key": "${TEST_API_KEY}"}},
    )
    outcome = crawl(settings, store, spec)
    dump = json.dumps(errors_of(store, outcome)) + (outcome.message or "")
    assert "key=***" in dump, dump
    for form in ("ab+c/d=q", "ab%2Bc%2Fd%3Dq", "ab%2Bc", "c/d=q"):
        assert form not in dump, form
