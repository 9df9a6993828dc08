"""Bulk export throughput and memory: GET /api/v1/export over HTTP on 1,000,000 records
(SQLite, one uvicorn worker), as NDJSON, NDJSON gzipped, CSV, and a filtered search (which
parses and matches every record). Reports records/s, MB/s on the wire, and the server's RSS
sampled while it streams (peak and at 10/50/90% of the records): constant memory means the
RSS does not grow with the records sent.

    python -m bench.export --records 1000000

The store is built once into bench/.data/export-<N>/ and reused (delete it to rebuild).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import zlib
from pathlib import Path

import httpx

from bench.common import DATA, save, start_uvicorn, stop
from bench.generate import generate
from search_api.store import Store

BATCH = 5000


def build(data_dir: Path, n: int) -> Store:
    store = Store(f"sqlite:///{data_dir / 'tradepoint.db'}")
    store.migrate()
    if store.count_records() == n:
        return store
    t0 = time.perf_counter()
    batch = []
    for record in generate(n):
        batch.append(record)
        if len(batch) == BATCH:
            store.upsert_records(batch)
            batch = []
    if batch:
        store.upsert_records(batch)
    # No index is needed to export (the export reads the system of record): the outbox is
    # cleared so that the server's background indexer stays idle during the measurement.
    store.ack_outbox_upto(store.outbox_max_id())
    print(f"built {n} records in {time.perf_counter() - t0:.0f} s")
    return store


def _status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples the server's resident memory every 50 ms while a request streams."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.progress = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((self.progress, _status(self.pid, "VmRSS")))
            time.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, fraction: float) -> float:
        later = [rss for p, rss in self.samples if p >= fraction]
        return round(later[0], 1) if later else 0.0


def run(base: str, pid: int, path: str, expected: int | None, *, gz: bool = False) -> dict:
    headers = {"Accept-Encoding": "gzip" if gz else "identity"}
    wire = records = 0
    decomp = zlib.decompressobj(31) if gz else None
    before = _status(pid, "VmRSS")
    t0 = time.perf_counter()
    with (
        RssSampler(pid) as rss,
        httpx.stream("GET", base + path, headers=headers, timeout=600) as r,
    ):
        r.raise_for_status()
        cursor = r.headers.get("x-changes-cursor")
        for chunk in r.iter_raw(1 << 20):
            wire += len(chunk)
            body = decomp.decompress(chunk) if decomp else chunk
            records += body.count(b"\n")
            if expected:
                rss.progress = records / expected
    seconds = time.perf_counter() - t0
    if path.endswith("csv") or "format=csv" in path:
        records -= 1  # the header line
    out = {
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_s": round(records / seconds),
        "wire_mb": round(wire / 1e6, 1),
        "wire_mb_per_s": round(wire / 1e6 / seconds, 1),
        "server_rss_mb": {
            "before": round(before, 1),
            "peak_while_streaming": round(max(s for _, s in rss.samples), 1),
            "at_10%": rss.at(0.1),
            "at_50%": rss.at(0.5),
            "at_90%": rss.at(0.9),
        },
        "has_changes_cursor": bool(cursor),
    }
    print(path, "gzip" if gz else "", out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.records
    data_dir = DATA / f"export-{n}"
    data_dir.mkdir(parents=True, exist_ok=True)
    build(data_dir, n).close()
    env = {"TRADEPOINT_DATA_DIR": str(data_dir), "TRADEPOINT_LOG_LEVEL": "WARNING"}
    proc, base = start_uvicorn("search_api.app:create_app()", env, workers=1)
    load_before = os.getloadavg()[0]
    try:
        results = {
            "ndjson": run(base, proc.pid, "/api/v1/export?format=ndjson", n),
            "ndjson_gzip": run(base, proc.pid, "/api/v1/export?format=ndjson", n, gz=True),
            "csv": run(base, proc.pid, "/api/v1/export?format=csv", n),
            # a filter other than the kind: every record is parsed and matched
            "ndjson_filtered_market_DE": run(
                base, proc.pid, "/api/v1/export?format=ndjson&market=DE", None
            ),
        }
        peak = _status(proc.pid, "VmHWM")
    finally:
        stop(proc)
    save(
        "export",
        {
            "records_in_store": n,
            "backend": "sqlite, 1 uvicorn worker",
            **results,
            "server_peak_rss_mb_whole_run": round(peak, 1),
            "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        },
    )


if __name__ == "__main__":
    main()
