"""Class: source specs that would fail only at crawl time. What a crawl would trip on is
refused when the source is saved, naming the field: selectors that do not compile, defaults a
record could not hold, oversized defaults."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from search_api.domain.sources import parse_source
from search_api.store import Store
from search_api.store.keys import create_key


def html(**selectors: object) -> dict[str, object]:
    return {
        "id": "xx_selectors",
        "name": "Selectors",
        "kind": "fair",
        "format": "html",
        "start_urls": ["https://example.org/"],
        "selectors": {"item": "div.event", "fields": {"title": "h2::text"}, **selectors},
    }


BAD_SELECTORS = [
    ({"item": "div[["}, "item"),
    ({"item": "//div["}, "item"),
    ({"fields": {"title": "h2::text(("}}, "fields.title"),
    ({"fields": {"title": "h2", "url": "a/@@href"}}, "fields.url"),
    ({"next": "a:nth-child(("}, "next"),
    ({"detail": {"summary": "p:unknown-pseudo"}}, "detail.summary"),
]


@pytest.mark.parametrize(("selectors", "field"), BAD_SELECTORS)
def test_selectors_that_do_not_compile_are_refused(
    selectors: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_source(html(**selectors))
    assert f"{field}:" in str(info.value)
    assert "not a valid CSS or XPath selector" in str(info.value)


def test_valid_css_and_xpath_selectors_are_kept() -> None:
    spec = parse_source(
        html(
            item="//div[@class='event']",
            fields={"title": "h2::text", "url": "a::attr(href)", "city": ".//span[1]/text()"},
            next="a.next::attr(href)",
        )
    )
    assert spec.selectors.item == "//div[@class='event']"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("selectors", "field"), BAD_SELECTORS[:3])
def test_the_api_answers_422_naming_the_selector(
    client: TestClient, store: Store, selectors: dict[str, object], field: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    r = client.post(
        "/api/v1/sources", json=html(**selectors), headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["message"]
    assert store.list_sources() == []


@pytest.mark.parametrize(
    "defaults", [{"markets": 5}, {"start_date": "soon"}, {"x": "y" * 2_000_000}]
)
def test_defaults_a_record_could_not_hold_are_refused(defaults: dict[str, object]) -> None:
    spec = html()
    spec["defaults"] = defaults
    with pytest.raises(ValidationError, match="defaults"):
        parse_source(spec)
