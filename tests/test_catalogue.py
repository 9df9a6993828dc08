"""The starter catalogue shipped in crawlers/data: real records, loaded through the curated
pipeline, each with an official https URL and the date its facts were written down."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers.catalogue import FILES, load


@pytest.mark.parametrize("stem", sorted(FILES))
def test_catalogue_loads_without_validation_errors(stem: str) -> None:
    records = load(stem)
    kind, minimum = FILES[stem]
    assert len(records) >= minimum
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert r.kind == kind
        assert r.url and r.url.startswith("https://"), r.id
        assert r.as_of is not None, r.id


def test_requirements_cover_ten_markets_with_legal_references() -> None:
    records = load("requirements")
    markets = Counter(m for r in records for m in r.markets)
    assert len(markets) >= 10
    assert {"EU", "US", "GB", "JP", "CN", "CA", "AU", "IN"} <= set(markets)
    assert all(r.kind == "requirement" and r.legal_reference for r in records)
    assert any(
        r.kind == "requirement" and "1169/2011" in (r.legal_reference or "") for r in records
    )


def test_finance_sources_say_how_to_use_them() -> None:
    records = load("finance")
    for r in records:
        assert r.kind == "finance"
        assert r.provider is not None and r.provider.type, r.id
        assert r.instruments, r.id
    kinds = Counter(r.provider.type for r in records if r.kind == "finance" and r.provider)
    assert kinds["eca"] + kinds["exim_bank"] >= 20 and kinds["development_bank"] >= 3
