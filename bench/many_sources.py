"""Many small sources due at once (issue 17, target 6): N loopback sources of mixed formats
(schema.org sites of 10-50 pages, iCalendar feeds, RSS feeds) on H hosts, all due at the same
moment in the scheduler (`SchedulerService`, its APScheduler job store in the bench's
database): at most `--workers` crawls at a time (`TRADEPOINT_SCHEDULER_MAX_CRAWLS`), never two
on one host, each a child process forked from the warm fork server, with the crawler's
politeness settings (delay and concurrency per host, robots.txt).

It reports the total time, pages per second, and the overhead each run pays on top of fetching
its pages: the run's wall time (the scheduler's crawl of the source, index update included)
minus the window in which the site saw its requests (first request to last answer), which is
the child process's start-up, its post-run work (store, withdrawals, run record), its exit and
the index update. Target: overhead <= 25% of the total crawl time. It also reports memory (the
proportional set size of the scheduler, the fork server and the crawl children, sampled every
half second) and checks politeness: no two crawls on one host at once.

    python -m bench.many_sources --sources 1000 --hosts 50 --workers 8
    python -m bench.many_sources --sources 60 --delay 0      # worst case: no politeness delay
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED

from bench.common import DATA, save
from schedules.service import SchedulerService
from search_api.domain.sources import parse_source
from search_api.services import crawls
from search_api.services.crawls import CrawlOutcome
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


def _descendants(pid: int) -> list[int]:
    """This process's children, their children and so on (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (the fork server's, in every child) counted once."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Memory:
    """Peak memory of this process and its descendants, and peak number of descendants."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.5):
            kids = _descendants(me)
            self.peak_processes = max(self.peak_processes, len(kids))
            self.peak_kb = max(self.peak_kb, _pss_kb(me) + sum(_pss_kb(k) for k in kids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _host_overlaps(seen: Seen, host_of: dict[str, int]) -> int:
    """Pairs of sources whose sites saw requests at overlapping times on the same host."""
    by_host: dict[int, list[tuple[float, float]]] = {}
    for s, first in seen.first.items():
        by_host.setdefault(host_of[s], []).append((first, seen.last[s]))
    overlaps = 0
    for windows in by_host.values():
        end = float("-inf")
        for first, last in sorted(windows):
            overlaps += first < end
            end = max(end, last)
    return overlaps


class ColdChildren:
    """The baseline: every crawl child a fresh `python -m crawlers.runner` (before the fork
    server), for an A/B in the same session."""

    def run(self, args: Any, *, env: Any, timeout: float | None = None) -> Any:
        return subprocess.run(list(args), env=dict(env), timeout=timeout, check=False)

    def pids(self, *argv: str) -> list[int]:
        return []


class TimedScheduler(SchedulerService):
    """The scheduler service, timing each source's crawl as its worker thread sees it."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.runs: dict[str, float] = {}
        self.statuses: dict[str, str] = {}
        self.done = threading.Semaphore(0)
        self.missed = 0
        # A job that waited in the pool's queue longer than the misfire grace is dropped by
        # APScheduler (until its next period): counted, and not waited for.
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    def _on_missed(self, event: Any) -> None:
        self.missed += 1
        self.done.release()

    def _crawl(self, source_id: str, attempt: int) -> CrawlOutcome | None:
        t = time.perf_counter()
        try:
            outcome = super()._crawl(source_id, attempt)
        finally:
            self.runs[source_id.removeprefix("bench_")] = time.perf_counter() - t
            self.done.release()
        if outcome is not None:
            self.statuses[source_id.removeprefix("bench_")] = outcome.status
        return outcome


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument(
        "--workers", type=int, default=4, help="crawls at once (TRADEPOINT_SCHEDULER_MAX_CRAWLS)"
    )
    ap.add_argument("--delay", type=float, default=None, help="crawl delay (default: setting)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument(
        "--cold-children",
        action="store_true",
        help="baseline: start each crawl child as a fresh Python process (no fork server)",
    )
    args = ap.parse_args()
    if args.cold_children:
        crawls.warm = ColdChildren()  # type: ignore[assignment]

    root = DATA / "many-sources"
    plan = build(root / "sites", args.sources, args.seed)
    data_dir = root / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    extra: dict[str, Any] = {
        "data_dir": data_dir,
        "allow_private_hosts": True,
        "scheduler_max_crawls": args.workers,
        "scheduler_jitter_seconds": 0,
        # No retries: a failed run counts as failed here, rather than being run again.
        "crawl_retries": 0,
    }
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
            "schedule": "0 4 * * *",
        }
        if fmt == "schema_org":
            spec["follow"] = {"allow": [f"/s{k}/"], "max_pages": 60}
        store.add_source(parse_source(spec))

    service = TimedScheduler(settings, store)
    service.start()
    memory = Memory()
    started = time.perf_counter()
    now = datetime.now(UTC)
    # All due at once, as after a scheduler outage or with every source on one daily schedule.
    for k in range(len(plan)):
        service.scheduler.modify_job(f"crawl:bench_s{k}", next_run_time=now)
    for _ in plan:
        service.done.acquire()
    total = time.perf_counter() - started
    memory.stop()
    service.stop(grace=60)
    for server in servers:
        server.shutdown()
        server.server_close()
    runs, statuses = service.runs, service.statuses

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
        "children": "fresh python processes" if args.cold_children else "forked, warm",
        "crawl_delay_s": settings.crawl_delay,
        "succeeded": sum(1 for s in statuses.values() if s == "succeeded"),
        "same_host_overlaps": _host_overlaps(
            seen, {f"s{k}": k % args.hosts for k in range(len(plan))}
        ),
        "missed_jobs": service.missed,
        "misfire_grace_s": settings.scheduler_misfire_grace_seconds,
        "peak_memory_mb": round(memory.peak_kb / 1024, 1),
        "peak_processes": memory.peak_processes,
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
    cold = "_cold" if args.cold_children else ""
    save(f"many_sources_{len(plan)}_w{args.workers}_delay_{settings.crawl_delay}{cold}", result)


if __name__ == "__main__":
    main()
