"""The search backend contract: every backend must pass these tests unchanged.

Only the `SearchBackend` interface is used here (no backend internals).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from search_api.domain.records import AnyRecord, parse_record
from search_api.domain.vocab import SECTORS
from search_api.search.base import Phrase, SearchBackend, SearchQuery, SearchResult
from tests.helpers.samples import expected_facets, facet_pairs, ids, sample_records

ALL_VISIBLE = {r.id for r in sample_records() if not r.withdrawn}


def search(backend: SearchBackend, **kw) -> SearchResult:
    kw.setdefault("size", 100)
    return backend.search(SearchQuery(**kw))


def id_set(backend: SearchBackend, **kw) -> set[str]:
    result = search(backend, **kw)
    assert result.total == len(result.items), "test expects everything on one page"
    return set(ids(result))


# --------------------------------------------------------------------------- basics


def test_empty_backend(backend: SearchBackend) -> None:
    assert backend.ping() is True
    assert backend.count() == 0
    result = search(backend)
    assert result.total == 0
    assert result.items == []
    result = search(backend, q="coffee", kind=("fair",), hs="09", date_from=date(2025, 1, 1))
    assert result.total == 0


def test_count_and_ping(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    assert loaded.ping() is True
    assert loaded.count() == len(records)  # withdrawn records are indexed, just not shown


def test_match_all_excludes_withdrawn(loaded: SearchBackend) -> None:
    assert id_set(loaded) == ALL_VISIBLE
    assert id_set(loaded, q="   ") == ALL_VISIBLE


def test_include_withdrawn(loaded: SearchBackend) -> None:
    assert "f-old-textile" not in id_set(loaded, q="textile")
    assert id_set(loaded, q="textile", include_withdrawn=True) == {"f-old-textile"}
    assert id_set(loaded, include_withdrawn=True) == ALL_VISIBLE | {"f-old-textile"}


def test_items_round_trip(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    by_id = {r.id: r for r in records}
    result = search(loaded, include_withdrawn=True)
    assert len(result.items) == len(records)
    for item in result.items:
        original = by_id[item["id"]]
        assert item == original.model_dump(mode="json")
        assert parse_record(item) == original


# --------------------------------------------------------------------------- text


def test_single_word(loaded: SearchBackend) -> None:
    assert id_set(loaded, q="gulfood") == {"f-gulfood"}
    assert id_set(loaded, q="GULFOOD") == {"f-gulfood"}


def test_multiple_words_are_anded(loaded: SearchBackend) -> None:
    assert id_set(loaded, q="coffee expo") == {"f-nairobi"}
    assert id_set(loaded, q="roasted coffee") == {"r-eu-coffee", "r-fr-roasted"}
    assert id_set(loaded, q="coffee gulfood") == set()
    # a word may match in any text field: "specialty" is in the summary, "chocolate" in text
    assert id_set(loaded, q="specialty chocolate") == {"f-fancyfood"}


def test_title_boost_ordering(loaded: SearchBackend) -> None:
    result = search(loaded, q="coffee", kind=("fair",))
    order = ids(result)
    # title match outranks a match only in the body text
    assert set(order) == {"f-nairobi", "f-fancyfood"}
    assert order.index("f-nairobi") < order.index("f-fancyfood")
    # and a title match outranks a summary-only match ("coffeehouse" is another word)
    result = search(loaded, q="food")
    order = ids(result)
    assert order.index("f-anuga") < order.index("r-us-spices")
    assert order.index("f-fancyfood") < order.index("r-us-spices")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("besancon", {"f-besancon"}),
        ("Besançon", {"f-besancon"}),
        ("BESANÇON", {"f-besancon"}),
        ("cafe", {"f-cafe-expo"}),
        ("Café", {"f-cafe-expo"}),
        ("regional", {"f-besancon"}),  # "régional" in the summary
        ("koln", {"f-anuga"}),  # city
    ],
)
def test_accent_folding(loaded: SearchBackend, q: str, expected: set[str]) -> None:
    assert id_set(loaded, q=q) == expected


def test_punctuation_is_not_syntax(loaded: SearchBackend) -> None:
    assert id_set(loaded, q="coffee, expo!") == {"f-nairobi"}
    assert id_set(loaded, q='"nairobi') == {"f-nairobi"}
    assert id_set(loaded, q="title:gulfood") == set()  # "title" is a word like any other
    assert id_set(loaded, q="gulfood -dubai") == {"f-gulfood"}  # no negation syntax


HOSTILE_QUERIES = [
    "C++",
    '"unbalanced',
    "title:foo AND (",
    "*",
    "?",
    "%00",
    "\x00",
    "-",
    "--",
    "+",
    "~",
    "^2",
    "a~2",
    "[1 TO *]",
    "{a TO b}",
    "foo:bar:baz",
    "'; DROP TABLE records; --",
    "' OR 1=1 --",
    '" OR ""="',
    "<script>alert(1)</script>",
    "\\",
    "/regex.*/",
    "(((((",
    ")))",
    "AND",
    "OR NOT",
    "😀☕🇰🇪",
    "咖啡 コーヒー кофе قهوة",
    "\u200b\u200d\ufeff",
    "x" * 500,
    " ".join(["coffee"] * 70),
    "%s%s%n",
    "${jndi:ldap://x}",
    "café\tcoffee\nexpo\r",
]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_hostile_queries_never_raise(loaded: SearchBackend, q: str) -> None:
    for sort in ("relevance", "date", "-date"):
        result = search(loaded, q=q, sort=sort)
        assert result.total >= 0
        assert len(result.items) <= result.total


def test_very_long_query_never_raises(loaded: SearchBackend) -> None:
    # 10 kB of junk, bypassing SearchQuery's length validation: backends must cope anyway
    junk = ('zq#(!:"- AND coffee ]' * 500)[:10_000]
    result = loaded.search(SearchQuery.model_construct(q=junk))
    assert result.total >= 0


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": ("finance",)}, {"fin-ke", "fin-us"}),
        (
            {"kind": ("requirement", "finance")},
            {"r-eu-coffee", "r-fr-roasted", "r-us-spices", "r-eu-bakery", "fin-ke", "fin-us"},
        ),
        ({"markets": ("KE",)}, {"f-nairobi", "fin-ke"}),
        ({"markets": ("EU",)}, {"r-eu-coffee", "r-eu-bakery"}),
        ({"markets": ("GCC", "FR")}, {"f-gulfood", "f-besancon", "f-sial", "r-fr-roasted"}),
        ({"sectors": ("beverages",)}, {"f-anuga", "f-gulfood"}),
        (
            {"sectors": ("agriculture", "gifts")},
            {"f-besancon", "f-nairobi", "fin-ke", "f-ambiente"},
        ),
        ({"status": ("cancelled",)}, {"f-nairobi"}),
        ({"status": ("in_force", "rescheduled")}, {"r-eu-coffee", "r-us-spices", "f-sial"}),
        # AND across filters
        ({"kind": ("fair",), "markets": ("US",)}, {"f-fancyfood", "f-cafe-expo"}),
        ({"kind": ("fair",), "sectors": ("food",), "markets": ("FR",)}, {"f-sial"}),
        ({"markets": ("US",), "sectors": ("food",), "status": ("in_force",)}, {"r-us-spices"}),
        ({"kind": ("finance",), "status": ("scheduled",)}, set()),
        ({"markets": ("JP",)}, set()),
        # the records' language (records without one never match)
        ({"languages": ("fr",)}, {"f-besancon"}),
        ({"languages": ("en",)}, {"f-gulfood", "r-eu-coffee"}),
        ({"languages": ("fr", "en")}, {"f-besancon", "f-gulfood", "r-eu-coffee"}),
        ({"languages": ("en",), "kind": ("requirement",)}, {"r-eu-coffee"}),
        ({"languages": ("de",)}, set()),
    ],
)
def test_filters(loaded: SearchBackend, filters: dict, expected: set[str]) -> None:
    assert id_set(loaded, **filters) == expected


def test_language_filter_with_text(loaded: SearchBackend) -> None:
    assert id_set(loaded, q="coffee", languages=("en",)) == {"r-eu-coffee"}
    assert id_set(loaded, q="food", languages=("en",)) == {"f-gulfood"}


def test_filters_combine_with_text(loaded: SearchBackend) -> None:
    assert id_set(loaded, q="coffee", kind=("requirement",)) == {
        "r-eu-coffee",
        "r-fr-roasted",
        "r-us-spices",
    }
    assert id_set(loaded, q="coffee", markets=("EU",)) == {"r-eu-coffee"}
    assert id_set(loaded, q="food", markets=("DE",), sectors=("beverages",)) == {"f-anuga"}


# Finance without HS codes applies to every product (see SearchBackend), so every `hs` finds it.
EVERY_PRODUCT = {"fin-ke", "fin-us"}


@pytest.mark.parametrize(
    ("hs", "expected"),
    [
        # a specific code matches records tagged with it or with any of its prefixes
        ("090121", {"r-eu-coffee", "r-fr-roasted", "r-us-spices"}),
        ("090111", {"r-eu-coffee", "r-us-spices"}),
        ("0901", {"r-eu-coffee", "r-fr-roasted", "r-us-spices"}),
        # a chapter matches records tagged with any code below it
        ("09", {"r-eu-coffee", "r-fr-roasted", "r-us-spices"}),
        ("0902", {"r-us-spices"}),
        ("19", {"r-eu-bakery"}),
        ("190590", {"r-eu-bakery"}),
        ("1905", {"r-eu-bakery"}),
        ("1904", set()),
        ("85", set()),
    ],
)
def test_hs_prefix_both_ways(loaded: SearchBackend, hs: str, expected: set[str]) -> None:
    assert id_set(loaded, hs=hs) == expected | EVERY_PRODUCT


def test_hs_with_other_filters(loaded: SearchBackend) -> None:
    assert id_set(loaded, hs="09", markets=("EU", "FR")) == {"r-eu-coffee", "r-fr-roasted"}
    assert id_set(loaded, hs="0901", q="labelling") == {"r-eu-coffee"}


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        # fair ending exactly on date_from matches (f-anuga ends 2025-10-08)
        (date(2025, 10, 8), None, {"f-ambiente", "f-sial", "f-gulfood", "f-anuga"}),
        (date(2025, 10, 9), None, {"f-ambiente", "f-sial", "f-gulfood"}),
        # fair starting exactly on date_to matches (f-besancon starts 2025-09-12)
        (
            None,
            date(2025, 9, 12),
            {
                "f-besancon",
                "f-nairobi",
                "f-fancyfood",
                "r-eu-coffee",
                "r-fr-roasted",
                "r-us-spices",
            },
        ),
        (None, date(2025, 5, 31), {"r-fr-roasted", "r-us-spices"}),
        # one-day window inside a multi-day fair
        (date(2025, 6, 30), date(2025, 6, 30), {"f-fancyfood"}),
        # window overlapping only the first day / the last day
        (date(2025, 5, 1), date(2025, 6, 1), {"f-nairobi"}),
        (date(2025, 6, 3), date(2025, 6, 20), {"f-nairobi"}),
        # requirements: effective_date wins over published_date (r-eu-coffee published 2024-12-20)
        (date(2025, 7, 1), date(2025, 7, 1), {"r-eu-coffee", "f-fancyfood"}),
        (date(2024, 12, 20), date(2024, 12, 20), set()),
        # requirement without effective_date uses published_date
        (date(2025, 1, 15), date(2025, 1, 15), {"r-fr-roasted"}),
        (date(2030, 1, 1), None, set()),
    ],
)
def test_date_overlap(
    loaded: SearchBackend, date_from: date | None, date_to: date | None, expected: set[str]
) -> None:
    assert id_set(loaded, date_from=date_from, date_to=date_to) == expected


def test_date_windows_match_brute_force_overlap(backend: SearchBackend) -> None:
    # Intervals across month and year ends, one-day fairs and one spanning eleven years (a
    # backend may index dates by month; the answer must not depend on it).
    rng = random.Random(5)
    fairs = []
    for n in range(60):
        start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 800))
        length = rng.choice([0, 0, 1, 3, 4, 9, 31, 45, 70, 400])
        fairs.append((f"f{n}", start, start + timedelta(days=length)))
    fairs.append(("f-permanent", date(2020, 1, 1), date(2030, 12, 31)))
    backend.index(
        [
            parse_record(
                {
                    "id": fid,
                    "kind": "fair",
                    "title": f"Fair {fid}",
                    "source_id": "test_fairs",
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                }
            )
            for fid, start, end in fairs
        ]
    )
    windows = [(date(2027, 1, 31), date(2027, 2, 1)), (date(2026, 12, 31), date(2027, 1, 1))]
    for _ in range(40):
        lo = date(2025, 11, 1) + timedelta(days=rng.randint(0, 900))
        windows.append((lo, lo + timedelta(days=rng.choice([0, 1, 6, 29, 30, 31, 95, 400, 1500]))))
    for lo, hi in windows:
        expected = {fid for fid, start, end in fairs if start <= hi and end >= lo}
        assert id_set(backend, date_from=lo, date_to=hi, size=100) == expected, (lo, hi)
    assert "f-permanent" in id_set(backend, date_from=date(2026, 5, 1), date_to=date(2026, 5, 1))


def test_undated_records_never_match_a_date_filter(loaded: SearchBackend) -> None:
    wide = id_set(loaded, date_from=date(1900, 1, 1), date_to=date(2100, 1, 1))
    undated = {"f-cafe-expo", "r-eu-bakery", "fin-ke", "fin-us"}
    assert wide == ALL_VISIBLE - undated
    assert not wide & undated
    assert id_set(loaded, date_from=date(1900, 1, 1)) == wide
    assert id_set(loaded, date_to=date(2100, 1, 1)) == wide


def test_dates_with_other_filters(loaded: SearchBackend) -> None:
    assert id_set(
        loaded, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31), sectors=("food",)
    ) == {"f-sial", "f-gulfood"}
    assert id_set(loaded, date_from=date(2025, 1, 1), q="coffee", kind=("fair",)) == {
        "f-nairobi",
        "f-fancyfood",
    }


# --------------------------------------------------------------------------- facets


def test_facets_match_all(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    result = search(loaded, size=0)
    visible = [r for r in records if not r.withdrawn]
    assert facet_pairs(result) == expected_facets(visible)
    kinds = dict(facet_pairs(result)["kind"])
    assert kinds == {"fair": 8, "requirement": 4, "finance": 2}


@pytest.mark.parametrize(
    "filters",
    [
        {"kind": ("fair",)},
        {"markets": ("US",)},
        {"sectors": ("food",), "kind": ("fair", "requirement")},
        {"q": "coffee"},
        {"hs": "09"},
        {"date_from": date(2025, 6, 1), "date_to": date(2025, 12, 31)},
        {"include_withdrawn": True, "markets": ("DE",)},
    ],
)
def test_facets_under_filters(loaded: SearchBackend, filters: dict) -> None:
    result = search(loaded, **filters)
    matched = set(ids(result))
    assert result.total == len(matched)
    hits = [r for r in sample_records() if r.id in matched]
    assert facet_pairs(result) == expected_facets(hits)


# One value for each field of SearchQuery that selects records, and the fields that do not.
NARROWING: dict[str, Any] = {
    "q": "coffee",
    "text": ((Phrase(words=("spices",)), Phrase(words=("chocolate",), language="en")),),
    "kind": ("finance",),
    "markets": ("US",),
    "sectors": ("food",),
    "status": ("cancelled",),
    "languages": ("fr",),
    "hs": "09",
    "hs_sectors": ("food",),
    "instruments": ("credit_guarantee",),
    "provider_types": ("eca",),
    "origins": ("KE",),
    "sme_focus": True,
    "amount_min": 1000.0,
    "amount_max": 5000.0,
    "currency": "EUR",
    "date_from": date(2026, 1, 1),
    "date_to": date(2025, 12, 31),
    "include_withdrawn": True,
}
NOT_NARROWING = {"sort", "page", "size", "facets"}


def test_facets_are_never_those_of_another_search(loaded: SearchBackend) -> None:
    # A backend may keep facet counts between searches: the counts must still be those of the
    # records each search found, whichever filter set it apart from the one before.
    assert set(SearchQuery.model_fields) == set(NARROWING) | NOT_NARROWING, "add the new field"
    everything = search(loaded)
    for field, value in NARROWING.items():
        result = search(loaded, **{field: value})
        hits = [r for r in sample_records() if r.id in set(ids(result))]
        assert result.total == len(hits), field
        assert facet_pairs(result) == expected_facets(hits), field
        assert facet_pairs(search(loaded)) == facet_pairs(everything), field


def test_facets_of_records_with_many_markets_and_sectors(backend: SearchBackend) -> None:
    # A backend may count the first few values of a field its own way; records with more of
    # them (and records with none) must still be counted exactly once per value.
    rng = random.Random(11)
    sectors, markets = list(SECTORS), ["DE", "FR", "KE", "US", "EU", "CN", "BR", "IN"]
    records = [
        parse_record(
            {
                "id": f"r{n}",
                "kind": "requirement" if n % 3 else "finance",
                "title": f"Rule {n} coffee" if n % 2 else f"Rule {n}",
                "source_id": "test_reqs",
                "markets": rng.sample(markets, k=rng.choice([0, 1, 1, 2, 3, 4, 6])),
                "sectors": rng.sample(sectors, k=rng.choice([0, 1, 2, 4, 5, 9])),
            }
        )
        for n in range(40)
    ]
    backend.index(records)
    assert facet_pairs(search(backend, size=0)) == expected_facets(records)
    coffee = search(backend, q="coffee", size=100)
    assert facet_pairs(coffee) == expected_facets([r for r in records if r.id in ids(coffee)])
    kenya = search(backend, markets=("KE",), size=100)
    assert facet_pairs(kenya) == expected_facets([r for r in records if "KE" in r.markets])


def test_facet_counts_are_sorted(loaded: SearchBackend) -> None:
    result = search(loaded, size=0)
    for field, values in result.facets.items():
        keys = [(-v.count, v.value) for v in values]
        assert keys == sorted(keys), field
        assert all(v.count > 0 for v in values)


def test_facets_can_be_skipped(loaded: SearchBackend) -> None:
    result = search(loaded, facets=False)
    assert result.total == len(ALL_VISIBLE)
    assert not any(result.facets.values())


def test_facets_on_empty_result(loaded: SearchBackend) -> None:
    result = search(loaded, q="nonexistentword")
    assert result.total == 0
    assert not any(result.facets.values())


# --------------------------------------------------------------------------- sorting & paging


def _starts(result: SearchResult) -> list[str | None]:
    out = []
    for item in result.items:
        record = parse_record(item)
        if record.kind == "fair":
            out.append(item["start_date"])
        elif record.kind == "requirement":
            out.append(item["effective_date"] or item["published_date"])
        else:
            out.append(None)
    return out


def test_sort_date_ascending_undated_last(loaded: SearchBackend) -> None:
    starts = _starts(search(loaded, sort="date"))
    dated = [s for s in starts if s is not None]
    assert dated == sorted(dated)
    first_undated = starts.index(None)
    assert all(s is None for s in starts[first_undated:])
    assert len(starts) - first_undated == 4


def test_sort_date_descending_undated_last(loaded: SearchBackend) -> None:
    starts = _starts(search(loaded, sort="-date"))
    dated = [s for s in starts if s is not None]
    assert dated == sorted(dated, reverse=True)
    assert starts[0] == "2026-10-17"
    first_undated = starts.index(None)
    assert all(s is None for s in starts[first_undated:])


def test_sort_date_with_text(loaded: SearchBackend) -> None:
    result = search(loaded, q="coffee", sort="date")
    assert ids(result) == ["r-us-spices", "r-fr-roasted", "f-nairobi", "f-fancyfood", "r-eu-coffee"]
    result = search(loaded, q="expo", sort="date")
    assert ids(result) == ["f-nairobi", "f-cafe-expo"]  # undated last
    result = search(loaded, q="expo", sort="-date")
    assert ids(result) == ["f-nairobi", "f-cafe-expo"]
    result = search(loaded, q="food", kind=("fair",), sort="-date")
    assert ids(result) == ["f-sial", "f-gulfood", "f-anuga", "f-fancyfood"]


def test_relevance_without_text_falls_back_to_date(loaded: SearchBackend) -> None:
    assert ids(search(loaded, sort="relevance")) == ids(search(loaded, sort="date"))
    assert ids(search(loaded, sort="relevance", kind=("fair",))) == ids(
        search(loaded, sort="date", kind=("fair",))
    )


def test_relevance_orders_by_score(loaded: SearchBackend) -> None:
    order = ids(search(loaded, q="coffee", sort="relevance"))
    # four records have "coffee" in the title, f-fancyfood only in its body text
    assert len(order) == 5
    assert order[-1] == "f-fancyfood"
    assert order != ids(search(loaded, q="coffee", sort="date"))


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
@pytest.mark.parametrize("q", [None, "food"])
def test_paging(loaded: SearchBackend, sort: str, q: str | None) -> None:
    full = ids(search(loaded, q=q, sort=sort, size=100))
    total = len(full)
    assert total >= 5
    pages: list[str] = []
    page = 1
    while True:
        result = loaded.search(SearchQuery(q=q, sort=sort, size=3, page=page))
        assert result.total == total
        if not result.items:
            break
        assert len(result.items) <= 3
        pages.extend(ids(result))
        page += 1
    assert len(pages) == len(set(pages)), "pages overlap"
    assert pages == full


def test_page_past_the_end(loaded: SearchBackend) -> None:
    result = loaded.search(SearchQuery(page=1000, size=100))
    assert result.items == []
    assert result.total == len(ALL_VISIBLE)


def test_size_zero(loaded: SearchBackend) -> None:
    result = loaded.search(SearchQuery(kind=("fair",), size=0))
    assert result.items == []
    assert result.total == 8
    assert dict(facet_pairs(result)["kind"]) == {"fair": 8}
    result = loaded.search(SearchQuery(q="coffee", size=0, facets=False))
    assert result.items == []
    assert result.total == 5  # "Coffeehouse" is another word


# --------------------------------------------------------------------------- writes


def test_index_replaces_by_id(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    changed = records[1].model_copy(update={"title": "Ambiente Frankfurt tableware show"})
    loaded.index([changed])
    assert loaded.count() == len(records)
    assert id_set(loaded, q="tableware show") == {"f-ambiente"}
    assert id_set(loaded, q="consumer goods") == set()
    result = search(loaded, q="ambiente")
    assert ids(result) == ["f-ambiente"]
    assert result.items[0]["title"] == "Ambiente Frankfurt tableware show"


def test_index_same_id_twice_in_one_batch(backend: SearchBackend) -> None:
    base = {"id": "x1", "kind": "fair", "source_id": "test_fairs"}
    backend.index(
        [parse_record({**base, "title": "first"}), parse_record({**base, "title": "second"})]
    )
    assert backend.count() == 1
    assert ids(search(backend, q="second")) == ["x1"]
    assert search(backend, q="first").total == 0


def test_reindex_changes_filters(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    nairobi = next(r for r in records if r.id == "f-nairobi")
    loaded.index([nairobi.model_copy(update={"status": "scheduled"})])
    assert id_set(loaded, status=("cancelled",)) == set()
    assert "f-nairobi" in id_set(loaded, status=("scheduled",))
    loaded.index([nairobi.model_copy(update={"withdrawn": True})])
    assert "f-nairobi" not in id_set(loaded)


def test_index_is_idempotent(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    loaded.index(records)
    loaded.index(records)
    assert loaded.count() == len(records)
    assert search(loaded).total == len(ALL_VISIBLE)


def test_index_empty_batch(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    loaded.index([])
    assert loaded.count() == len(records)


def test_delete(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    loaded.delete(["f-gulfood", "fin-us", "no-such-id"])
    assert loaded.count() == len(records) - 2
    assert id_set(loaded, q="gulfood") == set()
    assert id_set(loaded, kind=("finance",)) == {"fin-ke"}
    loaded.delete([])
    loaded.delete(["f-gulfood"])  # already gone: ignored
    assert loaded.count() == len(records) - 2


def test_rebuild_replaces_everything(loaded: SearchBackend, records: list[AnyRecord]) -> None:
    fresh = [
        parse_record(
            {
                "id": "n1",
                "kind": "fair",
                "title": "Brand new fair",
                "source_id": "test_fairs",
                "country": "KE",
                "start_date": "2027-01-01",
            }
        ),
        parse_record(
            {
                "id": "f-gulfood",
                "kind": "fair",
                "title": "Gulfood renamed",
                "source_id": "t_x",
                "country": "AE",
            }
        ),
    ]
    assert loaded.rebuild(iter(fresh)) == 2
    assert loaded.count() == 2
    assert id_set(loaded) == {"n1", "f-gulfood"}
    assert id_set(loaded, q="coffee") == set()
    assert id_set(loaded, q="renamed") == {"f-gulfood"}
    # the rebuilt index accepts further writes
    loaded.index(records[:3])
    assert loaded.count() == 5
    loaded.delete(["n1"])
    assert loaded.count() == 4


def test_rebuild_empty(loaded: SearchBackend) -> None:
    assert loaded.rebuild([]) == 0
    assert loaded.count() == 0
    assert search(loaded).total == 0
    assert loaded.ping() is True


def test_rebuild_from_empty(backend: SearchBackend, records: list[AnyRecord]) -> None:
    assert backend.rebuild(records) == len(records)
    assert id_set(backend) == ALL_VISIBLE


def test_title_match_outranks_repeated_body_match(
    loaded: SearchBackend, records: list[AnyRecord]
) -> None:
    extra = [
        parse_record(
            {
                "id": "t-title",
                "kind": "fair",
                "source_id": "test_fairs",
                "country": "TZ",
                "title": "Zanzibar spice traders annual international gathering and conference",
            }
        ),
        parse_record(
            {
                "id": "t-body",
                "kind": "fair",
                "source_id": "test_fairs",
                "country": "TZ",
                "title": "Spice market",
                "text": "Zanzibar cloves. Zanzibar pepper from Zanzibar.",
            }
        ),
    ]
    loaded.index(extra)
    assert ids(search(loaded, q="zanzibar")) == ["t-title", "t-body"]
