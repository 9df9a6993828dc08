"""Search answers are reused until the index changes, and carry an ETag for revalidation."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.search import create_backend, shared
from search_api.search.base import SearchBackend, SearchQuery, SearchResult
from search_api.search.indexer import drain_outbox
from search_api.search.shared import SHARED_ANSWERS_FILE
from search_api.search.tantivy.backend import RELOAD_INTERVAL
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.factories import fair

NEXT_YEAR = date.today().year + 1


class CountingBackend:
    """The real backend, counting the searches that reach it."""

    def __init__(self, inner: SearchBackend) -> None:
        self.inner = inner
        self.searches = 0

    def search(self, query: SearchQuery) -> SearchResult:
        self.searches += 1
        return self.inner.search(query)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def add_fair(store: Store, backend: SearchBackend, n: int, title: str) -> None:
    store.upsert_records(
        [
            fair(
                f"t_src:f{n}",
                title,
                country="KE",
                start_date=f"{NEXT_YEAR}-03-{n + 10:02d}",
                end_date=f"{NEXT_YEAR}-03-{n + 11:02d}",
            )
        ]
    )
    drain_outbox(store, backend)


@pytest.fixture
def counting(backend: SearchBackend) -> CountingBackend:
    return CountingBackend(backend)


def client_for(settings: Settings, store: Store, backend: object) -> Iterator[TestClient]:
    app = create_app(settings, store=store, backend=backend, background_indexer=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def cached(settings: Settings, store: Store, counting: CountingBackend) -> Iterator[TestClient]:
    yield from client_for(settings, store, counting)


def test_a_repeated_search_is_answered_without_searching_again(
    cached: TestClient, store: Store, backend: SearchBackend, counting: CountingBackend
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    first = cached.get("/api/v1/search", params={"q": "coffee", "market": "KE"})
    again = cached.get("/api/v1/search", params={"q": "coffee", "market": "KE"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert counting.searches == 1
    # another query, or another page of it, is another answer
    cached.get("/api/v1/search", params={"q": "coffee", "market": "KE", "page": 2})
    assert counting.searches == 2
    # an invalid query is a 422 every time, never kept
    for _ in range(2):
        assert cached.get("/api/v1/search", params={"size": "-1"}).status_code == 422
    assert counting.searches == 2


def test_a_change_to_the_index_is_seen_at_once(
    cached: TestClient, store: Store, backend: SearchBackend
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    before = cached.get("/api/v1/search", params={"q": "coffee"}).json()
    add_fair(store, backend, 2, "Coffee Week")
    after = cached.get("/api/v1/search", params={"q": "coffee"}).json()
    assert before["total"] == 1
    assert after["total"] == 2
    assert {i["title"] for i in after["items"]} == {"Coffee Expo", "Coffee Week"}


def test_gzip_is_served_from_the_same_answer(
    cached: TestClient, store: Store, backend: SearchBackend, counting: CountingBackend
) -> None:
    for n in range(1, 9):
        add_fair(store, backend, n, f"Coffee Expo {n} with a long enough title to compress")
    plain = cached.get("/api/v1/search", params={"q": "coffee"}, headers={"Accept-Encoding": ""})
    zipped = cached.get(
        "/api/v1/search", params={"q": "coffee"}, headers={"Accept-Encoding": "gzip"}
    )
    assert counting.searches == 1
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # the client decompresses
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.headers["etag"] == plain.headers["etag"]


def test_etag_revalidation(cached: TestClient, store: Store, backend: SearchBackend) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    first = cached.get("/api/v1/fairs", params={"market": "KE"})
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    same = cached.get("/api/v1/fairs", params={"market": "KE"}, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    add_fair(store, backend, 2, "Coffee Week")
    changed = cached.get("/api/v1/fairs", params={"market": "KE"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["total"] == 2


def test_the_cache_is_bounded_and_can_be_turned_off(
    settings: Settings, store: Store, backend: SearchBackend, counting: CountingBackend
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    small = settings.model_copy(update={"search_cache_size": 2})
    for c in client_for(small, store, counting):
        for q in ("coffee", "expo", "tea", "coffee"):
            c.get("/api/v1/search", params={"q": q})
    # "coffee" was evicted from this process's memory by the third query, and found again
    # where the workers share their answers
    assert counting.searches == 3
    counting.searches = 0
    off = settings.model_copy(update={"search_cache_size": 0})
    for c in client_for(off, store, counting):
        for _ in range(3):
            assert c.get("/api/v1/search", params={"q": "coffee"}).json()["total"] == 1
    assert counting.searches == 3


def test_kept_answers_are_bounded_in_bytes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from search_api.search import cache

    monkeypatch.setattr(cache, "MAX_BYTES", 1000)
    answers = cache.AnswerCache(max_items=100)
    for n in range(5):
        answers.put(("/api/v1/search", b"q=%d" % n, 1), cache.Answer(b"x" * 300, f'"{n}"'))
    kept = [n for n in range(5) if answers.get(("/api/v1/search", b"q=%d" % n, 1))]
    assert kept == [2, 3, 4]  # 900 bytes; the oldest two went


# ------------------------------------------------------------------ results kept for pages


def test_a_market_page_shares_its_searches_with_the_next_and_sees_changes(
    settings: Settings, store: Store, backend: SearchBackend, counting: CountingBackend
) -> None:
    """Pages of one market for other products ask the market's fairs again: those answers
    are kept until the index changes, and a change shows on the very next page."""
    add_fair(store, backend, 1, "Nairobi Coffee Expo")
    for c in client_for(settings, store, counting):
        first = c.get("/markets/KE?hs=0901")
        assert first.status_code == 200 and "Nairobi Coffee Expo" in first.text
        asked = counting.searches
        assert asked > 0
        assert c.get("/markets/KE?hs=0901").status_code == 200
        assert counting.searches == asked  # the same page: nothing searched again
        c.get("/markets/KE?hs=5102")
        other_product = counting.searches - asked
        assert 0 < other_product < asked  # only what depends on the product
        add_fair(store, backend, 2, "Mombasa Tea Fair")
        again = c.get("/markets/KE?hs=0901")
        assert "Mombasa Tea Fair" in again.text and "Nairobi Coffee Expo" in again.text


def test_kept_results_are_copies_callers_may_annotate(store: Store, backend: SearchBackend) -> None:
    from search_api.search.cache import memo_search

    add_fair(store, backend, 1, "Coffee Expo")
    query = SearchQuery(kind=("fair",), sort="date", size=5)
    first = memo_search(backend, query)
    first.items[0]["matched_product"] = {"via": "code"}
    first.items[0]["markets"].append("XX")
    first.items.clear()
    again = memo_search(backend, query)
    assert [i["title"] for i in again.items] == ["Coffee Expo"]
    assert "matched_product" not in again.items[0]
    assert again.items[0]["markets"] == ["KE"]


def test_what_is_kept_until_the_index_changes_is_left_out_of_the_collectors_rounds(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    """A full collection visits every object the collector tracks, holding the GIL: kept
    results and overviews as JSON text, and the process's lifelong tables frozen at start,
    keep those pauses short however many answers a worker keeps."""
    import gc

    from search_api.search.cache import memo_search
    from search_api.services import process
    from search_api.services.markets import market_overview

    add_fair(store, backend, 1, "Coffee Expo")
    for c in client_for(settings, store, backend):
        assert c.get("/markets/KE?hs=0901").status_code == 200
    assert gc.get_freeze_count() > 0  # the app's start froze the process's tables
    assert process.freeze_heap() is False  # once per process
    result = memo_search(backend, SearchQuery(q="coffee", facets=True))
    assert result.total == 1 and {v.value for v in result.facets["markets"]} == {"KE"}
    overview = market_overview(backend, "KE", hs="0901")
    memo = backend.memo()
    assert memo is not None
    kept = list(memo["search-results"]._values.values())
    assert kept and not any(gc.is_tracked(k.items) or gc.is_tracked(k.facets) for k in kept)
    assert [f["title"] for f in overview["fairs"]] == ["Coffee Expo"]
    overview["fairs"][0]["markets"].append("XX")  # each caller has its own copy
    assert market_overview(backend, "KE", hs="0901")["fairs"][0]["markets"] == ["KE"]
    overviews = list(memo["market-overviews"]._values.values())
    assert overviews and not any(gc.is_tracked(o) for o in overviews)


def test_kept_results_are_bounded_in_number_and_items() -> None:
    from search_api.search.cache import KeptResult, ResultMemo

    memo = ResultMemo(max_results=3, max_items=5)
    for n in range(4):
        memo.put(f"q{n}", KeptResult.of(SearchResult(total=1, items=[{"id": str(n)}])))
    assert memo.get("q0") is None and memo.get("q3") is not None
    memo.put("big", KeptResult.of(SearchResult(total=4, items=[{"id": str(i)} for i in range(4)])))
    # 4 + the most recent others within 5 items: the oldest went first
    assert memo.get("big") is not None and memo.get("q1") is None and memo.get("q2") is None


def test_kept_pages_are_one_per_language_and_url_and_follow_the_index(
    settings: Settings, store: Store, backend: SearchBackend, counting: CountingBackend
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    for c in client_for(settings, store, counting):
        english = c.get("/search?q=coffee")
        asked = counting.searches
        french = c.get("/search?q=coffee", headers={"accept-language": "fr"})
        assert '<html lang="en"' in english.text and '<html lang="fr"' in french.text
        assert c.get("/search?q=coffee").text == english.text  # English again, not French
        assert c.get("/search?q=coffee&lang=es").text.count('<html lang="es"') == 1
        c.cookies.clear()  # the link's choice is remembered in a cookie: forget it
        searched = counting.searches
        assert c.get("/search?q=coffee", headers={"accept-language": "fr"}).text == french.text
        assert counting.searches == searched  # served as kept: nothing searched
        assert searched >= asked
        assert "Coffee Week" not in c.get("/search?q=coffee").text
        add_fair(store, backend, 2, "Coffee Week")
        assert "Coffee Week" in c.get("/search?q=coffee").text
        assert "Coffee Week" in c.get("/search?q=coffee", headers={"accept-language": "fr"}).text


def test_a_kept_page_still_remembers_a_language_chosen_by_link(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    for c in client_for(settings, store, backend):
        c.get("/search?q=coffee&lang=fr")  # kept
        c.cookies.clear()
        again = c.get("/search?q=coffee&lang=fr")
        assert "lang=fr" in again.headers.get("set-cookie", "").replace(" ", "")


def test_what_one_worker_made_another_serves_until_the_index_changes(
    settings: Settings, store: Store, backend: SearchBackend
) -> None:
    """Two apps on one data directory, each with its own backend, as uvicorn's two workers: a
    page or an answer one made the other serves without searching, and never after a
    change of the index."""
    add_fair(store, backend, 1, "Coffee Expo")
    first = CountingBackend(create_backend(settings))
    second = CountingBackend(create_backend(settings))
    paths = ("/search?q=coffee", "/markets/KE?hs=0901", "/api/v1/search?q=coffee")
    for a in client_for(settings, store, first):
        made = {p: a.get(p).text for p in paths}
    assert first.searches > 0
    for b in client_for(settings, store, second):
        assert {p: b.get(p).text for p in paths} == made
        assert second.searches == 0
        add_fair(store, backend, 2, "Coffee Week")
        time.sleep(RELOAD_INTERVAL * 2)  # both readers look for a commit at most this often
        assert "Coffee Week" in b.get("/search?q=coffee").text
        assert b.get("/api/v1/search?q=coffee").json()["total"] == 2
    for a in client_for(settings, store, first):
        assert "Coffee Week" in a.get("/markets/KE?hs=0901").text


def test_a_broken_shared_file_only_stops_the_sharing(
    settings: Settings, store: Store, backend: SearchBackend, caplog: pytest.LogCaptureFixture
) -> None:
    add_fair(store, backend, 1, "Coffee Expo")
    (settings.data_dir / SHARED_ANSWERS_FILE).write_bytes(b"not a database" * 100)
    for c in client_for(settings, store, backend):
        assert "Coffee Expo" in c.get("/search?q=coffee").text
        assert c.get("/api/v1/search?q=coffee").json()["total"] == 1
    assert "shared answers" in caplog.text and "unusable" in caplog.text


def test_the_shared_file_is_bounded_and_forgets_other_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared, "TRIM_EVERY", 1)
    kept = shared.SharedAnswers(tmp_path / "s.sqlite", max_rows=3)
    for n in range(10):
        kept.put("one", f"k{n}", b"x")
    rows = sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT key FROM kept").fetchall()
    assert sorted(k for (k,) in rows) == ["k7", "k8", "k9"]
    kept.put("two", "k0", b"y")
    assert kept.get("one", "k9") is None and kept.get("two", "k0") == b"y"
    assert kept.fetch(None, ("k0",), lambda: b"made") == b"made"  # no state named: not shared


def test_processes_of_another_version_of_the_code_share_nothing(tmp_path: Path) -> None:
    """A rolling restart: old and new workers on one index state render pages differently."""
    old = shared.SharedAnswers(tmp_path / "s.sqlite", code="v1")
    new = shared.SharedAnswers(tmp_path / "s.sqlite", code="v2")
    assert old.fetch("state", ("page",), lambda: b"old page") == b"old page"
    assert new.fetch("state", ("page",), lambda: b"new page") == b"new page"
    assert old.fetch("state", ("page",), lambda: b"made again") == b"old page"
    for name, code in (("one", "x = 1\n"), ("two", "x = 2\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text(code)
    one, two = (shared.code_fingerprint(tmp_path / n) for n in ("one", "two"))
    assert one != two and len(one) == 16
