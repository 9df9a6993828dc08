"""Class: a damaged search index. The index is derived data: whatever state its directory is in
(garbage pointer, garbage meta.json, a missing generation, scrambled segment files, a Rust
panic inside tantivy), the API answers 503 with a message saying what to do, never 500, and
`tradepoint reindex` rebuilds it from the system of record; the running server then answers
again without a restart."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.cli import main as tradepoint
from search_api.errors import SearchUnavailable
from search_api.search import create_backend
from search_api.search.base import SearchQuery
from search_api.search.indexer import reindex
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.samples import sample_records

HTML = {"accept": "text/html"}


def live_generation(index_dir: Path) -> Path:
    import json

    return index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]


def garbage_pointer(index_dir: Path) -> None:
    (index_dir / "CURRENT").write_text("garbage\n")


def empty_pointer(index_dir: Path) -> None:
    (index_dir / "CURRENT").write_bytes(b"")


def pointer_to_nowhere(index_dir: Path) -> None:
    (index_dir / "CURRENT").write_text('{"generation": "index-999999-abcdef"}')


def garbage_meta(index_dir: Path) -> None:
    (live_generation(index_dir) / "meta.json").write_text("garbage\n")


def missing_meta(index_dir: Path) -> None:
    (live_generation(index_dir) / "meta.json").unlink()


def missing_generation(index_dir: Path) -> None:
    shutil.rmtree(live_generation(index_dir))


def pointer_is_a_directory(index_dir: Path) -> None:
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").mkdir()


def _segment_files(index_dir: Path, suffix: str | None = None) -> list[Path]:
    files = [
        p
        for p in live_generation(index_dir).iterdir()
        if p.is_file() and p.suffix not in (".json", ".lock") and not p.name.startswith(".")
    ]
    files = [p for p in files if suffix is None or p.suffix == suffix]
    assert files, f"the live generation has {suffix or 'segment'} files"
    return files


def _scramble(path: Path, keep_tail: int) -> None:
    """Random bytes in place (the reader's memory maps see them), the last `keep_tail` bytes
    (the file footer tantivy checks on open) left as they were."""
    rng = random.Random(13)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.write(bytes(rng.randrange(256) for _ in range(max(0, size - keep_tail))))
        fh.flush()
        os.fsync(fh.fileno())


def scrambled_segments(index_dir: Path) -> None:
    for path in _segment_files(index_dir):
        _scramble(path, keep_tail=0)


def scrambled_fast_fields(index_dir: Path) -> None:
    # footers intact: the index opens, and tantivy panics ("mid > len") reading the columns
    for path in _segment_files(index_dir, ".fast"):
        _scramble(path, keep_tail=1000)


def truncated_doc_store(index_dir: Path) -> None:
    # tantivy panics opening a segment whose doc store lost its middle
    for path in _segment_files(index_dir, ".store"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage pointer": garbage_pointer,
    "empty pointer": empty_pointer,
    "pointer to a missing generation": pointer_to_nowhere,
    "pointer is a directory": pointer_is_a_directory,
    "garbage meta.json": garbage_meta,
    "missing meta.json": missing_meta,
    "missing generation": missing_generation,
    "scrambled segments": scrambled_segments,
    "scrambled fast fields": scrambled_fast_fields,
    "truncated doc store": truncated_doc_store,
}


@pytest.fixture
def indexed(settings: Settings, store: Store) -> Iterator[Settings]:
    store.upsert_records(sample_records())
    backend = create_backend(settings)
    reindex(store, backend)
    backend.close()
    yield settings


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_reindex_rebuilds_whatever_the_damage(
    indexed: Settings, store: Store, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    DAMAGE[damage](indexed.index_dir)
    assert tradepoint(["reindex"]) == 0, capsys.readouterr().err
    count = len(sample_records())
    assert f"reindexed {count} records" in capsys.readouterr().out
    backend = create_backend(indexed)
    try:
        assert backend.count() == count
        assert backend.search(SearchQuery(q="coffee")).total > 0
    finally:
        backend.close()
    # nothing of the broken generation is left behind
    generations = [p for p in indexed.index_dir.iterdir() if p.name.startswith("index-")]
    assert len(generations) == 1


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_running_server_answers_503_then_recovers_after_reindex(
    indexed: Settings, store: Store, damage: str
) -> None:
    app = create_app(indexed, store=store, background_indexer=False)
    with TestClient(app) as client:
        assert client.get("/api/v1/search", params={"q": "coffee"}).json()["total"] > 0
        DAMAGE[damage](indexed.index_dir)
        for path, headers in (
            ("/api/v1/search?q=coffee", {}),
            ("/api/v1/search?market=KE", {}),
            ("/search?q=coffee", HTML),
            ("/", HTML),
            ("/markets/KE", HTML),
        ):
            r = client.get(path, headers=headers)
            # scrambled bytes may still read as a valid (if wrong) index: never a 500
            assert r.status_code in (200, 503), (path, r.status_code, r.text[:300])
            if r.status_code == 503 and not headers:
                error = r.json()["error"]
                assert error["code"] == "search_unavailable"
                assert "reindex" in error["message"]
        assert client.get("/healthz").status_code < 500
        assert client.get("/readyz").status_code in (200, 503)

        assert tradepoint(["reindex"]) == 0
        # the same server, no restart
        r = client.get("/api/v1/search", params={"q": "coffee"})
        assert r.status_code == 200, r.text
        assert r.json()["total"] > 0
        assert client.get("/", headers=HTML).status_code == 200


def test_a_server_starts_on_a_broken_index_and_says_so(indexed: Settings, store: Store) -> None:
    garbage_pointer(indexed.index_dir)
    app = create_app(indexed, store=store, background_indexer=False)
    with TestClient(app) as client:
        r = client.get("/api/v1/search", params={"q": "coffee"})
        assert r.status_code == 503
        assert "reindex" in r.json()["error"]["message"]
        assert client.get("/readyz").json()["status"] != "ok"
        assert tradepoint(["reindex"]) == 0
        assert client.get("/api/v1/search", params={"q": "coffee"}).status_code == 200


@pytest.mark.parametrize("damage", [scrambled_fast_fields, truncated_doc_store])
def test_a_rust_panic_is_search_unavailable_at_every_public_method(
    indexed: Settings, store: Store, damage: Callable[[Path], None]
) -> None:
    """tantivy panics on these files (pyo3's PanicException, a BaseException): no method of
    the backend lets it through."""
    backend = create_backend(indexed)
    backend.count()  # the reader is open before the damage
    damage(indexed.index_dir)
    fresh = None
    try:
        fresh = create_backend(indexed)  # opening a damaged index is not an error yet
        for b in (backend, fresh):
            for call in (
                lambda b=b: b.search(SearchQuery(q="coffee", facets=True)),
                lambda b=b: b.search(SearchQuery(markets=("KE",), sort="date")),
                lambda b=b: b.count(),
                lambda b=b: b.index(sample_records()[:2]),
                lambda b=b: b.delete([sample_records()[0].id]),
            ):
                try:
                    call()
                except SearchUnavailable as exc:
                    assert "reindex" in exc.message
            assert isinstance(b.ping(), bool)
            b.memo()
            assert isinstance(b.needs_rebuild(), bool)
        # at least the searches meet the damage: this is not a test of an intact index
        with pytest.raises(SearchUnavailable):
            fresh.search(SearchQuery(q="coffee", facets=True))
        assert fresh.rebuild(store.iter_records()) == len(sample_records())
        assert backend.search(SearchQuery(q="coffee")).total > 0
    finally:
        backend.close()
        if fresh is not None:
            fresh.close()
