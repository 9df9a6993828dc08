"""`schemathesis` over the whole OpenAPI of the app (in-process ASGI): valid and invalid
requests to every operation; no 5xx, and every response matches its documented schema.

The app runs on a populated temp data dir (fairs, a requirement, a finance source, a source
owned by an agency) with a real SMTP server on loopback, and every request carries an admin
key, so the authenticated endpoints are exercised past their auth check.

Checks: no server error, the body matches the documented schema of its status, and the content
type is the documented one. Not checked: that each status code is documented, because the
routers document only 200/201/204 and 422 (401, 403, 404 and 409 are answered as the README
says, with the `{"error": ...}` body, but are not in the OpenAPI document).

Excluded, because they cannot run without side effects beyond this process:
- `POST /api/v1/sources/{source_id}/crawl` starts a crawl process that outlives the request;
- `POST /api/v1/sources/preview` starts a crawl process that fetches the generated URLs
  (the network, beyond loopback).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from search_api.app import create_app
from search_api.domain.records import parse_record
from search_api.domain.sources import parse_source
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.factories import fair
from tests.helpers.mail import smtp_server

EXCLUDED = {
    ("POST", "/api/v1/sources/{source_id}/crawl"),
    ("POST", "/api/v1/sources/preview"),
}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Examples per operation and mode; all parts together take well under a minute on two cores.
EXAMPLES = {"positive": 50, "negative": 25}


@pytest.fixture
def smtp_port() -> Iterator[int]:
    with smtp_server() as box:
        yield box.port


def _populate(store: Store, backend: SearchBackend) -> None:
    records = [
        fair("t_src:1"),
        fair("t_src:2", title="Salon de l'Agriculture", country="FR", start_date="2027-02-27"),
        parse_record(
            {
                "id": "t_src:req",
                "kind": "requirement",
                "title": "Coffee labelling <b>rules</b>",
                "source_id": "t_src",
                "markets": ["EU"],
                "hs_codes": ["0901"],
                "requirement_type": "labelling",
                "status": "in_force",
                "effective_date": "2026-01-01",
            }
        ),
        parse_record(
            {
                "id": "t_src:fin",
                "kind": "finance",
                "title": "Working capital guarantee",
                "source_id": "t_src",
                "provider": {"name": "Example EXIM", "type": "exim_bank"},
                "instruments": ["working_capital_guarantee"],
                "eligible_exporter_countries": ["KE"],
                "sme_focus": True,
                "min_amount": {"value": 10000, "currency": "USD"},
            }
        ),
    ]
    store.upsert_records(records)
    drain_outbox(store, backend)
    store.add_source(
        parse_source(
            dict(
                id="ke_agency_fairs",
                name="Agency fairs",
                kind="fair",
                format="schema_org",
                start_urls=["https://fairs.example.org/"],
                owner="agency_a",
            )
        )
    )


@pytest.fixture
def api(
    settings: Settings, store: Store, backend: SearchBackend, smtp_port: int
) -> Iterator[tuple[FastAPI, str]]:
    """The app on a populated data dir, and an admin key."""
    _populate(store, backend)
    key = create_key(store, "fuzz_admin", "admin")
    mail_settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_from": "tp@localhost"}
    )
    app = create_app(mail_settings, store=store, backend=backend, background_indexer=False)
    yield app, key


def _fuzz(operation: Any, mode: str, headers: dict[str, str]) -> str | None:
    """Run one operation's examples; the failure report, or None."""
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @hypothesis_settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,  # the same examples on every run: a failure is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        return None  # no invalid request exists (e.g. only a free-text path parameter)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises an ExceptionGroup
        return f"{operation.method.upper()} {operation.path} ({mode}): {exc}"
    return None


# Every mode over every operation, in parts that parallel test processes can share.
SHARDS = 2


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda n: f"part{n + 1}of{SHARDS}")
@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_every_operation_answers_without_5xx_and_as_documented(
    api: tuple[FastAPI, str], store: Store, backend: SearchBackend, mode: str, shard: int
) -> None:
    app, key = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # the whole API, not an empty schema
    tested = [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]
    assert len(tested) == len(operations) - len(EXCLUDED)  # exclusions name real operations

    # The same order in every part (the schema's), so the parts together are all operations.
    failures = [
        failure
        for operation in tested[shard::SHARDS]
        if (failure := _fuzz(operation, mode, headers))
    ]
    assert not failures, "\n\n".join(failures)
    # Whatever the API accepted, the search index accepts too: nothing blocks the outbox.
    drain_outbox(store, backend)
    assert store.outbox_size() == 0


_fair_bodies = st.fixed_dictionaries(
    {
        "kind": st.just("fair"),
        "title": st.text(min_size=1, max_size=40).filter(str.strip),
        "start_date": st.dates(),
        "end_date": st.dates(),
        "country": st.sampled_from(["KE", "FR", "BR", "ke", "XX"]),
        "sectors": st.lists(st.sampled_from(["coffee_tea_cocoa", "textiles", "nope"]), max_size=2),
    }
).map(
    lambda body: {**body, "start_date": str(body["start_date"]), "end_date": str(body["end_date"])}
)


def test_what_the_records_api_accepts_the_index_accepts(
    api: tuple[FastAPI, str], store: Store, backend: SearchBackend
) -> None:
    """A record the API stores must be indexable, or it blocks every change queued after it;
    anything else is refused with a 422 naming the field."""
    app, key = api

    @hypothesis_settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(body=_fair_bodies)
    def post(body: dict[str, Any]) -> None:
        resp = client.post("/api/v1/records", json=body, headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code in (201, 409, 422), resp.text  # 409: a title's slug again
        if resp.status_code != 201:
            message = resp.json()["error"]["message"]
            assert any(name in message for name in [*body, "slug"]), message
            return
        drain_outbox(store, backend)
        assert store.outbox_size() == 0

    before = store.count_records()
    with TestClient(app) as client:
        post()
    assert store.count_records() > before  # the accepting path was exercised too
