"""One spider per source format. `SPIDERS` maps a source format to its spider class."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider
from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.html import HtmlSpider
from crawlers.spiders.ical import IcalSpider
from crawlers.spiders.pdf import PdfSpider
from crawlers.spiders.schema_org import SchemaOrgSpider
from crawlers.spiders.table import TableSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    "schema_org": SchemaOrgSpider,
    "ical": IcalSpider,
    "curated": CuratedSpider,
    "feed": FeedSpider,
    "html": HtmlSpider,
    "table": TableSpider,
    "pdf": PdfSpider,
}

__all__ = ["SPIDERS", "SourceSpider"]
