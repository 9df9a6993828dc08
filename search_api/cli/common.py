"""What every `tradepoint` command shares, the commands that crawlers/ and schedules/ register
included: user errors, opening the data dir's store, reporting on the index."""

from __future__ import annotations

import argparse
import errno
import socket

from search_api.search.indexer import index_pending
from search_api.settings import Settings
from search_api.store import Store

DATA_DIR_NOTE = (
    " The data dir is TRADEPOINT_DATA_DIR (default ./var: the SQLite database and the search"
    " index); TRADEPOINT_DATABASE_URL and TRADEPOINT_ELASTICSEARCH_URL put them elsewhere."
)


def add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")


def open_store(settings: Settings) -> Store:
    """The data dir's store, its schema brought to the latest revision first: every command
    that reads or writes the store may be the first one run on a new data dir."""
    store = Store(settings.sqlalchemy_url)
    store.migrate()
    return store


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port (in use, not allowed), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}: {exc.strerror or exc}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT is not reported busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def index_or_say(settings: Settings, store: Store) -> None:
    """Index what a command changed, or say why it waits for `serve`."""
    problem = index_pending(settings, store)
    if problem:
        print(
            f"note: search index not updated now ({problem}); "
            "a running `tradepoint serve` applies the changes"
        )
