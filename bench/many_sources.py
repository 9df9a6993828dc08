"""Many small sources due at once (issue 17, target 6): N loopback sources of mixed formats
(schema.org sites of 10-50 pages, iCalendar feeds, RSS feeds) on H hosts, all crawled the way
the scheduler crawls them: `run_crawl`, one child process per run, at most `--workers` at a
time (the scheduler's crawl pool), with the crawler's politeness settings (delay and
concurrency per host, robots.txt).

It reports the total time, pages per second, and the overhead each run pays on top of fetching
its pages: the run's wall time minus the window in which the site saw its requests (first
request to last answer), which is the child process's start-up (Python, Scrapy, the store),
its post-run work (store, withdrawals, run record) and its exit. Target: overhead <= 25% of the
total crawl time.

    python -m bench.many_sources --sources 1000 --hosts 50 --workers 4
    python -m bench.many_sources --sources 60 --delay 0      # worst case: no politeness delay
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import DATA, save
from search_api.domain.sources import parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store


def _event_page(k: int, i: int) -> str:
    start = date(2027, 1, 1) + timedelta(days=(k * 7 + i) % 365)
    event = {
        "@context": "https://schema.org",
        "@type": "ExhibitionEvent",
        "name": f"Source {k} fair {i}",
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=2)).isoformat(),
        "location": {"@type": "Place", "address": {"addressCountry": "KE"}},
    }
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<script type='application/ld+json'>{json.dumps(event)}</script></head>"
        f"<body><h1>{event['name']}</h1><p>{'Text. ' * 60}</p></body></html>"
    )


def _ics(k: int, n: int) -> str:
    events = []
    for i in range(n):
        day = date(2027, 2, 1) + timedelta(days=(k + i) % 300)
        events.append(
            f"BEGIN:VEVENT\r\nUID:s{k}-e{i}@bench\r\nSUMMARY:Source {k} event {i}\r\n"
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}\r\nDTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"
            "\r\nLOCATION:Nairobi\\, Kenya\r\nEND:VEVENT\r\n"
        )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:bench\r\n{''.join(events)}END:VCALENDAR\r\n"


def _rss(k: int, n: int) -> str:
    items = "".join(
        f"<item><title>Source {k} rule {i}</title><link>https://rules.example.org/{k}/{i}</link>"
        f"<description>Labelling rule {i}.</description><category>KE</category>"
        f"<pubDate>Mon, 0{1 + i % 9} Feb 2027 10:00:00 GMT</pubDate></item>"
        for i in range(n)
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel>"
        f"<title>s{k}</title>{items}</channel></rss>"
    )


def build(root: Path, sources: int, seed: int) -> list[tuple[str, str, int]]:
    """The sites under root/s<k>/; (format, path of the start page, pages) per source."""
    rnd = random.Random(seed)
    shutil.rmtree(root, ignore_errors=True)
    out = []
    for k in range(sources):
        site = root / f"s{k}"
        site.mkdir(parents=True)
        roll = rnd.random()
        if roll < 0.7:
            n = rnd.randint(10, 50) - 1  # the index page is one of the pages
            links = "".join(f"<a href='e{i}.html'>{i}</a> " for i in range(n))
            (site / "index.html").write_text(f"<!doctype html><html><body>{links}</body></html>")
            for i in range(n):
                (site / f"e{i}.html").write_text(_event_page(k, i))
            out.append(("schema_org", f"/s{k}/index.html", n + 1))
        elif roll < 0.85:
            (site / "cal.ics").write_text(_ics(k, rnd.randint(10, 50)))
            out.append(("ical", f"/s{k}/cal.ics", 1))
        else:
            (site / "feed.xml").write_text(_rss(k, rnd.randint(10, 50)))
            out.append(("feed", f"/s{k}/feed.xml", 1))
    return out


class Seen:
    """When each source's site saw its first request and sent its last answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.requests = 0

    def note(self, path: str, at: float, done: float) -> None:
        parts = path.split("/")
        if len(parts) < 3 or not parts[1].startswith("s"):
            return  # robots.txt
        with self.lock:
            self.requests += 1
            self.first[parts[1]] = min(self.first.get(parts[1], at), at)
            self.last[parts[1]] = max(self.last.get(parts[1], done), done)


def serve(root: Path, host: str, seen: Seen) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

            at = time.perf_counter()
            super().do_GET()
            seen.note(self.path, at, time.perf_counter())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--workers", type=int, default=4, help="the scheduler's crawl pool size")
    ap.add_argument("--delay", type=float, default=None, help="crawl delay (default: setting)")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()

    root = DATA / "many-sources"
    plan = build(root / "sites", args.sources, args.seed)
    data_dir = root / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    extra: dict[str, Any] = {"data_dir": data_dir, "allow_private_hosts": True}
    if args.delay is not None:
        extra["crawl_delay"] = args.delay
    settings = Settings(**extra)
    store = Store(settings.sqlalchemy_url)
    store.migrate()
    seen = Seen()
    # Hosts 127.0.0.1, 127.0.0.2, ...: the crawler's politeness is per host name.
    servers = [serve(root / "sites", f"127.0.0.{h + 1}", seen) for h in range(args.hosts)]
    kinds = {"schema_org": "fair", "ical": "fair", "feed": "requirement"}
    for k, (fmt, path, _) in enumerate(plan):
        server = servers[k % len(servers)]
        host, port = str(server.server_address[0]), int(server.server_address[1])
        spec: dict[str, Any] = {
            "id": f"bench_s{k}",
            "name": f"Bench source {k}",
            "kind": kinds[fmt],
            "format": fmt,
            "start_urls": [f"http://{host}:{port}{path}"],
            "min_items": 1,
        }
        if fmt == "schema_org":
            spec["follow"] = {"allow": [f"/s{k}/"], "max_pages": 60}
        store.add_source(parse_source(spec))

    runs: dict[str, float] = {}
    statuses: dict[str, str] = {}

    def one(k: int) -> None:
        t = time.perf_counter()
        outcome = run_crawl(settings, f"bench_s{k}", store)
        runs[f"s{k}"] = time.perf_counter() - t
        statuses[f"s{k}"] = outcome.status

    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(one, range(len(plan))))
    total = time.perf_counter() - started
    for server in servers:
        server.shutdown()
        server.server_close()

    run_time = sum(runs.values())
    fetching = sum(seen.last[s] - seen.first[s] for s in runs if s in seen.first)
    overheads = [runs[s] - (seen.last[s] - seen.first[s]) for s in runs if s in seen.first]
    pages = sum(n for _, _, n in plan)
    result = {
        "sources": len(plan),
        "formats": {f: sum(1 for p in plan if p[0] == f) for f in kinds},
        "pages": pages,
        "requests_seen": seen.requests,
        "hosts": args.hosts,
        "workers": args.workers,
        "crawl_delay_s": settings.crawl_delay,
        "succeeded": sum(1 for s in statuses.values() if s == "succeeded"),
        "total_s": round(total, 1),
        "pages_per_s": round(pages / total, 1),
        "run_time_sum_s": round(run_time, 1),
        "fetch_window_sum_s": round(fetching, 1),
        "overhead_share": round(1 - fetching / run_time, 3) if run_time else None,
        "overhead_per_run_s": {
            "p50": round(statistics.median(overheads), 2),
            "p90": round(statistics.quantiles(overheads, n=10)[-1], 2),
        }
        if len(overheads) >= 2
        else None,
        "target_overhead_share": 0.25,
    }
    save(f"many_sources_{len(plan)}_delay_{settings.crawl_delay}", result)


if __name__ == "__main__":
    main()
