"""The pages exporters use, rendered server-side: the market page (`/markets/{code}?hs=&origin=`:
requirements, fairs and finance for one market) and the results page (`/search?...`, 20 items).

    python -m bench.pages --sizes 100000 1000000

In-process: the app called through Starlette's TestClient (no socket; the framework, the
searches and the templates), a log of pages asked with Zipf popularity after a warm-up, p50 /
p99 per page type. Over HTTP: uvicorn as in bench/search_latency.py (2 workers), wrk at 64
connections, saturated and then at half that throughput, each page type on its own; p99 at
half load is the target. Page weight: bytes of every distinct page (median and largest),
gzip, and `<script>` tags. Targets (issue 17, 1M records): p99 <= 30 ms in-process, <= 60 ms
over HTTP at half load, <= 30 KB a page, no JavaScript.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import itertools
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import forget_shared_answers, save, start_uvicorn, stop, summarise_ms
from bench.generate import MARKETS, generate
from bench.search_latency import build, query_log, query_pool, wrk

DISTINCT = 300
LOG = 1500
WARMUP = 300
ORIGINS = ["KE", "VN", "GH", "PE", "BD", "CI", "ET", "CO", "SN", "NP", "UG", "LK"]
HEADERS = {"accept": "text/html", "accept-encoding": "identity"}


def market_paths(seed: int = 11) -> list[str]:
    """Distinct market pages as exporters ask them: a market (the big ones more often), most
    with a product (an HS code of 4 or 6 digits found in the records) and a country of origin."""
    rng = random.Random(seed)
    codes = sorted({c for r in itertools.islice(generate(5000), 5000) for c in r.hs_codes})
    out: dict[str, None] = {}
    while len(out) < DISTINCT:
        market = MARKETS[min(int(rng.paretovariate(1.2)) - 1, len(MARKETS) - 1)]
        params = []
        if rng.random() < 0.8:
            code = rng.choice(codes)
            params.append(f"hs={code[: rng.choice((4, 6))]}")
        if rng.random() < 0.8:
            params.append(f"origin={rng.choice(ORIGINS)}")
        out.setdefault(f"/markets/{market}" + ("?" + "&".join(params) if params else ""))
    return list(out)


def results_paths() -> list[str]:
    """The search bench's query log as results pages (distinct queries, most popular first)."""
    seen: dict[str, None] = {}
    for _, qs in query_log(query_pool(), 20_000):
        seen.setdefault(f"/search?{quote(qs, safe='=&+')}")
        if len(seen) >= DISTINCT:
            break
    return list(seen)


def zipf_log(paths: list[str], size: int, seed: int = 12) -> list[str]:
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1 / r for r in range(1, len(paths) + 1)))
    return rng.choices(paths, cum_weights=weights, k=size)


def in_process(data_dir: Path, pages: dict[str, list[str]]) -> dict[str, Any]:
    os.environ["TRADEPOINT_DATA_DIR"] = str(data_dir)
    os.environ["TRADEPOINT_LOG_LEVEL"] = "WARNING"
    forget_shared_answers(data_dir)
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    out: dict[str, Any] = {}
    with TestClient(create_app(background_indexer=False)) as client:
        for name, paths in pages.items():
            log = zipf_log(paths, WARMUP + LOG)
            for path in log[:WARMUP]:
                client.get(path, headers=HEADERS)
            times = []
            first_asks: list[float] = []
            asked_again: list[float] = []
            seen = set(log[:WARMUP])
            for path in log[WARMUP:]:
                t = time.perf_counter()
                r = client.get(path, headers=HEADERS)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (path, r.status_code)
                (asked_again if path in seen else first_asks).append(times[-1])
                seen.add(path)
            out[name] = summarise_ms(times)
            # pages are kept until the index changes: what a page costs the first time it is
            # asked (its searches not all kept yet) and again
            out[f"{name}_first_asked"] = summarise_ms(first_asks)
            out[f"{name}_asked_again"] = summarise_ms(asked_again)
            sizes = []
            scripts = 0
            for path in paths:
                body = client.get(path, headers=HEADERS).content
                sizes.append((len(body), len(gzip.compress(body)), path))
                scripts += len(re.findall(rb"<script", body))
            largest = max(sizes)
            out[f"{name}_weight"] = {
                "median_bytes": int(statistics.median(s[0] for s in sizes)),
                "largest_bytes": largest[0],
                "largest_gzip_bytes": largest[1],
                "largest_path": largest[2],
                "over_30kb": sum(1 for s in sizes if s[0] > 30_000),
                "pages": len(sizes),
                "script_tags": scripts,
            }
        # What a full collection of the garbage collector costs a worker holding every page
        # asked above (each one holds the GIL: a pause of every request being served). The
        # app froze its lifelong tables at start (services/process.py).
        gc.collect()
        t = time.perf_counter()
        gc.collect()
        out["full_gc"] = {
            "ms": round((time.perf_counter() - t) * 1000, 1),
            "tracked_objects": len(gc.get_objects()),
            "frozen_objects": gc.get_freeze_count(),
        }
    return out


def over_http(
    data_dir: Path, pages: dict[str, list[str]], seconds: int, connections: int
) -> dict[str, Any]:
    env = {"TRADEPOINT_DATA_DIR": str(data_dir), "TRADEPOINT_LOG_LEVEL": "WARNING"}
    out: dict[str, Any] = {"connections": connections, "workers": 2}
    proc, base = start_uvicorn("search_api.app:create_app()", env)
    try:
        for name, paths in pages.items():
            log = zipf_log(paths, 5000)
            wrk(base, log, 3, connections, headers=HEADERS)  # warm-up
            saturated = wrk(base, log, seconds, connections, headers=HEADERS)
            half = saturated["requests_per_s"] / 2
            out[name] = saturated
            out[f"{name}_at_half_load"] = wrk(
                base, log, seconds, connections, delay_ms=1000 * connections / half, headers=HEADERS
            )
    finally:
        stop(proc)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--no-http", action="store_true", help="in-process figures only")
    ap.add_argument("--http-only", action="store_true", help="HTTP figures only")
    args = ap.parse_args()
    pages = {"market": market_paths(), "results": results_paths()}
    for n in args.sizes:
        data_dir = build(n)
        save(
            f"pages_{n}" + ("_http" if args.http_only else ""),
            {
                "records": n,
                "distinct_pages": {k: len(v) for k, v in pages.items()},
                "in_process": None if args.http_only else in_process(data_dir, pages),
                "http": None
                if args.no_http
                else over_http(data_dir, pages, args.seconds, args.connections),
                "targets": {
                    "in_process_p99_ms": 30,
                    "http_half_load_p99_ms": 60,
                    "page_bytes": 30_000,
                },
            },
        )


if __name__ == "__main__":
    main()
