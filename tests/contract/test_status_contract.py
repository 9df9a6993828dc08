"""Backend contract, status: a fair series without known dates is not "scheduled": the status
filter and facet leave it out, while dated fairs and other statuses count as stored. Every
backend, and the in-memory matcher of saved searches, must agree."""

from __future__ import annotations

import pytest

from search_api.search.base import SearchBackend, SearchQuery, record_status
from search_api.search.match import record_matches
from tests.helpers.factories import fair
from tests.helpers.samples import ids

RECORDS = [
    fair("t_src:dated", "Coffee Expo 2027"),
    fair("t_src:series", "Coffee Days", start_date=None, end_date=None, usual_month=6),
    fair("t_src:cancelled", "Coffee Fair", status="cancelled"),
    fair(
        "t_src:cancelled-series",
        "Tea Days",
        start_date=None,
        end_date=None,
        status="cancelled",
    ),
]


@pytest.fixture
def fairs(backend: SearchBackend) -> SearchBackend:
    backend.index(RECORDS)
    return backend


def test_an_undated_series_has_no_status_to_filter_on() -> None:
    assert [record_status(r) for r in RECORDS] == ["scheduled", None, "cancelled", "cancelled"]


def test_status_filter_leaves_undated_series_out(fairs: SearchBackend) -> None:
    scheduled = fairs.search(SearchQuery(status=("scheduled",), size=10))
    assert set(ids(scheduled)) == {"t_src:dated"}
    cancelled = fairs.search(SearchQuery(status=("cancelled",), size=10))
    assert set(ids(cancelled)) == {"t_src:cancelled", "t_src:cancelled-series"}
    # All four are found without the filter.
    assert fairs.search(SearchQuery(size=10)).total == 4


def test_status_facet_counts_only_what_has_a_status(fairs: SearchBackend) -> None:
    result = fairs.search(SearchQuery(size=0))
    counts = {f.value: f.count for f in result.facets["status"]}
    assert counts == {"scheduled": 1, "cancelled": 2}


def test_saved_searches_match_as_the_backends_do() -> None:
    query = SearchQuery(status=("scheduled",))
    assert [r.id for r in RECORDS if record_matches(query, r)] == ["t_src:dated"]
