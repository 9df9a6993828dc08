"""What every `tradepoint` command shares, the commands that crawlers/ and schedules/ register
included: user errors, opening the data dir's store, reporting on the index."""

from __future__ import annotations

from search_api.search.indexer import index_pending
from search_api.settings import Settings
from search_api.store import Store


def open_store(settings: Settings) -> Store:
    """The data dir's store, its schema brought to the latest revision first: every command
    that reads or writes the store may be the first one run on a new data dir."""
    store = Store(settings.sqlalchemy_url)
    store.migrate()
    return store


def index_or_say(settings: Settings, store: Store) -> None:
    """Index what a command changed, or say why it waits for `serve`."""
    problem = index_pending(settings, store)
    if problem:
        print(
            f"note: search index not updated now ({problem}); "
            "a running `tradepoint serve` applies the changes"
        )
