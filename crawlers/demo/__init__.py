"""`tradepoint demo`: a populated service from bundled data, with no network.

A small fictional fair-calendar site ships in `site/`; it is served on loopback and crawled by the
real crawler, like any source. The real starter records in `crawlers/data/*.yml` are loaded
through the same pipeline as a curated source.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawlers.sources import builtin_sources
from search_api.cli.common import index_or_say
from search_api.domain.sources import SourceSpec, missing_secrets, parse_source
from search_api.services.crawls import run_crawl
from search_api.settings import Settings
from search_api.store import Store

SITE_DIR = Path(__file__).parent / "site"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve `root` on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_sources(base_url: str) -> list[SourceSpec]:
    # The fictional site lives on a loopback port that changes every run, so its sources are
    # disabled for the scheduler; the demo crawls them explicitly. It names its own stable
    # address, https://fairs.demo.tradepoint.invalid/ (a name reserved never to resolve, RFC
    # 6761): its pages by <link rel=canonical>, its calendar by SOURCE (RFC 7986), as a real
    # site served through a mirror would. Records keep those URLs (ids, `url`, `source_url`),
    # so a re-run changes nothing and no record points at a port that is gone.
    specs = [
        parse_source(
            dict(
                id="demo_fairs_schema_org",
                name="Demo fair calendar (fictional fairs)",
                kind="fair",
                format="schema_org",
                start_urls=[f"{base_url}/fairs/index.html"],
                follow={"allow": ["/fairs/"], "max_pages": 50},
                min_items=3,
                owner="tradepoint",
                enabled=False,
            )
        ),
        parse_source(
            dict(
                id="demo_fairs_ical",
                name="Demo fair feed (iCalendar, fictional fairs)",
                kind="fair",
                format="ical",
                start_urls=[f"{base_url}/fairs.ics"],
                min_items=2,
                owner="tradepoint",
                enabled=False,
            )
        ),
    ]
    return specs + catalogue_sources()


# The catalogue's sources by file, named in the site's other languages as well (`names`).
CATALOGUE_NAMES: dict[str, dict[str, str]] = {
    "fairs": {
        "fr": "Catalogue de départ de Tradepoint : salons",
        "es": "Catálogo inicial de Tradepoint: ferias",
    },
    "finance": {
        "fr": "Catalogue de départ de Tradepoint : financement",
        "es": "Catálogo inicial de Tradepoint: financiación",
    },
    "requirements": {
        "fr": "Catalogue de départ de Tradepoint : exigences",
        "es": "Catálogo inicial de Tradepoint: requisitos",
    },
}


def catalogue_sources() -> list[SourceSpec]:
    """The starter catalogue shipped in crawlers/data, one curated source per file."""
    return [
        parse_source(
            dict(
                id=f"starter_{path.stem}",
                name=f"Tradepoint starter catalogue: {path.stem}",
                names=CATALOGUE_NAMES.get(path.stem),
                kind=_kind_of(path),
                format="curated",
                start_urls=[path.resolve().as_uri()],
                min_items=1,
                owner="tradepoint",
            )
        )
        for path in sorted(DATA_DIR.glob("*.yml"))
    ]


def register_builtin_sources(store: Store) -> list[SourceSpec]:
    """Add or update the built-in real sources (crawlers/sources/*.yml). An operator's choice
    to disable one is kept: only the source's definition is updated."""
    registered = []
    existing = {s.id: s for s in store.list_sources()}
    for spec in builtin_sources():
        old = existing.get(spec.id)
        if old is not None and not old.enabled:
            spec = spec.model_copy(update={"enabled": False})
        store.add_source(spec, replace=True)
        registered.append(spec)
    return registered


def load_catalogue(settings: Settings) -> bool:
    """Register the built-in real sources (crawled later, by the scheduler or `tradepoint
    crawl`), then load the starter catalogue (no network: local files). True if all loaded."""
    store = Store(settings.sqlalchemy_url)
    store.migrate()  # a demo or catalogue may be the first command on a data dir
    builtin = register_builtin_sources(store)
    kinds = sorted({s.kind for s in builtin})
    print(f"catalogue: registered {len(builtin)} built-in sources ({', '.join(kinds)})")
    for spec in builtin:
        missing = missing_secrets(spec)
        if missing:
            print(f"  {spec.id}: needs {', '.join(missing)}; not scheduled until it is set")
    ok = True
    for spec in catalogue_sources():
        store.add_source(spec, replace=True)
        outcome = run_crawl(settings, spec.id, store)
        print(f"catalogue: {spec.id}: {outcome.status}: {outcome.message}")
        ok = ok and outcome.ok
    index_or_say(settings, store)
    return ok


def _kind_of(path: Path) -> str:
    return {"fairs": "fair", "requirements": "requirement", "finance": "finance"}.get(
        path.stem, "fair"
    )


def populate(settings: Settings) -> None:
    store = Store(settings.sqlalchemy_url)
    store.migrate()  # a demo or catalogue may be the first command on a data dir
    env = {"TRADEPOINT_ALLOW_PRIVATE_HOSTS": "1", "TRADEPOINT_CRAWL_DELAY": "0"}
    with serve_directory(SITE_DIR) as base_url:
        for spec in demo_sources(base_url):
            store.add_source(spec, replace=True)
            outcome = run_crawl(settings, spec.id, store, env=env)
            print(f"demo: {spec.id}: {outcome.status}: {outcome.message}")
    index_or_say(settings, store)
