"""The Elasticsearch request builders, as plain dicts: no server needed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from search_api.domain.records import KINDS, parse_record
from search_api.search import base as B
from search_api.search.base import FACET_FIELDS, Phrase, SearchQuery
from search_api.search.elastic import mapping as X
from search_api.search.elastic import query as Q

FAIR = parse_record(
    {
        "id": "f1",
        "kind": "fair",
        "title": "Foire comtoise de Besançon",
        "summary": "Salon régional",
        "text": "Long text",
        "source_id": "fr_test_fairs",
        "country": "FR",
        "city": "Besançon",
        "venue": "Micropolis",
        "sectors": ["agriculture"],
        "start_date": "2025-09-12",
        "end_date": "2025-09-14",
        "status": "rescheduled",
        "language": "fr-FR",
    }
)
REQ = parse_record(
    {
        "id": "r1",
        "kind": "requirement",
        "title": "Coffee labelling",
        "source_id": "eu_test_reqs",
        "markets": ["EU"],
        "hs_codes": ["0901"],
        "effective_date": "2025-07-01",
        "published_date": "2024-12-20",
        "authority": "European Commission",
        "origins": ["KE"],
    }
)
FIN = parse_record(
    {
        "id": "c1",
        "kind": "finance",
        "title": "Working capital guarantee",
        "source_id": "us_test_finance",
        "provider": {"name": "EXIM", "type": "eca"},
        "instruments": ["working_capital_guarantee"],
        "sme_focus": True,
        "min_amount": {"value": 10000, "currency": "USD"},
    }
)


def body(**kw: Any) -> dict[str, Any]:
    return Q.build_search(SearchQuery(**kw))


def filters(**kw: Any) -> list[dict[str, Any]]:
    return body(**kw)["query"]["bool"].get("filter", [])


# --------------------------------------------------------------------------- index definition


def test_settings_fold_ascii_without_stemming() -> None:
    analysis = X.index_settings()["analysis"]
    analyzer = analysis["analyzer"][X.ANALYZER]
    assert analyzer["filter"] == ["lowercase", "asciifolding"]
    tokenizer = analysis["tokenizer"][analyzer["tokenizer"]]
    assert tokenizer == {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}
    assert "refresh_interval" not in X.index_settings()
    assert X.index_settings(building=True)["refresh_interval"] == "-1"


@pytest.mark.parametrize("kind", KINDS)
def test_mappings_common_fields(kind: str) -> None:
    m = X.mappings(kind)
    assert m["dynamic"] == "strict"
    props = m["properties"]
    for name in ("id", "kind", "markets", "sectors", "hs_codes", "language"):
        assert props[name] == {"type": "keyword"}, name
    for name in B.TEXT_FIELDS:
        text = props[name]
        assert text["type"] == "text"
        assert text["analyzer"] == X.ANALYZER
        subs = {k: v.get("analyzer") for k, v in text["fields"].items() if v["type"] == "text"}
        assert subs == {"en": "english", "fr": "french", "es": "spanish"}
    assert props["title"]["fields"]["keyword"]["type"] == "keyword"
    assert props["record"] == {"type": "object", "enabled": False}
    assert props["withdrawn"] == {"type": "boolean"}


def test_mappings_per_kind() -> None:
    fair = X.mappings("fair")["properties"]
    assert fair["date_start"]["type"] == fair["date_end"]["type"] == "date"
    assert fair["status"] == {"type": "keyword"}
    assert "instruments" not in fair and "eligible" not in fair
    req = X.mappings("requirement")["properties"]
    assert {"date_start", "status", "eligible"} <= set(req)
    fin = X.mappings("finance")["properties"]
    assert "date_start" not in fin
    assert fin["min_value"] == {"type": "double"}
    assert {"instruments", "provider_type", "sme_focus", "max_currency", "eligible"} <= set(fin)
    with pytest.raises(ValueError):
        X.mappings("event")


def test_every_document_field_is_mapped() -> None:
    for record in (FAIR, REQ, FIN):
        doc = X.document(record)
        assert set(doc) <= set(X.mappings(record.kind)["properties"]), record.kind


def test_documents() -> None:
    fair = X.document(FAIR)
    assert (fair["date_start"], fair["date_end"]) == ("2025-09-12", "2025-09-14")
    assert fair["status"] == "rescheduled"
    assert fair["text"] == ["Long text", "Besançon", "Micropolis"]
    assert fair["record"] == FAIR.model_dump(mode="json")
    assert fair["withdrawn"] is False
    assert fair["language"] == "fr"
    req = X.document(REQ)
    # effective date wins over the published one
    assert req["date_start"] == req["date_end"] == "2025-07-01"
    assert req["eligible"] == ["KE"]
    assert "European Commission" in req["text"]
    fin = X.document(FIN)
    assert fin["eligible"] == [B.OPEN_TO_ALL]  # no restriction: open to every exporter
    assert (fin["min_value"], fin["min_currency"]) == (10000.0, "USD")
    assert fin["max_value"] is None
    assert fin["sme_focus"] is True and fin["provider_type"] == "eca"
    assert "date_start" not in fin


def test_names() -> None:
    assert X.index_name("tp", "fair", 3) == "tp-fair-v3"
    assert X.kind_alias("tp", "finance") == "tp-finance"
    assert X.read_alias("tp") == "tp-all"


# --------------------------------------------------------------------------- bulk and aliases


def test_bulk_index_ops_last_version_wins_and_other_kinds_cleared() -> None:
    renamed = FAIR.model_copy(update={"title": "second"})
    target = {k: f"tp-{k}" for k in KINDS}
    ops = X.bulk_index_ops([FAIR, REQ, renamed], target)
    heads = [op for op in ops if "title" not in op]
    assert {"index": {"_index": "tp-fair", "_id": "f1"}} in heads
    assert {"delete": {"_index": "tp-requirement", "_id": "f1"}} in heads
    assert {"delete": {"_index": "tp-finance", "_id": "f1"}} in heads
    docs = [op for op in ops if "title" in op]
    assert [d["title"] for d in docs] == ["second", "Coffee labelling"]
    plain = X.bulk_index_ops([FAIR], target, cross_kind_deletes=False)
    assert plain == [{"index": {"_index": "tp-fair", "_id": "f1"}}, X.document(FAIR)]


def test_a_record_whose_document_cannot_be_built_is_reported_and_the_others_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = X.document

    def document(record: Any) -> dict[str, Any]:
        if record.id == "f1":
            raise ValueError("no document for you")
        return real(record)

    monkeypatch.setattr(X, "document", document)
    target = {k: f"tp-{k}" for k in KINDS}
    failed: dict[str, str] = {}
    ops = X.bulk_index_ops([FAIR, REQ], target, failed=failed)
    assert failed == {"f1": "record 'f1' could not be indexed: ValueError: no document for you"}
    # the other record is indexed; no version of the failed one stays findable
    assert [d["title"] for d in ops if "title" in d] == ["Coffee labelling"]
    assert [op["delete"]["_index"] for op in ops if op.get("delete", {}).get("_id") == "f1"] == [
        f"tp-{k}" for k in KINDS
    ]


def test_bulk_delete_ops() -> None:
    ops = X.bulk_delete_ops(["a", "b", "a"], ["x", "y"])
    assert ops == [
        {"delete": {"_index": "x", "_id": "a"}},
        {"delete": {"_index": "y", "_id": "a"}},
        {"delete": {"_index": "x", "_id": "b"}},
        {"delete": {"_index": "y", "_id": "b"}},
    ]


def test_swap_actions_are_all_or_nothing() -> None:
    old = {k: f"tp-{k}-v1" for k in KINDS}
    new = {k: f"tp-{k}-v2" for k in KINDS}
    actions = X.swap_actions("tp", old, new, "tp-building-1")
    removes = [a["remove"] for a in actions if "remove" in a]
    adds = [a["add"] for a in actions if "add" in a]
    assert all(r["must_exist"] is True for r in removes)
    assert {(a["index"], a["alias"]) for a in adds} == {
        (new[k], alias) for k in KINDS for alias in (f"tp-{k}", "tp-all")
    }
    assert {(r["index"], r["alias"]) for r in removes} == {
        (old[k], alias) for k in KINDS for alias in (f"tp-{k}", "tp-all")
    } | {(new[k], "tp-building-1") for k in KINDS}


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("q", "words"),
    [
        (None, []),
        ("   ", []),
        ("coffee, expo!", ["coffee", "expo"]),
        ("title:foo AND (", ["title", "foo", "AND"]),
        ("Café café CAFÉ", ["Café"]),
        ("snake_case", ["snake", "case"]),
        ("😀☕🇰🇪 \u200b", []),
        ("咖啡 кофе", ["咖啡", "кофе"]),
    ],
)
def test_query_words(q: str | None, words: list[str]) -> None:
    assert Q.query_words(q) == words


def test_query_words_are_capped() -> None:
    words = Q.query_words(" ".join(f"w{i}" for i in range(100)))
    assert len(words) == B.MAX_QUERY_TERMS


def test_each_word_must_match_some_text_field() -> None:
    must = body(q="coffee expo")["query"]["bool"]["must"]
    options = [m["bool"]["should"] for m in must]
    assert [o[0]["multi_match"]["query"] for o in options] == ["coffee", "expo"]
    mm = options[0][0]["multi_match"]
    assert mm["type"] == "most_fields"
    assert mm["fields"] == ["title^3", "summary", "text"]
    # ... or stemmed, in the records of each stemmed language (a word in no known language)
    assert options[0][1:] == [
        {"match": {"stemmed_en": "coffee"}},
        {"match": {"stemmed_fr": "coffee"}},
        {"match": {"stemmed_es": "coffee"}},
    ]
    assert all(m["bool"]["minimum_should_match"] == 1 for m in must)


def test_groups_of_alternatives_and_phrases() -> None:
    # "assurance-crédit": one group, found by the French words as typed or the English phrase
    group = (
        Phrase(words=("assurance", "crédit"), language="fr"),
        Phrase(words=("credit", "insurance"), language="en"),
        Phrase(concept="credit_insurance"),
    )
    (clause,) = body(q="assurance-crédit", text=(group,))["query"]["bool"]["must"]
    french, english, concept = clause["bool"]["should"]
    # records tagged at indexing with the concept their text names
    assert concept == {"term": {"concepts": "credit_insurance"}}
    assert clause["bool"]["minimum_should_match"] == 1
    first, second = english["bool"]["must"]
    # each word folded anywhere, or stemmed in the records of its phrase's language only
    assert first["bool"]["should"][0]["multi_match"]["query"] == "credit"
    assert first["bool"]["should"][1:] == [{"match": {"stemmed_en": "credit"}}]
    assert second["bool"]["should"][1:] == [{"match": {"stemmed_en": "insurance"}}]
    assert french["bool"]["must"][0]["bool"]["should"][1:] == [
        {"match": {"stemmed_fr": "assurance"}}
    ]


def test_language_sub_fields_rank_but_never_select() -> None:
    query = body(q="Guarantees, coffee!")["query"]["bool"]
    (should,) = query["should"]
    assert "minimum_should_match" not in query  # optional next to must: scoring only
    mm = should["multi_match"]
    assert mm["query"] == "Guarantees coffee"
    assert len(body(q="coffee", text=((Phrase(words=("café",)),),))["query"]["bool"]["should"]) == 1
    assert {"title.en^3", "title.fr^3", "title.es^3", "summary.fr", "text.es"} <= set(mm["fields"])
    assert len(mm["fields"]) == 9
    assert "should" not in body(q="  ")["query"]["bool"]


def test_no_text_no_must() -> None:
    assert "must" not in body(q="?!")["query"]["bool"]
    assert Q.build_query(SearchQuery(include_withdrawn=True)) == {"match_all": {}}


def test_withdrawn_excluded_unless_asked() -> None:
    assert body()["query"]["bool"]["must_not"] == [{"term": {"withdrawn": True}}]
    assert "must_not" not in body(include_withdrawn=True, kind=("fair",))["query"]["bool"]


# --------------------------------------------------------------------------- filters


def test_term_filters() -> None:
    f = filters(kind=("fair",), markets=(" fr", "FR", "", "ke"), sectors=("food",), status=())
    assert f == [
        {"terms": {"kind": ["fair"]}},
        {"terms": {"markets": ["FR", "KE"]}},
        {"terms": {"sectors": ["food"]}},
    ]
    assert filters(languages=("fr", " fr", "es")) == [{"terms": {"language": ["fr", "es"]}}]


def test_hs_prefix_both_ways() -> None:
    (f,) = filters(hs="0901.21")
    should = f["bool"]["should"]
    assert should[0] == {"terms": {"hs_codes": ["0", "09", "090", "0901", "09012", "090121"]}}
    assert should[1] == {"prefix": {"hs_codes": "090121"}}
    assert f["bool"]["minimum_should_match"] == 1
    assert filters(hs="09*") == [{"match_none": {}}]
    assert filters(hs="  ") == []


def test_date_overlap() -> None:
    f = filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert f == [
        {"range": {"date_end": {"gte": "2025-01-01"}}},
        {"range": {"date_start": {"lte": "2025-12-31"}}},
    ]
    assert {"match_none": {}} in filters(date_from=date(2025, 2, 1), date_to=date(2025, 1, 1))


def test_finance_filters() -> None:
    f = filters(instruments=("factoring",), provider_types=("eca", "eca"), sme_focus=False)
    assert f == [
        {"terms": {"instruments": ["factoring"]}},
        {"terms": {"provider_type": ["eca"]}},
        {"term": {"sme_focus": False}},
    ]
    (origins,) = filters(origins=("ke", "EU"))
    assert origins["bool"]["should"] == [
        {"terms": {"eligible": ["KE", "EU", B.OPEN_TO_ALL]}},
        {"term": {"kind": "fair"}},
    ]


def test_amount_overlap() -> None:
    (f,) = filters(amount_min=1000, amount_max=5000, currency="usd")
    assert f["bool"]["filter"] == [{"term": {"kind": "finance"}}]
    assert f["bool"]["must_not"] == [
        {
            "bool": {
                "filter": [
                    {"range": {"min_value": {"gt": 5000.0}}},
                    {"term": {"min_currency": "USD"}},
                ]
            }
        },
        {
            "bool": {
                "filter": [
                    {"range": {"max_value": {"lt": 1000.0}}},
                    {"term": {"max_currency": "USD"}},
                ]
            }
        },
    ]
    (f,) = filters(amount_min=1000)
    assert f["bool"]["must_not"] == [{"range": {"max_value": {"lt": 1000.0}}}]


# --------------------------------------------------------------------------- sort, paging, facets


def test_sort() -> None:
    tie = {"id": {"order": "asc"}}
    assert body(q="coffee")["sort"] == [{"_score": {"order": "desc"}}, tie]
    by_date = {"order": "asc", "missing": "_last", "unmapped_type": "date"}
    assert body()["sort"] == [{"date_start": by_date}, tie]  # relevance without words
    assert body(q="coffee", sort="date")["sort"] == [{"date_start": by_date}, tie]
    desc = body(sort="-date")["sort"][0]["date_start"]
    assert desc["order"] == "desc" and desc["missing"] == "_last"


def test_paging_and_window() -> None:
    b = body(page=3, size=20)
    assert (b["from"], b["size"], b["track_total_hits"]) == (40, 20, True)
    b = body(page=100, size=100)  # from 9900: clipped to the window
    assert (b["from"], b["size"]) == (9900, 100)
    b = body(page=1000, size=100)  # past the window: total only
    assert (b["from"], b["size"]) == (0, 0)
    b = body(page=200, size=60)
    assert (b["from"], b["size"]) == (0, 0)
    b = body(page=143, size=70)  # 9940 + 70 > 10000: the last 60 of the window
    assert (b["from"], b["size"]) == (9940, 60)


def test_facets_and_source() -> None:
    b = body()
    assert b["_source"] == ["record"]
    assert set(b["aggs"]) == set(FACET_FIELDS)
    assert b["aggs"]["markets"] == {"terms": {"field": "markets", "size": B.FACET_SIZE}}
    assert "aggs" not in body(facets=False)


def test_parse_search() -> None:
    response = {
        "hits": {
            "total": {"value": 7, "relation": "eq"},
            "hits": [{"_id": "a", "_source": {"record": {"id": "a"}}}],
        },
        "aggregations": {
            "kind": {
                "buckets": [{"key": "fair", "doc_count": 2}, {"key": "finance", "doc_count": 5}]
            },
            "markets": {
                "buckets": [
                    {"key": "KE", "doc_count": 1},
                    {"key": "DE", "doc_count": 1},
                    {"key": "FR", "doc_count": 0},
                ]
            },
        },
    }
    result = Q.parse_search(response)
    assert result.total == 7
    assert result.items == [{"id": "a"}]
    pairs = {f: [(v.value, v.count) for v in vs] for f, vs in result.facets.items()}
    assert pairs == {"kind": [("finance", 5), ("fair", 2)], "markets": [("DE", 1), ("KE", 1)]}
    assert Q.parse_search({"hits": {"total": {"value": 0}, "hits": []}}).facets == {}
