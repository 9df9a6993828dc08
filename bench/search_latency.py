"""Search latency in-process and over HTTP, against a trivial FastAPI endpoint as baseline.

    python -m bench.search_latency --sizes 100000 1000000

For each size: build (or reuse) a tantivy index of synthetic records; time a query log
in-process (p50/p99; 200 distinct queries per type, asked with Zipf popularity) and every
distinct query once on a fresh reader; then serve the API with uvicorn (2 workers, uvloop,
httptools) and load it with wrk at 64 connections replaying the same log, next to a trivial
JSON endpoint served the same way. Also reports
the peak RSS of the API worker processes. Targets (1M records, 2 cores): p99 <= 10 ms
in-process, <= 50 ms over HTTP, search throughput >= 50% of the trivial endpoint.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import subprocess
import tempfile
import time
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import DATA, save, start_uvicorn, stop, summarise_ms
from bench.generate import EVENT_WORDS, GENERATOR_VERSION, generate
from search_api.search.request import SearchRequest
from search_api.search.tantivy import TantivyBackend
from search_api.services import search as service
from search_api.settings import Settings
from search_api.store import Store

QUERY_TYPES = ("text", "text_market", "facets", "date_range", "hs_prefix")
POOL_PER_TYPE = 2000
COLD_PER_TYPE = 200
LOG_SIZE = 20_000
IN_PROCESS_LOG = 6000
WARMUP = 1000
CACHE_SIZE = Settings.model_fields["search_cache_size"].default


def query_pool(seed: int = 3) -> dict[str, list[str]]:
    """Distinct query strings per type, drawn from the generated records themselves (the first
    records of `generate(n)` are the same for every n), so every query has answers."""
    rng = random.Random(seed)
    records = list(generate(20_000))
    events = {w.lower() for words in EVENT_WORDS.values() for w in " ".join(words).split()}
    pools: dict[str, dict[str, None]] = {t: {} for t in QUERY_TYPES}

    def words_of(title: str) -> list[str]:
        return [w for w in title.lower().split() if w not in events and not w.isdigit()]

    for _ in range(200 * POOL_PER_TYPE):  # bounded: a small space may not have that many
        if min(len(p) for p in pools.values()) >= POOL_PER_TYPE:
            break
        rec = rng.choice(records)
        words = words_of(rec.title) or ["fair"]
        q = "+".join(rng.sample(words, k=1 if rng.random() < 0.7 or len(words) < 2 else 2))
        market = rec.markets[0] if rec.markets else "DE"
        pools["text"].setdefault(f"q={q}")
        pools["text_market"].setdefault(f"q={q}&market={market}")
        kind = rng.choice(["fair", "requirement", "finance"])
        pools["facets"].setdefault(
            rng.choice(
                [
                    f"market={market}",
                    f"kind={kind}",
                    f"kind={kind}&sector={rng.choice(rec.sectors)}",
                    f"kind={kind}&market={market}",
                    f"kind={kind}&market={market}&sector={rng.choice(rec.sectors)}",
                ]
            )
        )
        first = date(2026, 1, 1) + timedelta(days=31 * rng.randint(0, 35))
        first = first.replace(day=1)
        last = (first + timedelta(days=31 * rng.randint(1, 3))).replace(day=1) - timedelta(1)
        window = f"date_from={first}&date_to={last}"
        pools["date_range"].setdefault(
            f"kind=fair&{window}" if rng.random() < 0.5 else f"{window}&market={market}"
        )
        if rec.hs_codes:
            code = rec.hs_codes[0]
            prefix = code[: rng.choice([n for n in (2, 4, 6) if n <= len(code)])]
            pools["hs_prefix"].setdefault(
                f"hs={prefix}" if rng.random() < 0.6 else f"hs={prefix}&market={market}"
            )
    return {t: list(p)[:POOL_PER_TYPE] for t, p in pools.items()}


def query_log(pools: dict[str, list[str]], size: int, seed: int = 4) -> list[tuple[str, str]]:
    """(type, query) pairs as a server sees them: types in equal shares, and within a type a
    few popular queries asked often and a long tail asked rarely (Zipf, s=1)."""
    rng = random.Random(seed)
    ranked = {t: rng.sample(p, len(p)) for t, p in pools.items()}
    weights = list(itertools.accumulate(1 / r for r in range(1, POOL_PER_TYPE + 1)))
    out = []
    for _ in range(size):
        t = rng.choice(QUERY_TYPES)
        out.append((t, rng.choices(ranked[t], cum_weights=weights, k=1)[0]))
    return out


def params_of(qs: str) -> SearchRequest:
    raw: dict[str, list[str]] = {}
    for part in qs.split("&"):
        k, v = part.split("=")
        raw.setdefault(k, []).append(v.replace("+", " "))
    return SearchRequest.from_query(raw)


def build(n: int) -> Path:
    data_dir = DATA / f"search-{n}"
    backend = TantivyBackend(data_dir / "index")
    marker = data_dir / "generator"
    made_by = marker.read_text() if marker.exists() else None
    if backend.needs_rebuild() or backend.count() != n or made_by != GENERATOR_VERSION:
        t = time.perf_counter()
        backend.rebuild(generate(n))
        marker.write_text(GENERATOR_VERSION)
        print(f"indexed {n} records in {time.perf_counter() - t:.1f}s")
    store = Store(f"sqlite:///{data_dir / 'tradepoint.db'}")
    store.migrate()
    store.migrate()
    store.close()
    backend.close()
    return data_dir


def lru_hit_ratio(log: list[tuple[str, str]], size: int, workers: int) -> float:
    """Share of the log an LRU answer cache of `size` per worker would answer, with requests
    spread over the workers at random (the server's own figure is not observable from wrk)."""
    rng = random.Random(5)
    caches: list[OrderedDict[str, None]] = [OrderedDict() for _ in range(workers)]
    hits = 0
    for _, qs in log * 3:  # wrk replays the log several times in one run
        cache = caches[rng.randrange(workers)]
        if qs in cache:
            hits += 1
            cache.move_to_end(qs)
        else:
            cache[qs] = None
            if len(cache) > size:
                cache.popitem(last=False)
    return round(hits / (3 * len(log)), 3)


def _timed(backend: TantivyBackend, qs: str) -> float:
    query = params_of(qs).to_query()
    t = time.perf_counter()
    service.search(backend, query)
    return time.perf_counter() - t


def in_process(data_dir: Path, log: list[tuple[str, str]], pools: dict[str, list[str]]) -> dict:
    """The query log after a warm-up (what a running server sees), then every distinct query
    once on a freshly opened index (no query seen before: the worst case)."""
    out: dict[str, Any] = {}
    backend = TantivyBackend(data_dir / "index")
    for _, qs in log[:WARMUP]:
        service.search(backend, params_of(qs).to_query())
    by_type: dict[str, list[float]] = {t: [] for t in QUERY_TYPES}
    for t, qs in log[WARMUP:IN_PROCESS_LOG]:
        by_type[t].append(_timed(backend, qs))
    backend.close()
    out["log"] = {t: summarise_ms(v) for t, v in by_type.items()}
    out["log"]["all"] = summarise_ms(list(itertools.chain.from_iterable(by_type.values())))
    backend = TantivyBackend(data_dir / "index")
    service.search(backend, params_of("q=warm").to_query())  # open the reader
    cold = {t: [_timed(backend, qs) for qs in pool[:COLD_PER_TYPE]] for t, pool in pools.items()}
    backend.close()
    out["cold"] = {t: summarise_ms(v) for t, v in cold.items()}
    out["cold"]["all"] = summarise_ms(list(itertools.chain.from_iterable(cold.values())))
    return out


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    base: str,
    paths: list[str],
    seconds: int,
    connections: int,
    delay_ms: float = 0,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Closed loop: each connection sends its next request when the answer arrives, or
    `delay_ms` after it (a lower offered load; the delay is not counted as latency)."""
    sent = "{" + ",".join(f'["{k}"]="{v}"' for k, v in (headers or {}).items()) + "}"
    script = (
        "paths = {"
        + ",".join(f'"{p}"' for p in paths)
        + "}\n"
        # each wrk thread replays the log from its own offset, not in lockstep
        + (
            "local n = 0\nfunction setup(thread)\n  thread:set('id', n)\n  n = n + 1\nend\n"
            "function init(args)\n  i = (id or 0) * math.floor(#paths / 2)\nend\n"
            "request = function()\n  i = i % #paths + 1\n"
            f'  return wrk.format("GET", paths[i], {sent})\nend\n'
        )
        + (f"function delay()\n  return {delay_ms:.1f}\nend\n" if delay_ms else "")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        # a slow page at 64 connections queues for seconds: wrk's default 2 s timeout would
        # drop exactly the slowest answers from the percentiles
        [
            "wrk",
            "--latency",
            "--timeout",
            "30s",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            f.name,
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = {m[0]: float(m[1]) * UNIT[m[2]] for m in WRK_LATENCY.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "requests_per_s": rps,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def peak_rss_mb(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    """Largest VmHWM among the server process and its workers, and the largest current
    anonymous (heap) and file-backed (the memory-mapped index, reclaimable page cache) parts."""
    pids = [proc.pid]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    out = {"peak": 0.0, "anon": 0.0, "file": 0.0}
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if not status.exists():
            continue
        text = status.read_text()
        for key, field in (("peak", "VmHWM"), ("anon", "RssAnon"), ("file", "RssFile")):
            m = re.search(rf"{field}:\s+(\d+) kB", text)
            out[key] = max(out[key], round(int(m.group(1)) / 1024, 1) if m else 0.0)
    return out


def over_http(
    data_dir: Path, log: list[tuple[str, str]], seconds: int, connections: int
) -> dict[str, Any]:
    """wrk replaying the query log against the API with its answer cache (the default), then
    with the cache off (every request searches), then the trivial endpoint."""
    paths = [f"/api/v1/search?{quote(qs, safe='=&+')}" for _, qs in log]
    out: dict[str, Any] = {"connections": connections, "workers": 2}
    for name, cache_size in (("search", CACHE_SIZE), ("search_uncached", 0)):
        env = {
            "TRADEPOINT_DATA_DIR": str(data_dir),
            "TRADEPOINT_LOG_LEVEL": "WARNING",
            "TRADEPOINT_SEARCH_CACHE_SIZE": str(cache_size),
        }
        proc, base = start_uvicorn("search_api.app:create_app()", env)
        try:
            wrk(base, paths, 3, connections)  # warm-up
            out[name] = wrk(base, paths, seconds, connections)
            # Latency below saturation: about half the throughput just measured.
            half = out[name]["requests_per_s"] / 2
            out[f"{name}_at_half_load"] = wrk(
                base, paths, seconds, connections, delay_ms=1000 * connections / half
            )
            out[f"{name}_api_rss_mb"] = peak_rss_mb(proc)
        finally:
            stop(proc)
    proc, base = start_uvicorn("bench.trivial_app:app", {})
    try:
        wrk(base, ["/api/v1/trivial"], 3, connections)
        out["trivial"] = wrk(base, ["/api/v1/trivial"], seconds, connections)
    finally:
        stop(proc)
    for name in ("search", "search_uncached"):
        ratio = out[name]["requests_per_s"] / out["trivial"]["requests_per_s"]
        out[f"{name}_throughput_ratio"] = round(ratio, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per endpoint")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--no-http", action="store_true", help="in-process figures only")
    args = ap.parse_args()
    pools = query_pool()
    log = query_log(pools, LOG_SIZE)
    for n in args.sizes:
        data_dir = build(n)
        figures = {
            "records": n,
            "query_log": {
                "distinct_per_type": POOL_PER_TYPE,
                "distinct_in_log": len({qs for _, qs in log}),
                "http_log_size": LOG_SIZE,
                "in_process": {"warmup": WARMUP, "timed": IN_PROCESS_LOG - WARMUP},
                "cold_distinct_per_type": COLD_PER_TYPE,
                "simulated_cache_hit_ratio": lru_hit_ratio(log, CACHE_SIZE, workers=2),
            },
            "in_process": in_process(data_dir, log, pools),
            "http": None
            if args.no_http
            else over_http(data_dir, log, args.seconds, args.connections),
            "targets": {"in_process_p99_ms": 10, "http_p99_ms": 50, "throughput_ratio": 0.5},
        }
        save(f"search_{n}", figures)


if __name__ == "__main__":
    main()
