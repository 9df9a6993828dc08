"""Cold queries: the first searches after the index changed, and queries never asked before.

    python -m bench.cold --sizes 100000 1000000 --rounds 3

A reader (the API's backend) answers the query log until it is warm; then another writer
commits a small change (50 records re-indexed, as a crawl or the other API worker does) and the
reader picks it up; the next queries of the log, as users ask them, are timed ("after a
change"). Rounds alternate the reader's warming of new readers on and off (off: the previous
behaviour, every facet count recomputed by the search that needs it), in one run.

Also timed: the worst case, every one of 1,000 distinct queries once on a freshly opened
reader ("never asked"), and how long after the commit the reader saw the change. Target
(issue 17): p99 <= 8 ms at 1M records on a freshly opened reader.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import save, summarise_ms
from bench.generate import generate
from bench.search_latency import QUERY_TYPES, build, params_of, query_log, query_pool
from search_api.search.tantivy import TantivyBackend
from search_api.search.tantivy import backend as tantivy_backend
from search_api.services import search as service

WARMUP = 2000
"""Queries of the log answered before the change (the reader's facet cache fills with them)."""
AFTER = 1000
"""Queries of the log timed after the change."""
CHANGED = 50
COLD_PER_TYPE = 200


def _timed(backend: TantivyBackend, qs: str) -> float:
    query = params_of(qs).to_query()
    t = time.perf_counter()
    service.search(backend, query)
    return time.perf_counter() - t


def _wait_for_change(backend: TantivyBackend, sig: Any, timeout: float = 30) -> float:
    t = time.perf_counter()
    while True:
        gen = backend._gen
        if gen is not None and gen.meta_sig != sig:
            return time.perf_counter() - t
        if time.perf_counter() - t > timeout:
            raise RuntimeError("the reader never saw the commit")
        time.sleep(0.002)


def after_change(
    index: Path, log: list[tuple[str, str]], warm: bool, round_no: int
) -> dict[str, Any]:
    saved = tantivy_backend.WARM_SECONDS, tantivy_backend.WARM_MORE_SECONDS
    # warming as it was on by default until it measured worse (0.3 s before publishing, 1 s after)
    tantivy_backend.WARM_SECONDS, tantivy_backend.WARM_MORE_SECONDS = (0.3, 1.0) if warm else (0, 0)
    try:
        reader = TantivyBackend(index)
        writer = TantivyBackend(index)  # another process, as far as the reader can tell
        start = (round_no * 997) % (len(log) - WARMUP - AFTER)
        for _, qs in log[start : start + WARMUP]:
            service.search(reader, params_of(qs).to_query())
        changed = [
            r.model_copy(update={"title": f"{r.title} ({round_no})"})
            for r in itertools.islice(generate(CHANGED * (round_no + 2)), CHANGED)
        ]
        gen = reader._gen
        assert gen is not None
        sig = gen.meta_sig
        writer.index(changed)
        seen_after = _wait_for_change(reader, sig)
        by_type: dict[str, list[float]] = {t: [] for t in QUERY_TYPES}
        for t, qs in log[start + WARMUP : start + WARMUP + AFTER]:
            by_type[t].append(_timed(reader, qs))
        out: dict[str, Any] = {t: summarise_ms(v) for t, v in by_type.items()}
        out["all"] = summarise_ms(list(itertools.chain.from_iterable(by_type.values())))
        out["change_seen_after_ms"] = round(seen_after * 1000, 1)
        reader.close()
        writer.close()
        del reader, writer
        gc.collect()
        return out
    finally:
        tantivy_backend.WARM_SECONDS, tantivy_backend.WARM_MORE_SECONDS = saved


def never_asked(index: Path, pools: dict[str, list[str]], parallel: bool = True) -> dict[str, Any]:
    """Every query of the pools once, on a freshly opened reader; `parallel`: facets counted
    on another thread while the hits are collected (off: one after the other)."""
    saved = tantivy_backend.PARALLEL_FACETS
    tantivy_backend.PARALLEL_FACETS = parallel
    try:
        return _never_asked(index, pools)
    finally:
        tantivy_backend.PARALLEL_FACETS = saved


def _never_asked(index: Path, pools: dict[str, list[str]]) -> dict[str, Any]:
    backend = TantivyBackend(index)
    service.search(backend, params_of("q=warm").to_query())  # open the reader
    cold = {t: [_timed(backend, qs) for qs in pool[:COLD_PER_TYPE]] for t, pool in pools.items()}
    backend.close()
    out: dict[str, Any] = {t: summarise_ms(v) for t, v in cold.items()}
    out["all"] = summarise_ms(list(itertools.chain.from_iterable(cold.values())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    pools = query_pool()
    log = query_log(pools, 20_000)
    for n in args.sizes:
        index = build(n) / "index"
        rounds: dict[str, list[dict[str, Any]]] = {"warm": [], "off": []}
        never: list[dict[str, Any]] = []
        never_serial: list[dict[str, Any]] = []
        for r in range(args.rounds):
            # alternate which goes first, so neither always runs on a quieter machine
            order = (True, False) if r % 2 == 0 else (False, True)
            for warm in order:
                fig = after_change(index, log, warm, r)
                rounds["warm" if warm else "off"].append(fig)
                print(n, "warm" if warm else "off", fig["all"], fig["change_seen_after_ms"])
            for parallel in (True, False) if r % 2 == 0 else (False, True):
                fig = never_asked(index, pools, parallel)
                (never if parallel else never_serial).append(fig)
                print(n, "never asked", "parallel" if parallel else "serial", fig["all"])

        def med(figs: list[dict[str, Any]], key: str, field: str) -> float:
            return round(statistics.median(f[key][field] for f in figs), 3)

        summary = {
            name: {
                "p50_ms_median": med(figs, "all", "p50_ms"),
                "p99_ms_median": med(figs, "all", "p99_ms"),
                "p99_ms_runs": [f["all"]["p99_ms"] for f in figs],
                "change_seen_after_ms_runs": [f["change_seen_after_ms"] for f in figs],
            }
            for name, figs in (
                ("after_change_warmed", rounds["warm"]),
                ("after_change_not_warmed", rounds["off"]),
            )
        }
        summary["never_asked"] = {
            "p50_ms_median": med(never, "all", "p50_ms"),
            "p99_ms_median": med(never, "all", "p99_ms"),
            "p99_ms_runs": [f["all"]["p99_ms"] for f in never],
        }
        summary["never_asked_facets_after_hits"] = {
            "p50_ms_median": med(never_serial, "all", "p50_ms"),
            "p99_ms_median": med(never_serial, "all", "p99_ms"),
            "p99_ms_runs": [f["all"]["p99_ms"] for f in never_serial],
        }
        save(
            f"cold_{n}",
            {
                "records": n,
                "rounds": args.rounds,
                "changed_records": CHANGED,
                "warmup_queries": WARMUP,
                "timed_after_change": AFTER,
                "summary": summary,
                "runs": {**rounds, "never_asked": never, "never_asked_serial": never_serial},
                "target": {"p99_ms": 8, "at_records": 1_000_000},
            },
        )


if __name__ == "__main__":
    main()
