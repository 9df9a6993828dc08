"""The engine as the limit, and the half-load tail (issue 17, targets 1 and 2).

    python -m bench.engine_ratio --size 1000000 --rounds 3

Three servers, set up alike (bench/common.py start_uvicorn: 2 workers, uvloop, httptools), each
replaying the search bench's query log with wrk at 64 connections: the API's search endpoint
with its answer cache (the default), the same with the cache off, and the bare engine
(bench/bare_engine.py), and the bare engine with an LRU of facets like the app's backend (what
the app adds, apart from what its facet cache saves). Each is measured saturated and then at
half its own saturated throughput. Rounds alternate the order of the four; figures are medians
of the rounds, with every round's value kept. Targets at 1M records: search (cache off) / bare
engine throughput >= 0.8; HTTP p99 <= 25 ms at half load with the cache on.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import save, start_uvicorn, stop
from bench.search_latency import CACHE_SIZE, LOG_SIZE, build, query_log, query_pool, wrk
from search_api.search.tantivy.backend import FACET_CACHE_SIZE


def _serve(name: str, data_dir: Path) -> tuple[Any, str, str]:
    if name.startswith("bare"):
        env = {
            "TRADEPOINT_BENCH_INDEX": str(data_dir / "index"),
            "TRADEPOINT_BENCH_FACET_CACHE": str(
                FACET_CACHE_SIZE if name == "bare_facet_cache" else 0
            ),
        }
        proc, base = start_uvicorn("bench.bare_engine:app", env)
        return proc, base, "/bare/search"
    cache = CACHE_SIZE if name == "search" else 0
    env = {
        "TRADEPOINT_DATA_DIR": str(data_dir),
        "TRADEPOINT_LOG_LEVEL": "WARNING",
        "TRADEPOINT_SEARCH_CACHE_SIZE": str(cache),
    }
    proc, base = start_uvicorn("search_api.app:create_app()", env)
    return proc, base, "/api/v1/search"


def measure(
    name: str, data_dir: Path, queries: list[str], seconds: int, connections: int
) -> dict[str, Any]:
    proc, base, path = _serve(name, data_dir)
    paths = [f"{path}?{q}" for q in queries]
    try:
        wrk(base, paths, 3, connections)  # warm-up
        saturated = wrk(base, paths, seconds, connections)
        half = saturated["requests_per_s"] / 2
        at_half = wrk(base, paths, seconds, connections, delay_ms=1000 * connections / half)
    finally:
        stop(proc)
    return {"saturated": saturated, "half_load": at_half}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    data_dir = build(args.size)
    queries = [quote(qs, safe="=&+") for _, qs in query_log(query_pool(), LOG_SIZE)]
    names = ["search", "search_uncached", "bare", "bare_facet_cache"]
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            runs[name].append(measure(name, data_dir, queries, args.seconds, args.connections))
            print(r, name, runs[name][-1])

    def series(name: str, part: str, field: str) -> list[float]:
        return [run[part][field] for run in runs[name]]

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    summary: dict[str, Any] = {}
    for name in names:
        summary[name] = {
            "requests_per_s_median": med(series(name, "saturated", "requests_per_s")),
            "requests_per_s_runs": series(name, "saturated", "requests_per_s"),
            "saturated_p99_ms_runs": series(name, "saturated", "p99_ms"),
            "half_load_p99_ms_median": med(series(name, "half_load", "p99_ms")),
            "half_load_p99_ms_runs": series(name, "half_load", "p99_ms"),
            "half_load_requests_per_s_runs": series(name, "half_load", "requests_per_s"),
        }
    for name, engine in (
        ("search", "bare"),
        ("search_uncached", "bare"),
        ("search_uncached", "bare_facet_cache"),
    ):
        ratios = [
            round(a / b, 3)
            for a, b in zip(
                series(name, "saturated", "requests_per_s"),
                series(engine, "saturated", "requests_per_s"),
                strict=True,
            )
        ]
        summary[f"{name}_to_{engine}"] = {
            "median_of_medians": round(
                summary[name]["requests_per_s_median"] / summary[engine]["requests_per_s_median"],
                3,
            ),
            "per_round": ratios,
        }
    save(
        f"engine_ratio_{args.size}",
        {
            "records": args.size,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": args.connections,
            "summary": summary,
            "runs": runs,
            "targets": {"uncached_to_bare": 0.8, "half_load_p99_ms_cache_on": 25},
        },
    )


if __name__ == "__main__":
    main()
