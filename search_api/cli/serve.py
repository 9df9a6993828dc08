"""`tradepoint serve`: the HTTP API and the web pages (also what `tradepoint demo` serves)."""

from __future__ import annotations

import argparse

import uvicorn

from search_api.app import create_app
from search_api.cli.common import open_store
from search_api.settings import Settings


def serve(args: argparse.Namespace, settings: Settings) -> int:
    app = create_app(settings, store=open_store(settings))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )
    return 0
