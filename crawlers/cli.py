"""`tradepoint crawl` and `tradepoint demo`, registered into the CLI via an entry point."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from crawlers.demo import load_catalogue, populate
from search_api.cli.common import (
    DATA_DIR_NOTE,
    add_server_options,
    index_or_say,
    open_store,
    port_problem,
)
from search_api.errors import CliError
from search_api.services.crawls import run_crawl
from search_api.settings import Settings

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("crawl", help="crawl sources now (each run in its own process)")
    p.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    p.add_argument("--all", action="store_true", help="crawl every enabled source")
    p.set_defaults(handler=cmd_crawl)

    p = sub.add_parser(
        "catalogue",
        help="load the starter catalogue (fairs, finance, requirements) shipped with it",
    )
    p.set_defaults(handler=cmd_catalogue)

    p = sub.add_parser(
        "demo",
        help="populate a local data dir from bundled data and serve it",
        description="Crawl the bundled fictional fair site, load the starter catalogue, index "
        "everything and serve it (no network needed)." + DATA_DIR_NOTE,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_options(p)
    p.add_argument("--no-serve", action="store_true", help="populate only, do not serve")
    p.set_defaults(handler=cmd_demo)


def cmd_crawl(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    if args.all:
        ids = [s.id for s in store.list_sources() if s.enabled]
    elif args.source_ids:
        ids = args.source_ids
    else:
        raise CliError("crawl: name one or more SOURCE_IDs, or --all")
    failed = 0
    for source_id in ids:
        outcome = run_crawl(settings, source_id, store)
        print(f"{source_id}: run {outcome.run_id} {outcome.status}: {outcome.message or ''}")
        run = store.get_run(outcome.run_id)
        for err in (run.errors or [])[:10]:
            print(f"  error {err['url']}: {err['message']}")
        if len(run.errors or []) > 10:
            print(f"  … {len(run.errors) - 10} more errors (tradepoint sources show {source_id})")
        failed += not outcome.ok
    index_or_say(settings, store)
    return 1 if failed else 0


def cmd_catalogue(args: argparse.Namespace, settings: Settings) -> int:
    return 0 if load_catalogue(settings) else 1


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if not args.no_serve:
        # Said before a minute of crawling, not after it.
        problem = port_problem(args.host, args.port)
        if problem:
            raise CliError(f"demo: {problem}; choose another with --port (e.g. --port 8080)")
    populate(settings)
    if args.no_serve:
        return 0
    # Imported when used: the web app's imports would slow every other command.
    from search_api.cli.serve import serve

    print(f"Tradepoint demo: http://{args.host}:{args.port}/  (API docs at /docs)")
    return serve(args, settings)
