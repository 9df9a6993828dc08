"""Ingest throughput: records per second through the pipeline (validation + record building),
the system of record (upsert with outbox) and the index (outbox drain). Target >= 5,000/s
embedded.

    python -m bench.ingest --records 50000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time

from bench.common import DATA, save
from bench.generate import record_dict
from crawlers.pipelines import build_record
from search_api.domain.sources import parse_source
from search_api.search.indexer import drain_outbox
from search_api.search.tantivy import TantivyBackend
from search_api.store import Store

BATCH = 1000  # a crawl run writes all of its records in one transaction; big runs are batched


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    args = ap.parse_args()
    data_dir = DATA / "ingest"
    shutil.rmtree(data_dir, ignore_errors=True)
    store = Store(f"sqlite:///{data_dir / 'tradepoint.db'}")
    store.migrate()
    backend = TantivyBackend(data_dir / "index")
    spec = parse_source(
        dict(
            id="bench_synthetic",
            name="bench",
            kind="fair",
            format="curated",
            start_urls=["file:///dev/null"],
        )
    )
    rng = random.Random(7)
    raw = []
    for i in range(args.records):
        item = record_dict(i, rng)
        item.update(kind="fair", _key=item.pop("id"), _page="https://example.org/list")
        for k in (
            "markets",
            "hs_codes",
            "requirement_type",
            "provider",
            "instruments",
            "eligible_exporter_countries",
            "sme_focus",
            "effective_date",
            "status",
        ):
            item.pop(k, None)
        raw.append(item)

    # The machine may be shared: a busy one explains a slow run better than the code does.
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    records = [build_record(item, spec) for item in raw]
    t1 = time.perf_counter()
    for i in range(0, len(records), BATCH):
        store.upsert_records(records[i : i + BATCH])
    t2 = time.perf_counter()
    drain_outbox(store, backend, batch=5000)
    t3 = time.perf_counter()
    assert backend.count() == args.records
    n = args.records
    save(
        "ingest",
        {
            "records": n,
            "pipeline_per_s": round(n / (t1 - t0)),
            "store_upsert_per_s": round(n / (t2 - t1)),
            "index_drain_per_s": round(n / (t3 - t2)),
            "end_to_end_per_s": round(n / (t3 - t0)),
            "target_end_to_end_per_s": 5000,
            "seconds": {
                "pipeline": round(t1 - t0, 3),
                "store_upsert": round(t2 - t1, 3),
                "index_drain": round(t3 - t2, 3),
            },
            "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        },
    )


if __name__ == "__main__":
    main()
