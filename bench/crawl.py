"""Crawl speed: a loopback fixture site of N schema.org pages crawled by the project (child
process, validation, normalisation, store, index) versus a bare Scrapy spider extracting the
same JSON-LD. Same concurrency for both; the medians of alternating rounds are compared.
Target: project <= 1.3x the bare spider's time.

    python -m bench.crawl --pages 1000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import DATA, save
from crawlers.demo import serve_directory

LIST_SIZE = 50


def build_site(root: Path, pages: int) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "fairs").mkdir(parents=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    countries = ["DE", "FR", "KE", "AE", "US", "BR", "IN", "CN"]
    for i in range(pages):
        start = date(2027, 1, 1) + timedelta(days=i % 365)
        event = {
            "@context": "https://schema.org",
            "@type": "ExhibitionEvent",
            "name": f"Synthetic Trade Fair {i}",
            "startDate": start.isoformat(),
            "endDate": (start + timedelta(days=2)).isoformat(),
            "description": "Exhibitors and buyers of food, textiles and packaging. " * 5,
            "keywords": "food, textiles, packaging",
            "location": {
                "@type": "Place",
                "name": f"Hall {i % 12}",
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": "City",
                    "addressCountry": countries[i % len(countries)],
                },
            },
        }
        (root / "fairs" / f"fair-{i}.html").write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>Fair {i}</title>"
            f"<script type='application/ld+json'>{json.dumps(event)}</script></head>"
            f"<body><h1>Fair {i}</h1><p>{'Filler text. ' * 80}</p>"
            "<a href='index-0.html'>calendar</a></body></html>"
        )
    lists = (pages + LIST_SIZE - 1) // LIST_SIZE
    for n in range(lists):
        links = "".join(
            f"<li><a href='fair-{i}.html'>Fair {i}</a></li>"
            for i in range(n * LIST_SIZE, min(pages, (n + 1) * LIST_SIZE))
        )
        nxt = f"<a rel='next' href='index-{n + 1}.html'>next</a>" if n + 1 < lists else ""
        (root / "fairs" / f"index-{n}.html").write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>List {n}</title></head>"
            f"<body><ul>{links}</ul>{nxt}</body></html>"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    # Both crawls share two cores with the Python fixture server, so single runs vary by 2x;
    # rounds alternate the two and the medians are compared.
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    root = DATA / "crawl-site"
    build_site(root, args.pages)
    env = {
        **os.environ,
        "TRADEPOINT_ALLOW_PRIVATE_HOSTS": "1",
        "TRADEPOINT_CRAWL_DELAY": "0",
        "TRADEPOINT_LOG_LEVEL": "WARNING",
        "TRADEPOINT_CRAWL_CONCURRENCY_PER_HOST": str(args.concurrency),
    }
    tp = [sys.executable, "-m", "search_api.cli"]
    bare_times: list[float] = []
    project_times: list[float] = []
    events = 0
    outcome = ""
    with serve_directory(root) as base:
        start = f"{base}/fairs/index-0.html"
        for n in range(args.rounds):
            t = time.perf_counter()
            bare = subprocess.run(
                [sys.executable, "-m", "bench.bare_spider", start, str(args.concurrency)],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).parent.parent,
            )
            bare_times.append(time.perf_counter() - t)
            events = json.loads(bare.stdout)["events"]
            # A fresh data directory each round: every record is new, the costliest case.
            data_dir = DATA / "crawl-data"
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            round_env = {**env, "TRADEPOINT_DATA_DIR": str(data_dir)}
            spec = data_dir / "source.json"
            spec.write_text(
                json.dumps(
                    {
                        "id": "bench_crawl",
                        "name": "bench",
                        "kind": "fair",
                        "format": "schema_org",
                        "start_urls": [start],
                        "follow": {"allow": ["/fairs/"], "max_pages": args.pages * 2},
                        "min_items": 1,
                    }
                )
            )
            subprocess.run(
                [*tp, "sources", "add", str(spec)], env=round_env, check=True, capture_output=True
            )
            t = time.perf_counter()
            outcome = subprocess.run(
                [*tp, "crawl", "bench_crawl"],
                env=round_env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            project_times.append(time.perf_counter() - t)
            print(f"round {n + 1}: bare {bare_times[-1]:.2f} s, project {project_times[-1]:.2f} s")
    bare_s = statistics.median(bare_times)
    project_s = statistics.median(project_times)
    save(
        "crawl",
        {
            "pages": args.pages,
            "concurrency_per_host": args.concurrency,
            "rounds": args.rounds,
            "bare_scrapy_s": round(bare_s, 2),
            "bare_scrapy_all_s": [round(x, 2) for x in bare_times],
            "bare_events": events,
            "project_s": round(project_s, 2),
            "project_all_s": [round(x, 2) for x in project_times],
            "project_outcome": outcome.strip().splitlines()[0],
            "ratio": round(project_s / bare_s, 3),
            "target_ratio": 1.3,
        },
    )


if __name__ == "__main__":
    main()
