"""Pure normalisation helpers shared by the crawlers: dates, countries, sectors, text, URLs and
the values of table cells (no Scrapy; the vocabularies are search_api's domain)."""

from crawlers.normalise.countries import country_name, split_location, to_country
from crawlers.normalise.dates import parse_date
from crawlers.normalise.sectors import SECTORS, map_sectors
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise

__all__ = [
    "SECTORS",
    "canonicalise",
    "clean_text",
    "country_name",
    "map_sectors",
    "parse_date",
    "split_location",
    "to_country",
]
