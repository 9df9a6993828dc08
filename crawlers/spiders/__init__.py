"""One spider per source format. `SPIDERS` maps a source format to its spider class."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider
from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.ical import IcalSpider
from crawlers.spiders.schema_org import SchemaOrgSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    "schema_org": SchemaOrgSpider,
    "ical": IcalSpider,
    "curated": CuratedSpider,
}

__all__ = ["SPIDERS", "SourceSpider"]
