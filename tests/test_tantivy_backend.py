"""Tantivy-specific behaviour: persistence, generations, locks and multi-process visibility.

Backend-independent behaviour is in tests/contract.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from search_api.domain.records import AnyRecord, parse_record
from search_api.errors import SearchUnavailable
from search_api.search.base import FacetValue, SearchQuery, unpack_facets
from search_api.search.tantivy import TantivyBackend
from search_api.search.tantivy import backend as tantivy_backend
from search_api.search.tantivy.backend import POINTER_FILE, RELOAD_INTERVAL
from search_api.search.tantivy.query import query_terms

REPO = Path(__file__).resolve().parent.parent


def fair(i: int, title: str | None = None, **kw) -> AnyRecord:
    return parse_record(
        {
            "id": f"f{i}",
            "kind": "fair",
            "source_id": "test_fairs",
            "title": title or f"Trade fair number {i}",
            "country": "DE",
            **kw,
        }
    )


def titles(backend: TantivyBackend, q: str | None = None) -> list[str]:
    return sorted(i["title"] for i in backend.search(SearchQuery(q=q, size=100)).items)


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def run_py(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def backend(root: Path) -> Iterator[TantivyBackend]:
    b = TantivyBackend(root, lock_timeout=0.3)
    yield b
    b.close()


def wait_reload() -> None:
    time.sleep(RELOAD_INTERVAL + 0.15)


# --------------------------------------------------------------------------- analyzer


def test_query_terms_fold_and_ignore_syntax() -> None:
    assert query_terms("Besançon Café") == ["besancon", "cafe"]
    assert query_terms('title:foo AND ("bar" OR -baz*)') == [
        "title",
        "foo",
        "and",
        "bar",
        "or",
        "baz",
    ]
    assert query_terms("Straße") == ["strasse"]
    assert query_terms("coffee Coffee COFFEE") == ["coffee"]
    assert query_terms("") == []
    assert query_terms("  \t ") == []
    assert query_terms("*") == []
    assert query_terms(None) == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(1000)))) == 32


def test_the_last_version_of_a_repeated_id_wins_also_when_records_are_streamed(
    backend: TantivyBackend,
) -> None:
    # a list, and a one-pass iterator (the indexer streams records decoded as they are read)
    backend.index([fair(1, "first"), fair(2, "other"), fair(1, "second")])
    assert titles(backend) == ["other", "second"]
    backend.index(iter([fair(2, "third"), fair(3, "new"), fair(2, "fourth")]))
    assert titles(backend) == ["fourth", "new", "second"]
    assert backend.count() == 3


def test_facet_columns_are_filled_as_the_straightforward_rule_says() -> None:
    """`_add_facet_columns` names its columns once; what it adds is the rule written plainly:
    the values present, in order, then NONE; all NONE and `facet_overflow` beyond the
    positions."""
    import random

    import tantivy

    from search_api.search.tantivy import schema as S

    def plainly(doc: tantivy.Document, values: dict[str, list[str]]) -> None:
        for name, positions in S.FACET_POSITIONS.items():
            present = [v for v in values[name] if v]
            overflow = len(present) > positions
            if overflow:
                doc.add_text("facet_overflow", name)
            for i in range(positions):
                value = present[i] if i < len(present) and not overflow else S.NONE
                doc.add_text(f"{name}@{i}", value)

    rng = random.Random(1)
    for _ in range(5000):
        values = {
            name: [rng.choice(["DE", "EU", "", "food", "KE"]) for _ in range(rng.randint(0, 7))]
            for name in ("markets", "sectors")
        }
        values["status"] = [rng.choice(["", "scheduled", "cancelled"])]
        expected, got = tantivy.Document(), tantivy.Document()
        plainly(expected, values)
        S._add_facet_columns(got, values)
        assert got.to_dict() == expected.to_dict(), values


def test_overlong_word_matches_nothing(backend: TantivyBackend) -> None:
    backend.index([fair(1)])
    assert backend.search(SearchQuery(q="*")).total == 1  # no words: match all
    assert backend.search(SearchQuery(q="x" * 300)).total == 0  # a word nobody indexed
    assert backend.search(SearchQuery(q="fair " + "x" * 300)).total == 0


# --------------------------------------------------------------------------- on disk


def test_layout_and_persistence_across_reopen(root: Path) -> None:
    b = TantivyBackend(root)
    b.index([fair(1), fair(2, "Besançon crafts fair")])
    b.close()
    pointer = json.loads((root / POINTER_FILE).read_text())
    assert generations(root) == [pointer["generation"]]

    again = TantivyBackend(root)
    assert again.count() == 2
    assert titles(again, "besancon") == ["Besançon crafts fair"]
    again.index([fair(3)])
    assert again.count() == 3
    again.close()


def test_close_then_use_reopens(backend: TantivyBackend) -> None:
    backend.index([fair(1)])
    backend.close()
    assert backend.count() == 1
    assert backend.ping()


def test_ping_false_when_index_is_gone(root: Path, backend: TantivyBackend) -> None:
    import shutil

    backend.close()
    shutil.rmtree(root)
    assert backend.ping() is False
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery())


def test_schema_version_mismatch_needs_rebuild(root: Path, backend: TantivyBackend) -> None:
    backend.index([fair(1)])
    backend.close()
    pointer = json.loads((root / POINTER_FILE).read_text())
    (root / POINTER_FILE).write_text(json.dumps({**pointer, "schema_version": 0}))
    b = TantivyBackend(root)  # opening works, so a reindex command can run ...
    assert b.ping() is False
    for call in (lambda: b.search(SearchQuery()), b.count, lambda: b.index([fair(2)])):
        with pytest.raises(SearchUnavailable, match="rebuild"):
            call()
    # ... and rebuilding is the way out
    assert b.rebuild([fair(2)]) == 1
    assert titles(b) == ["Trade fair number 2"]


# --------------------------------------------------------------------------- rebuild


def test_rebuild_swaps_generation_and_removes_old(root: Path, backend: TantivyBackend) -> None:
    backend.index([fair(1)])
    old = generations(root)
    assert backend.rebuild([fair(2), fair(3)]) == 2
    new = generations(root)
    assert len(new) == 1
    assert new != old
    assert titles(backend) == ["Trade fair number 2", "Trade fair number 3"]


def test_rebuild_removes_leftovers_of_crashed_rebuilds(root: Path, backend: TantivyBackend) -> None:
    (root / "index-999999-dead00").mkdir()
    backend.rebuild([fair(1)])
    assert len(generations(root)) == 1


def test_failed_rebuild_keeps_old_index(root: Path, backend: TantivyBackend) -> None:
    backend.index([fair(1), fair(2)])
    before = generations(root)

    def records() -> Iterator[AnyRecord]:
        yield fair(10)
        raise RuntimeError("database went away")

    with pytest.raises(Exception, match="database went away"):
        backend.rebuild(records())
    assert generations(root) == before
    assert backend.count() == 2
    backend.index([fair(3)])  # the writer lock was released
    assert backend.count() == 3


def test_searcher_on_old_generation_survives_rebuild(root: Path) -> None:
    reader = TantivyBackend(root)
    writer = TantivyBackend(root)
    writer.index([fair(1, "Old generation fair")])
    wait_reload()
    assert titles(reader) == ["Old generation fair"]
    writer.rebuild([fair(2, "New generation fair")])
    # the reader may still answer from the old (deleted) generation for a moment ...
    assert titles(reader) in (["Old generation fair"], ["New generation fair"])
    wait_reload()
    # ... and then follows the pointer to the new one
    assert titles(reader) == ["New generation fair"]
    reader.index([fair(3, "Written by reader")])
    wait_reload()
    assert titles(writer) == ["New generation fair", "Written by reader"]


def test_rebuild_blocks_other_writers(root: Path, backend: TantivyBackend) -> None:
    other = TantivyBackend(root, lock_timeout=0.2)
    seen: list[BaseException] = []

    def records() -> Iterator[AnyRecord]:
        yield fair(1)
        try:
            other.index([fair(99, "Written during rebuild")])
        except SearchUnavailable as exc:
            seen.append(exc)
        yield fair(2)

    assert backend.rebuild(records()) == 2
    assert len(seen) == 1
    assert "locked" in str(seen[0])
    other.index([fair(99, "Written after rebuild")])  # goes to the new generation
    assert other.count() == 3
    wait_reload()
    assert backend.count() == 3


# --------------------------------------------------------------------------- locks


def test_writer_lock_busy_raises_search_unavailable(root: Path, backend: TantivyBackend) -> None:
    holder = TantivyBackend(root)
    gen = holder._refresh(force=True)
    writer = holder._acquire_writer(gen.index, 15_000_000, 1)
    try:
        with pytest.raises(SearchUnavailable, match="locked by another writer"):
            backend.index([fair(1)])
        with pytest.raises(SearchUnavailable):
            backend.delete(["f1"])
    finally:
        holder._release_writer(writer, commit=False)
    backend.index([fair(1)])
    assert backend.count() == 1


def test_writer_waits_for_a_briefly_held_lock(root: Path) -> None:
    patient = TantivyBackend(root, lock_timeout=5)
    holder = TantivyBackend(root)
    gen = holder._refresh(force=True)
    writer = holder._acquire_writer(gen.index, 15_000_000, 1)
    timer = threading.Timer(0.3, holder._release_writer, args=(writer, False))
    timer.start()
    try:
        patient.index([fair(1)])
    finally:
        timer.join()
    assert patient.count() == 1


def test_threads_search_while_writing(backend: TantivyBackend) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def searching() -> None:
        try:
            while not stop.is_set():
                backend.search(SearchQuery(q="fair", size=5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searching) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            backend.index([fair(i)])
        backend.rebuild(fair(i) for i in range(5))
        backend.delete(["f0"])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert backend.count() == 4


# --------------------------------------------------------------------------- multi-process

WRITER_SCRIPT = """
import sys
from pathlib import Path
from search_api.domain.records import parse_record
from search_api.search.tantivy import TantivyBackend
from search_api.search.tantivy import backend as tantivy_backend

root, action, start, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
b = TantivyBackend(Path(root), lock_timeout=30)
recs = [parse_record({"id": f"p{i}", "kind": "fair", "source_id": "test_fairs",
                      "title": f"Process fair {i}"}) for i in range(start, start + n)]
if action == "index":
    for r in recs:
        b.index([r])
elif action == "rebuild":
    b.rebuild(recs)
print(b.count())
"""


def test_commits_from_another_process_become_visible(root: Path, backend: TantivyBackend) -> None:
    backend.index([fair(1)])
    assert backend.count() == 1
    proc = run_py(WRITER_SCRIPT, str(root), "index", "0", "3")
    assert proc.returncode == 0, proc.stderr
    wait_reload()
    assert backend.count() == 4
    assert len(backend.search(SearchQuery(q="process fair")).items) == 3


def test_rebuild_in_another_process_is_followed(root: Path, backend: TantivyBackend) -> None:
    backend.index([fair(1), fair(2)])
    proc = run_py(WRITER_SCRIPT, str(root), "rebuild", "0", "5")
    assert proc.returncode == 0, proc.stderr
    wait_reload()
    assert backend.count() == 5
    assert titles(backend, "fair 3") == ["Process fair 3"]
    backend.index([fair(1)])  # writes land in the new generation
    assert backend.count() == 6
    assert len(generations(root)) == 1


def test_concurrent_writer_processes(root: Path, backend: TantivyBackend) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(root), "index", str(start), "15"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (0, 100, 200)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    wait_reload()
    assert backend.count() == 45


@pytest.mark.parametrize("name", ["nope", "base", "indexer", "cache", "tantivy.schema", "../x"])
def test_a_setting_naming_no_backend_is_refused_clearly(tmp_path: Path, name: str) -> None:
    from search_api.errors import TradepointError
    from search_api.search import create_backend
    from search_api.settings import Settings

    settings = Settings(data_dir=tmp_path, search_backend=name)
    with pytest.raises(TradepointError, match="exposes create"):
        create_backend(settings)


# --------------------------------------------------------------------------- warming


def _facet_counts(facets: dict[str, list[FacetValue]]) -> dict[str, list[tuple[str, int]]]:
    return {f: [(v.value, v.count) for v in values] for f, values in facets.items()}


def test_a_reader_reloaded_after_a_commit_elsewhere_has_its_queries_facets_counted_anew(
    root: Path, backend: TantivyBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # warming is off by default (it measured worse on two cores: bench/cold.py); when on:
    monkeypatch.setattr(tantivy_backend, "WARM_SECONDS", 0.3)
    monkeypatch.setattr(tantivy_backend, "WARM_MORE_SECONDS", 1.0)
    backend.index([fair(1, country="FR"), fair(2, country="DE")])
    asked = SearchQuery(kind=("fair",))
    before = backend.search(asked)
    assert {v.value: v.count for v in before.facets["markets"]} == {"FR": 1, "DE": 1}
    assert backend._gen is not None
    old_view = backend._gen.view
    other = TantivyBackend(root)  # another process, as far as `backend` can tell
    other.index([fair(3, country="FR")])
    # no search in between: the reader's own thread picks the commit up
    deadline = time.monotonic() + 10 * RELOAD_INTERVAL
    while backend._gen.view is old_view:
        assert time.monotonic() < deadline, "the reader never saw the commit"
        time.sleep(0.02)
    view = backend._gen.view
    # counted by the reader's own thread, before any search asked for them again
    assert len(view.facets) == 1
    ((_tq, warmed),) = view.facets.values()
    assert {v.value: v.count for v in unpack_facets(warmed)["markets"]} == {"FR": 2, "DE": 1}
    after = backend.search(asked)
    assert after.total == 3
    fresh = TantivyBackend(root).search(asked)
    assert _facet_counts(after.facets) == _facet_counts(fresh.facets)


def test_without_warming_a_reloaded_reader_counts_facets_when_first_asked(
    root: Path, backend: TantivyBackend
) -> None:
    backend.index([fair(1, country="FR"), fair(2, country="DE")])
    asked = SearchQuery(kind=("fair",))
    backend.search(asked)
    assert backend._gen is not None
    old_view = backend._gen.view
    TantivyBackend(root).index([fair(3, country="FR")])
    deadline = time.monotonic() + 10 * RELOAD_INTERVAL
    while backend._gen.view is old_view:
        assert time.monotonic() < deadline, "the reader never saw the commit"
        time.sleep(0.02)
    assert len(backend._gen.view.facets) == 0  # nothing counted ahead
    after = backend.search(asked)
    assert after.total == 3
    assert {v.value: v.count for v in after.facets["markets"]} == {"FR": 2, "DE": 1}


def test_a_write_by_this_process_is_searchable_at_once_and_its_facets_are_right(
    backend: TantivyBackend,
) -> None:
    backend.index([fair(1, country="FR")])
    asked = SearchQuery(kind=("fair",))
    assert {v.value: v.count for v in backend.search(asked).facets["markets"]} == {"FR": 1}
    backend.index([fair(2, country="FR"), fair(3, country="DE")])
    # read-your-writes: published before the facets are counted again, never stale
    result = backend.search(asked)
    assert result.total == 3
    assert {v.value: v.count for v in result.facets["markets"]} == {"FR": 2, "DE": 1}


def test_facets_counted_beside_the_hits_are_those_counted_after_them(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [fair(n, country=("FR", "DE", "KE")[n % 3]) for n in range(1, 40)]
    TantivyBackend(root).index(records)
    asked = [SearchQuery(kind=("fair",)), SearchQuery(q="fair"), SearchQuery(markets=("KE",))]
    answers = {}
    for parallel in (True, False):
        monkeypatch.setattr(tantivy_backend, "PARALLEL_FACETS", parallel)
        fresh = TantivyBackend(root)  # nothing kept from the other way
        answers[parallel] = [
            (r.total, [i["id"] for i in r.items], _facet_counts(r.facets))
            for r in (fresh.search(q) for q in asked)
        ]
        fresh.close()
    assert answers[True] == answers[False]
    assert answers[True][2][0] == 13
