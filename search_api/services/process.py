"""What a server process does once before it serves: build the tables every page reads, then
put the heap it will keep for its whole life out of the garbage collector's reach.

CPython's cyclic collector visits every object it tracks in each full collection, holding the
GIL: measured in an API worker at 1M records, ~0.8 µs an object, so the 150,000-260,000
objects of the modules, the HS nomenclature, the glossary's word tables and the languages
made each full collection a 100-230 ms pause of every request that worker was serving (and a
worker holding a few thousand kept search results paused 300-500 ms). Those objects live as
long as the process, so `gc.freeze()` moves them to the permanent generation, as the Python
documentation advises for servers; objects frozen and later dropped are still freed by their
reference counts.
"""

from __future__ import annotations

import gc
import logging
import threading

from search_api.domain import glossary, hs_sectors, languages, markets, products
from search_api.domain.i18n import LANGUAGES, translations
from search_api.search.request import SearchRequest

log = logging.getLogger(__name__)

_lock = threading.Lock()
_frozen = False


def warm_tables() -> None:
    """Build the domain's lazily loaded tables now rather than in the first requests."""
    glossary.concepts_in(["coffee labelling", "étiquetage du café", "etiquetado de café"], None)
    SearchRequest.from_query({"q": ["emballage café"], "hs": ["0901"]}).to_query()
    products.suggest("coffee", 3)
    hs_sectors.product_sectors("0901")
    languages.language_code("français")
    markets.resolve_market("Allemagne")
    markets.blocs_of("DE")
    for lang in LANGUAGES:
        translations(lang)
        markets.market_name("DE", lang)


def freeze_heap() -> bool:
    """Once per process: warm the tables, collect, and freeze what is left. Returns whether
    this call froze it (a test process makes many apps; only the first one freezes, so the
    objects of later apps stay collectable)."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        _frozen = True
    try:
        warm_tables()
    except Exception as exc:  # a broken table shows in the request that needs it
        log.warning("could not build the domain tables at start: %s", exc)
    gc.collect()
    gc.freeze()
    log.debug("froze %d objects out of the garbage collector's reach", gc.get_freeze_count())
    return True
