"""Curated records kept by hand in a CSV file (the `curated` format's second file type)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.extract.fields import coerce_fields
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import crawl, errors_of, make_spec, search_ids
from tests.helpers.sites import SITES, SiteServer, serve_copy


@pytest.fixture
def curated_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("curated", tmp_path) as site:
        yield site


def test_strict_reading_keeps_what_it_cannot_map_for_validation_to_name() -> None:
    coerced = coerce_fields(
        {"markets": "KE; Narnia", "instruments": "Factoring", "effective_date": "31/02/2026"},
        "finance",
        strict=True,
    )
    # "effective_date" is not a finance field: reported, not kept
    assert coerced.values == {"markets": ["KE", "Narnia"], "instruments": ["factoring"]}
    assert coerced.unmapped == ["effective_date"] and coerced.problems == []


@pytest.mark.crawl
def test_curated_csv_over_http(
    settings: Settings, store: Store, backend: SearchBackend, curated_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_curated_finance",
        kind="finance",
        format="curated",
        start_urls=[curated_site.url("/finance.csv")],
        owner="agency_a",
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    run = store.get_run(outcome.run_id)
    assert (run.items_new, run.items_failed) == (2, 3)
    assert "unmapped: colour" in (outcome.message or "")
    cover = store.get_record("xx_curated_finance:ke-sme-cover")
    assert cover is not None and cover.kind == "finance"
    assert cover.curated_by == "agency_a" and cover.as_of == dt.date(2026, 11, 22)
    assert cover.provider is not None
    assert (cover.provider.name, cover.provider.type) == ("Fixture Export Credit Agency", "eca")
    assert cover.instruments == ["credit_insurance", "factoring"]
    assert (cover.eligible_exporter_countries, cover.destinations) == (["KE", "UG"], ["EU"])
    assert cover.min_amount is not None and cover.max_amount is not None
    assert (cover.min_amount.value, cover.min_amount.currency) == (10_000, "USD")
    assert (cover.max_amount.value, cover.max_amount.currency) == (1_000_000, "USD")
    assert (cover.sme_focus, cover.tenor_max_days) == (True, 180)
    assert cover.sectors == ["food", "coffee_tea_cocoa"]
    cocoa = store.get_record("xx_curated_finance:gh-prefinance")
    assert cocoa is not None and cocoa.kind == "finance"
    assert cocoa.eligible_exporter_countries == ["GH", "CI"]
    assert (cocoa.sme_focus, cocoa.tenor_max_days) == (False, 365)
    url = curated_site.url("/finance.csv")
    messages = [e["message"] for e in errors_of(store, outcome) if e["url"] == url]
    assert len(messages) == 3
    typo = next(m for m in messages if m.startswith("bad-country: "))
    bad_id = next(m for m in messages if m.startswith("row 5: "))
    magic = next(m for m in messages if m.startswith("magic: "))
    # every bad field of a row is named, as for a YAML record
    assert "eligible_exporter_countries: unknown market code 'Narnia'" in typo
    assert "as_of: " in typo
    assert "id 'bad id/../x' may only contain" in bad_id
    assert "instruments.0" in magic and "provider.type" in magic
    assert search_ids(store, backend, q="small exporters receivables") == {cover.id}


@pytest.mark.crawl
def test_curated_csv_from_a_local_file_and_yaml_alike(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "requirements.csv"
    data.write_text(
        "id;title;markets;requirement_type;hs_codes;effective_date;status\n"
        "ke-honey;Honey labelling;Kenya;Labelling;0409;2027-01-01;in force\n",
        encoding="utf-8",
    )
    spec = make_spec(
        id="xx_curated_requirements",
        kind="requirement",
        format="curated",
        start_urls=[data.as_uri()],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    honey = store.get_record("xx_curated_requirements:ke-honey")
    assert honey is not None and honey.kind == "requirement"
    assert (honey.markets, honey.requirement_type, honey.status) == (
        ["KE"],
        "labelling",
        "in_force",
    )
    assert (honey.hs_codes, honey.effective_date) == (["0409"], dt.date(2027, 1, 1))
    # the same records as YAML load exactly as before
    yaml_file = tmp_path / "requirements.yml"
    yaml_file.write_text(
        "records:\n  - {id: ke-honey, title: Honey labelling, markets: [KE],"
        " requirement_type: labelling, hs_codes: ['0409'], effective_date: 2027-01-01,"
        " status: in_force}\n"
    )
    again = crawl(settings, store, spec.model_copy(update={"start_urls": [yaml_file.as_uri()]}))
    assert again.ok and store.get_run(again.run_id).items_unchanged == 1


def test_the_fixture_file_is_what_the_tests_describe() -> None:
    # guards the row numbers the assertions above rely on
    lines = (SITES / "curated" / "finance.csv").read_text().splitlines()
    assert lines[4].startswith("bad id/../x,")
