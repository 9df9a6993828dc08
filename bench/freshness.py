"""Freshness: how long after a write its record can be found (issue 17, target 5).

    python -m bench.freshness --size 100000 --writes 200 --runs 20

The API served as in the other benchmarks (uvicorn, 2 workers) on a copy of the search bench's
index of `--size` records. Two kinds of writes:

- a curated record written through the API (`POST /api/v1/records`, an agency key): the time
  from the 201 answer to the first `GET /api/v1/search` (polled every 5 ms, either worker)
  that finds it by a word of its own; `--writes` of them, one at a time;
- a crawl run's records, written by another process the way a crawl's pipeline writes them
  (`Store.upsert_records` of 50 records, new and changed, with their outbox rows): the time from
  the end of that write (the run's end) until a search finds the last of them; `--runs` of
  them. This is the crawl's store write, not a whole Scrapy run (bench/crawl.py times those).

Targets: p99 <= 1 s for a curated record, <= 2 s for a crawl's records.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentile, save, start_uvicorn, stop
from bench.generate import generate
from bench.search_latency import build
from search_api.domain.records import parse_record
from search_api.store import Store
from search_api.store.keys import create_key

POLL = 0.005
TIMEOUT = 30.0


def _found(client: httpx.Client, word: str, total: int) -> bool:
    r = client.get("/api/v1/search", params={"q": word, "size": 0})
    return r.status_code == 200 and r.json()["total"] >= total


def _wait(client: httpx.Client, word: str, total: int = 1) -> float:
    t = time.perf_counter()
    while not _found(client, word, total):
        if time.perf_counter() - t > TIMEOUT:
            raise RuntimeError(f"{word!r} not searchable after {TIMEOUT:g} s")
        time.sleep(POLL)
    return time.perf_counter() - t


def _summary(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
    }


def curated(base: str, key: str, writes: int) -> list[float]:
    out = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(writes):
            word = f"zqfresh{i:04d}x"
            body = {
                "kind": "finance",
                "slug": f"fresh-{i}",
                "title": f"Export credit {word}",
                "url": f"https://eca.example.org/fresh/{i}",
                "provider": {"name": "Example Export Credit Agency", "type": "eca"},
                "instruments": ["credit_insurance"],
            }
            r = client.post("/api/v1/records", json=body, headers=headers)
            assert r.status_code == 201, r.text
            out.append(_wait(client, word))
    return out


def crawl_runs(base: str, store: Store, runs: int) -> list[float]:
    out = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for run in range(runs):
            word = f"zqcrawl{run:03d}x"
            records = [
                parse_record(
                    {
                        **r.model_dump(mode="json"),
                        "id": f"bench_crawl:{run}-{i}",
                        "source_id": "bench_crawl",
                        "title": f"{r.title} {word}",
                    }
                )
                for i, r in enumerate(itertools.islice(generate(50, seed=run), 50))
            ]
            store.upsert_records(records)  # the run's end: its records are stored
            out.append(_wait(client, word, total=len(records)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    source = build(args.size)
    with tempfile.TemporaryDirectory(prefix="tp-fresh-") as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(source, data_dir)
        store = Store(f"sqlite:///{data_dir / 'tradepoint.db'}")
        store.migrate()
        key = create_key(store, "bench_agency", "agency")
        env = {"TRADEPOINT_DATA_DIR": str(data_dir), "TRADEPOINT_LOG_LEVEL": "WARNING"}
        proc, base = start_uvicorn("search_api.app:create_app()", env)
        try:
            written = curated(base, key, args.writes)
            crawled = crawl_runs(base, store, args.runs)
        finally:
            stop(proc)
            store.close()
    save(
        f"freshness_{args.size}",
        {
            "records": args.size,
            "curated_write_to_searchable": _summary(written),
            "crawl_end_to_searchable": _summary(crawled),
            "targets": {"curated_p99_ms": 1000, "crawl_p99_ms": 2000},
        },
    )


if __name__ == "__main__":
    main()
