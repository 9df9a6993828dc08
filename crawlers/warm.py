"""Everything a crawl process imports, imported once by the server that forks crawl children.

`search_api.services.crawls.run_crawl` forks each run from multiprocessing's fork server,
which imports this module when it starts: a run then begins with Python, Scrapy, the crawler
and the format registry loaded, instead of paying 1-3 s to load them again.

Importing this module must do nothing else: no reactor installed (each run installs the one
Scrapy's settings ask for), no thread started, no file or connection opened, since every
child inherits the fork server's state.
"""

from __future__ import annotations

import logging
import re
import sqlite3  # noqa: F401 (the store's driver, imported when a run opens the store)
import sys

import scrapy.core.engine
import scrapy.crawler  # noqa: F401

import crawlers.collector
import crawlers.pipelines
import crawlers.runner
import crawlers.settings
import crawlers.spiders.base
from search_api.domain.sources import source_formats
from search_api.settings import Settings

log = logging.getLogger(__name__)

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def import_crawl_components() -> int:
    """Import every class a crawl's Scrapy settings name by path (middlewares, extensions,
    download handlers, queues, the fingerprinter...): Scrapy imports them by name when a crawl
    starts, ~0.2 s a run. Nothing is instantiated. Returns how many were imported.

    Best effort: the fork server dies on an error other than ImportError while it preloads,
    and then no crawl could start, so a component that fails to import here is left for the
    run itself to report."""
    from scrapy.settings import BaseSettings
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.misc import load_object

    try:
        conf = ScrapySettings(crawlers.settings.scrapy_settings(Settings()))
    except Exception:
        log.debug("crawl components not preloaded", exc_info=True)
        return 0
    paths: set[str] = set()
    for name in conf:
        value = conf[name]
        # Components are a dict's keys (middlewares: order) or values (handlers: scheme).
        names = (
            [*value.keys(), *value.values()] if isinstance(value, BaseSettings | dict) else [value]
        )
        # Only paths into packages already loaded (scrapy, crawlers): a dotted value that is
        # no component ("example.org") must not import a module of that name.
        paths.update(
            p
            for p in names
            if isinstance(p, str) and _DOTTED.fullmatch(p) and p.split(".")[0] in sys.modules
        )
    loaded = 0
    for path in sorted(paths):
        try:
            load_object(path)
            loaded += 1
        except Exception:  # not an object path after all, or an optional dependency missing
            continue
    return loaded


source_formats()  # the formats' entry points, read once (cached)
import_crawl_components()
