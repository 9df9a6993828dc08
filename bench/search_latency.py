"""Search latency in-process and over HTTP, against a trivial FastAPI endpoint as baseline.

    python -m bench.search_latency --sizes 100000 1000000

For each size: build (or reuse) a tantivy index of synthetic records, time a query mix
in-process (p50/p99), then serve the API with uvicorn (2 workers, uvloop, httptools) and load
it with wrk at 64 connections, next to a trivial JSON endpoint served the same way. Also reports
the peak RSS of the API worker processes. Targets (1M records, 2 cores): p99 <= 10 ms
in-process, <= 50 ms over HTTP, search throughput >= 50% of the trivial endpoint.
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import DATA, save, start_uvicorn, stop, summarise_ms
from bench.generate import generate
from search_api import service
from search_api.search.tantivy import TantivyBackend
from search_api.service import SearchParams
from search_api.store import Store

QUERY_MIX: dict[str, list[str]] = {
    "text": ["q=coffee", "q=textile", "q=international+fair", "q=salon+cuir", "q=feria"],
    "text_market": ["q=coffee&market=DE", "q=fair&market=US", "q=packaging&market=FR"],
    "facets": ["market=DE", "kind=fair&sector=food", "kind=requirement"],
    "date_range": [
        "kind=fair&date_from=2027-03-01&date_to=2027-03-31",
        "date_from=2026-06-01&date_to=2026-12-31&market=AE",
    ],
    "hs_prefix": ["hs=0901", "hs=090121&market=EU", "hs=09"],
}


def params_of(qs: str) -> SearchParams:
    raw: dict[str, Any] = {}
    for part in qs.split("&"):
        k, v = part.split("=")
        v = v.replace("+", " ")
        if k in ("kind", "market", "sector", "status"):
            raw[k] = (*raw.get(k, ()), v)
        else:
            raw[k] = v
    for k in ("date_from", "date_to"):
        if k in raw:
            from datetime import date

            raw[k] = date.fromisoformat(raw[k])
    return SearchParams(**raw)


def build(n: int) -> Path:
    data_dir = DATA / f"search-{n}"
    backend = TantivyBackend(data_dir / "index")
    if backend.needs_rebuild() or backend.count() != n:
        t = time.perf_counter()
        backend.rebuild(generate(n))
        print(f"indexed {n} records in {time.perf_counter() - t:.1f}s")
    Store(f"sqlite:///{data_dir / 'tradepoint.db'}").close()
    backend.close()
    return data_dir


def in_process(data_dir: Path, rounds: int) -> dict[str, Any]:
    backend = TantivyBackend(data_dir / "index")
    out: dict[str, Any] = {}
    every: list[float] = []
    for name, queries in QUERY_MIX.items():
        times = []
        for qs in queries * 3:  # warm caches the way a running server would be
            service.search(backend, service.build_query(params_of(qs)))
        for i in range(rounds):
            query = service.build_query(params_of(queries[i % len(queries)]))
            t = time.perf_counter()
            service.search(backend, query)
            times.append(time.perf_counter() - t)
        out[name] = summarise_ms(times)
        every += times
    out["all"] = summarise_ms(every)
    backend.close()
    return out


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(base: str, paths: list[str], seconds: int, connections: int) -> dict[str, float]:
    script = (
        "paths = {"
        + ",".join(f'"{p}"' for p in paths)
        + "}\n"
        + (
            "i = 0\nrequest = function()\n  i = i % #paths + 1\n"
            '  return wrk.format("GET", paths[i])\nend\n'
        )
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", f.name, base],
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


def peak_rss_mb(proc: subprocess.Popen[bytes]) -> float:
    """Largest VmHWM among the server process and its workers."""
    pids = [proc.pid]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peak = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            m = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            peak = max(peak, int(m.group(1)) if m else 0)
    return round(peak / 1024, 1)


def over_http(data_dir: Path, seconds: int, connections: int) -> dict[str, Any]:
    paths = [f"/api/v1/search?{qs}" for qs in itertools.chain.from_iterable(QUERY_MIX.values())]
    env = {"TRADEPOINT_DATA_DIR": str(data_dir), "TRADEPOINT_LOG_LEVEL": "WARNING"}
    proc, base = start_uvicorn("search_api.app:create_app()", env)
    try:
        wrk(base, paths, 3, connections)  # warm-up
        search = wrk(base, paths, seconds, connections)
        rss = peak_rss_mb(proc)
    finally:
        stop(proc)
    proc, base = start_uvicorn("bench.trivial_app:app", {})
    try:
        wrk(base, ["/api/v1/trivial"], 3, connections)
        trivial = wrk(base, ["/api/v1/trivial"], seconds, connections)
    finally:
        stop(proc)
    return {
        "search": search,
        "trivial": trivial,
        "api_peak_rss_mb": rss,
        "throughput_ratio": round(search["requests_per_s"] / trivial["requests_per_s"], 3),
        "connections": connections,
        "workers": 2,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=1000, help="in-process queries per type")
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per endpoint")
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    for n in args.sizes:
        data_dir = build(n)
        figures = {
            "records": n,
            "in_process": in_process(data_dir, args.rounds),
            "http": over_http(data_dir, args.seconds, args.connections),
            "targets": {"in_process_p99_ms": 10, "http_p99_ms": 50, "throughput_ratio": 0.5},
        }
        save(f"search_{n}", figures)


if __name__ == "__main__":
    main()
