"""Source formats: one module each, registered with search_api through the `tradepoint.formats`
entry point (pyproject.toml), which names `FORMATS` below.

A format module holds the format's source model (`SourceSpec` with `format: Literal[name]` and
its options), its `parse(response, spider)` — the glue from one fetched page to items and
further requests, calling the format's extractor in crawlers/extract/ — and `FORMAT`, its
registration. Format modules import no Scrapy at run time: the API validates sources with their
models without loading the crawler; `crawlers.spiders.base.SourceSpider` runs any format.
"""

from __future__ import annotations

import importlib
import pkgutil

from search_api.domain.sources import SourceFormat


def _discover() -> list[SourceFormat]:
    # Every module of this package is a format: adding one needs no list to edit.
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{info.name}").FORMAT)
    return found


FORMATS: list[SourceFormat] = _discover()
