"""Webhooks end to end, against a real loopback HTTP receiver that verifies every signature with
the `standardwebhooks` package: registration and its checks, delivery of matching changes,
a receiver that fails, times out and recovers, disabling after the failure window, and the
rule that no change is lost and none is sent twice under different ids."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search.base import SearchBackend
from search_api.services import webhooks as wh
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.factories import fair
from tests.helpers.webhooks import Receiver, auth, register, run_until

# Commit order and id order differ on PostgreSQL unless the change log takes its lock.
pytestmark = pytest.mark.databases("sqlite", "postgresql")


# --------------------------------------------------------------------------- registering


def test_register_read_change_and_delete(api: TestClient, store: Store, receiver: Receiver) -> None:
    headers = auth(store)
    created = register(
        api, headers, receiver, search={"market": "Kenya", "kind": ["fair"]}, description="CRM"
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["search"] == {"kind": ["fair"], "market": ["KE"]}
    assert created["events"] == list(wh.EVENTS) and created["enabled"] is True
    hook_id = created["id"]
    shown = api.get(f"/api/v1/webhooks/{hook_id}", headers=headers).json()
    assert "secret" not in shown and shown["deliveries"] == {
        "pending": 0,
        "delivered": 0,
        "failed": 0,
    }
    # The secret is stored encrypted, never in clear.
    assert created["secret"] not in str(
        store.engine.connect().exec_driver_sql("SELECT secret FROM webhooks").all()
    )

    patched = api.patch(
        f"/api/v1/webhooks/{hook_id}",
        json={"events": ["record.withdrawn"], "search": "kind=requirement&market=EU&hs=0901"},
        headers=headers,
    ).json()
    assert patched["events"] == ["record.withdrawn"]
    assert patched["search"] == {"kind": ["requirement"], "market": ["EU"], "hs": "0901"}
    rotated = api.patch(
        f"/api/v1/webhooks/{hook_id}", json={"rotate_secret": True}, headers=headers
    )
    assert rotated.json()["secret"] != created["secret"]
    assert [h["id"] for h in api.get("/api/v1/webhooks", headers=headers).json()] == [hook_id]

    other = auth(store, "agency_gh")
    assert api.get("/api/v1/webhooks", headers=other).json() == []
    assert api.get(f"/api/v1/webhooks/{hook_id}", headers=other).status_code == 403
    assert api.delete(f"/api/v1/webhooks/{hook_id}", headers=other).status_code == 403
    assert api.get("/api/v1/webhooks").status_code == 401
    assert api.delete(f"/api/v1/webhooks/{hook_id}", headers=headers).status_code == 204
    assert api.get(f"/api/v1/webhooks/{hook_id}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"url": "ftp://example.org/x"}, "url"),
        ({"url": "https://user:pw@example.org/x"}, "url"),
        ({"url": "https://example.org/x", "events": ["record.eaten"]}, "events"),
        ({"url": "https://example.org/x", "events": []}, "events"),
        ({"url": "https://example.org/x", "search": {"market": "Atlantis"}}, "search.market"),
        ({"url": "https://example.org/x", "search": {"colour": "red"}}, "search.colour"),
        ({"url": "https://example.org/x", "search": {"date_from": "soon"}}, "search.date_from"),
        ({"url": "https://example.org/x", "search": 42}, "search"),
        ({"url": "https://example.org/x", "secret": "mine"}, "secret"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(
    api: TestClient, store: Store, body: dict, needle: str
) -> None:
    r = api.post("/api/v1/webhooks", json=body, headers=auth(store))
    assert r.status_code == 422, r.text
    assert needle in r.json()["error"]["message"]


def test_private_addresses_are_refused(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    strict = settings.model_copy(update={"allow_private_hosts": False})
    app = create_app(strict, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        for url in (
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.8/hook",
            "https://metadata.google.internal/x",
            "http://203.0.113.9/plain-http",
        ):
            r = c.post("/api/v1/webhooks", json={"url": url}, headers=auth(store, "agency_x"))
            assert r.status_code == 422 and "url" in r.json()["error"]["message"], url


def test_an_agency_has_a_limited_number_of_webhooks(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    headers = auth(store)
    for _ in range(hook_settings.webhooks_per_agency):
        register(api, headers, receiver)
    r = api.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_webhooks"


# --------------------------------------------------------------------------- delivering


def test_matching_changes_are_delivered_signed(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    store.upsert_records([fair("t_src:old")])  # before the webhook: not sent
    headers = auth(store)
    hook = register(api, headers, receiver, search={"market": "KE"})
    store.upsert_records([fair("t_src:ke"), fair("t_src:gh", country="GH", city="Accra")])
    store.upsert_records(
        [fair("t_src:ke", venue="KICC"), fair("t_src:gh", country="GH", venue="AICC")]
    )
    store.mark_missing("t_src", {"t_src:gh", "t_src:old"}, withdraw_after=1)
    run_until(hook_settings, store, lambda: len(receiver.accepted()) >= 3)
    wh.process(hook_settings, store)
    got = receiver.accepted()
    assert receiver.bad_signatures == 0
    assert [(g["payload"]["type"], g["payload"]["data"]["record_id"]) for g in got] == [
        ("record.created", "t_src:ke"),
        ("record.changed", "t_src:ke"),
        ("record.withdrawn", "t_src:ke"),
    ]
    changed = got[1]["payload"]["data"]
    assert changed["fields"] == ["venue"] and changed["record"]["venue"] == "KICC"
    assert got[2]["payload"]["data"]["record"]["withdrawn"] is True
    other = auth(store, "agency_gh")
    assert api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=other).status_code == 403
    entries = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).json()
    assert [d["event"] for d in entries] == [
        "record.withdrawn",
        "record.changed",
        "record.created",
    ]  # newest first
    assert [d["id"] for d in entries] == [g["id"] for g in reversed(got)]
    assert [d["status"] for d in entries] == ["delivered"] * 3
    assert all(d["attempts"] == 1 and d["last_status"] == 200 for d in entries)


def test_a_receiver_that_fails_times_out_and_recovers_loses_nothing(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    headers = auth(store)
    hook = register(api, headers, receiver, search={"market": "KE"})
    receiver.script = ["fail", "fail", "slow", "fail"]
    store.upsert_records([fair(f"t_src:{i}") for i in range(5)])
    store.upsert_records([fair("t_src:2", venue="KICC")])
    wh.process(hook_settings, store)  # the first attempt fails
    [first] = api.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries?status=pending&limit=1", headers=headers
    ).json()
    assert first["status"] == "pending"
    run_until(hook_settings, store, lambda: len(receiver.accepted()) >= 6)
    for _ in range(3):  # nothing more to send, nothing sent again
        wh.process(hook_settings, store)
    entries = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).json()
    assert len(entries) == 6 and {d["status"] for d in entries} == {"delivered"}
    # Every change arrived once; a retry came under the id of its first attempt.
    accepted = [g["id"] for g in receiver.accepted()]
    assert sorted(accepted) == sorted(d["id"] for d in entries)
    assert len(set(accepted)) == len(accepted) == 6
    events = {
        (g["payload"]["type"], g["payload"]["data"]["record_id"]) for g in receiver.accepted()
    }
    assert events == {("record.created", f"t_src:{i}") for i in range(5)} | {
        ("record.changed", "t_src:2")
    }
    retried = [d for d in entries if d["attempts"] > 1]
    assert retried and all(d["last_status"] == 200 for d in retried)
    all_ids = [g["id"] for g in receiver.got]
    assert set(all_ids) == set(accepted)  # failed attempts carried the same ids
    # The slow answer was a timeout on our side, then sent again.
    slow = [g["id"] for g in receiver.got if g["answer"] == "slow"]
    assert slow and all_ids.count(slow[0]) >= 2
    assert receiver.bad_signatures == 0
    state = api.get(f"/api/v1/webhooks/{hook['id']}", headers=headers).json()
    assert state["failing_since"] is None and state["last_success_at"]


def test_failing_errors_are_in_the_log(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    headers = auth(store)
    hook = register(api, headers, receiver)
    receiver.script = ["fail"]
    store.upsert_records([fair()])
    wh.process(hook_settings, store)
    [d] = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).json()
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_status"] == 500
    assert d["last_error"] == "HTTP 500: nope" and d["next_attempt_at"]
    receiver.script = ["slow"]
    time.sleep(1.1)
    wh.process(hook_settings, store)
    [d] = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).json()
    assert d["attempts"] == 2 and d["last_error"] == "timed out after 1 s"


def test_a_webhook_failing_too_long_is_disabled_and_resumes_when_enabled(
    api: TestClient,
    store: Store,
    receiver: Receiver,
    hook_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEPOINT_WEBHOOK_DISABLE_AFTER_DAYS", str(2 / 86400))  # 2 seconds
    settings = Settings()
    headers = auth(store)
    hook = register(api, headers, receiver)
    receiver.script = ["fail"] * 100
    store.upsert_records([fair("t_src:a")])
    deadline = time.monotonic() + 20
    while api.get(f"/api/v1/webhooks/{hook['id']}", headers=headers).json()["enabled"]:
        assert time.monotonic() < deadline
        wh.process(settings, store)
        time.sleep(0.3)
    state = api.get(f"/api/v1/webhooks/{hook['id']}", headers=headers).json()
    assert (
        "every delivery failed" in state["disabled_reason"]
        and "HTTP 500" in state["disabled_reason"]
    )
    # Disabled: nothing is sent, but changes are still kept for it.
    store.upsert_records([fair("t_src:b")])
    tried = len(receiver.got)
    wh.process(settings, store)
    assert len(receiver.got) == tried
    receiver.script = []
    enabled = api.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=headers)
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    run_until(settings, store, lambda: len(receiver.accepted()) >= 2)
    assert {g["payload"]["data"]["record_id"] for g in receiver.accepted()} == {
        "t_src:a",
        "t_src:b",
    }


def test_concurrent_dispatchers_make_each_delivery_once(
    api: TestClient, store: Store, receiver: Receiver
) -> None:
    register(api, auth(store), receiver)
    store.upsert_records([fair(f"t_src:{i}") for i in range(700)])  # more than one batch
    made: list[int] = []
    threads = [threading.Thread(target=lambda: made.append(wh.dispatch(store))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(made) == 700
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT change_id FROM webhook_deliveries").all()
    assert len(rows) == len({r[0] for r in rows}) == 700


def test_the_address_is_checked_again_before_each_attempt(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    headers = auth(store)
    hook = register(api, headers, receiver)
    store.upsert_records([fair()])
    strict = hook_settings.model_copy(update={"allow_private_hosts": False})
    wh.process(strict, store)
    assert receiver.got == []
    [d] = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers).json()
    assert d["last_error"].startswith("refused: 127.0.0.1 resolves to non-public address")


def test_a_deleted_record_is_sent_as_withdrawn(
    api: TestClient, store: Store, receiver: Receiver, hook_settings: Settings
) -> None:
    headers = auth(store)
    register(
        api, headers, receiver, search={"kind": "fair", "market": "GH"}, events=["record.withdrawn"]
    )
    body = {"kind": "fair", "slug": "expo", "title": "Accra Expo", "markets": ["GH"]}
    record_id = api.post("/api/v1/records", json=body, headers=headers).json()["id"]
    assert api.delete(f"/api/v1/records/{record_id}", headers=headers).status_code == 204
    run_until(hook_settings, store, lambda: len(receiver.accepted()) >= 1)
    [got] = receiver.accepted()
    data = got["payload"]["data"]
    assert got["payload"]["type"] == "record.withdrawn" and data["deleted"] is True
    assert data["record"]["title"] == "Accra Expo" and data["record_id"] == record_id


def test_serve_delivers_in_the_background(
    hook_settings: Settings, store: Store, backend: SearchBackend, receiver: Receiver
) -> None:
    app = create_app(hook_settings, store=store, backend=backend)
    with TestClient(app) as c:
        register(c, auth(store), receiver)
        store.upsert_records([fair()])
        deadline = time.monotonic() + 20
        while not receiver.accepted():
            assert time.monotonic() < deadline, "serve did not deliver"
            time.sleep(0.2)
    assert orjson.loads(orjson.dumps(receiver.accepted()[0]["payload"]))["type"] == "record.created"
