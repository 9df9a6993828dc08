"""Backend contract, products: a product (an HS code) keeps the rules that apply to every
product and the fairs of its sectors. Every backend must pass these unchanged.

Only `SearchBackend` and `SearchQuery` are used; the product's sectors are the caller's to
give (`hs_sectors`, from search_api/domain/hs_sectors.py), so these cases hold for any backend.
"""

from __future__ import annotations

from typing import Any

import pytest

from search_api.domain.records import parse_record
from search_api.search.base import SearchBackend, SearchQuery
from tests.helpers.samples import expected_facets, facet_pairs, ids


def _rec(id: str, kind: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "kind": kind, "title": f"Record {id}", "source_id": f"t_{kind}", **kw}


RAW = [
    _rec("req-coffee", "requirement", hs_codes=["0901"], markets=["EU"]),
    _rec("req-all", "requirement", markets=["FR"], summary="Packaging law for every product"),
    _rec("req-wool", "requirement", hs_codes=["51"], markets=["DE"]),
    _rec("req-all-cn", "requirement", origins=["CN"]),
    _rec("fin-all", "finance", provider={"name": "ECA", "type": "eca"}),
    _rec("fin-coffee", "finance", hs_codes=["09"]),
    _rec("fin-cars", "finance", hs_codes=["87"]),
    _rec("fair-food", "fair", sectors=["food", "beverages"], country="FR"),
    _rec("fair-toys", "fair", sectors=["toys"], country="DE"),
    _rec("fair-general", "fair", sectors=["multi_sector"], country="FR"),
    _rec("fair-coded", "fair", sectors=["toys"], hs_codes=["090121"], country="FR"),
    _rec("fair-unknown", "fair", country="FR"),
    _rec("fair-textiles", "fair", sectors=["textiles", "home_decor"], country="DE"),
]
RECORDS = [parse_record(dict(r)) for r in RAW]
EVERY_PRODUCT = {"req-all", "req-all-cn", "fin-all"}


@pytest.fixture
def products(backend: SearchBackend) -> SearchBackend:
    backend.index(RECORDS)
    return backend


def found(backend: SearchBackend, **kw: Any) -> set[str]:
    result = backend.search(SearchQuery(size=100, **kw))
    assert result.total == len(result.items)
    return set(ids(result))


@pytest.mark.parametrize(
    ("hs", "expected"),
    [
        ("090121", {"req-coffee", "fin-coffee", "fair-coded"}),
        ("09", {"req-coffee", "fin-coffee", "fair-coded"}),
        ("5102", {"req-wool"}),
        ("8703", {"fin-cars"}),
        ("85", set()),
    ],
)
def test_records_without_hs_codes_apply_to_every_product(
    products: SearchBackend, hs: str, expected: set[str]
) -> None:
    # without sectors, fairs match only through a code of theirs
    assert found(products, hs=hs) == expected | EVERY_PRODUCT


@pytest.mark.parametrize(
    ("hs", "sectors", "fairs"),
    [
        ("090121", ("coffee_tea_cocoa", "food", "multi_sector"), {"fair-food", "fair-general"}),
        ("5102", ("textiles", "apparel", "multi_sector"), {"fair-textiles", "fair-general"}),
        ("5102", ("apparel",), set()),
        ("9503", ("toys",), {"fair-toys"}),
    ],
)
def test_fairs_without_hs_codes_match_by_sector(
    products: SearchBackend, hs: str, sectors: tuple[str, ...], fairs: set[str]
) -> None:
    got = found(products, hs=hs, hs_sectors=sectors, kind=("fair",))
    # a fair tagged with codes is matched on them, never on its sectors; a fair without
    # sectors never matches a product
    coded = {"fair-coded"} if hs.startswith("09") else set()
    assert got == fairs | coded


def test_product_filter_with_other_filters(products: SearchBackend) -> None:
    assert found(products, hs="0901", kind=("requirement",), markets=("FR", "EU")) == {
        "req-coffee",
        "req-all",
    }
    assert found(products, hs="0901", origins=("KE", "EAC")) == {
        "req-coffee",
        "req-all",
        "fin-coffee",
        "fin-all",
        "fair-coded",
    }
    assert found(products, hs="0901", q="packaging") == {"req-all"}
    assert found(products, hs="0901", hs_sectors=("food",), markets=("DE",)) == set()


def test_product_sectors_change_the_facets(products: SearchBackend) -> None:
    # A backend that keeps facet counts between searches must tell these two apart.
    for sectors in ((), ("food",), ("toys",)):
        result = products.search(SearchQuery(hs="5102", hs_sectors=sectors, size=100))
        hits = [r for r in RECORDS if r.id in set(ids(result))]
        assert facet_pairs(result) == expected_facets(hits), sectors
