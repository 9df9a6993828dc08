"""The crawler never reaches loopback, private, link-local or metadata addresses unless allowed."""

from __future__ import annotations

import pytest
from scrapy import Request

from crawlers.middlewares import PrivateHostGuard, PrivateHostRefused, refused_reason
from search_api.domain.sources import parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import SiteServer


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://172.16.0.1/",
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_private_and_metadata_addresses_are_refused(url: str) -> None:
    assert refused_reason(url) is not None
    with pytest.raises(PrivateHostRefused):
        PrivateHostGuard(allow_private=False).process_request(Request(url))


def test_public_addresses_and_operator_files_pass() -> None:
    assert refused_reason("http://8.8.8.8/") is None  # an IP literal: no DNS needed
    assert refused_reason("file:///srv/tradepoint/fairs.yml") is None
    assert PrivateHostGuard(allow_private=True).process_request(Request("http://10.0.0.1/")) is None


def test_a_redirect_to_a_private_address_is_refused_too() -> None:
    # Scrapy schedules a redirect as a new request, which passes the guard again.
    first = Request("http://8.8.8.8/fairs")
    redirected = first.replace(url="http://169.254.169.254/latest/meta-data/")
    guard = PrivateHostGuard(allow_private=False)
    assert guard.process_request(first) is None
    with pytest.raises(PrivateHostRefused):
        guard.process_request(redirected)


@pytest.mark.crawl
@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"])
def test_crawl_with_guard_on_sends_nothing(
    settings: Settings, store: Store, target: str, fair_site: SiteServer
) -> None:
    spec = parse_source(
        dict(
            id="xx_guarded",
            name="x",
            kind="fair",
            format="schema_org",
            start_urls=[target, fair_site.url("/fairs/index.html")],
        )
    )
    store.add_source(spec)
    outcome = run_crawl(settings, spec.id, store, env={"TRADEPOINT_ALLOW_PRIVATE_HOSTS": "0"})
    assert outcome.status == "failed"
    assert fair_site.requested == []  # not even robots.txt
    errors = store.get_run(outcome.run_id).errors
    assert {e["url"] for e in errors} == {target, fair_site.url("/fairs/index.html")}
    assert all("non-public address" in e["message"] for e in errors)
