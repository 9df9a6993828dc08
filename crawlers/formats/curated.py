"""`curated`: records maintained by hand, a YAML file (`records:` list) or a CSV file.

A CSV file has one column per record field (nested ones dotted: provider.name, min_amount.value)
and list fields separated by `;` or `,`. Values are read strictly: what cannot be read stays as
written, so that the record fails validation naming the field, as a YAML record would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from crawlers.extract.fields import DATE_FIELDS, coerce_fields
from crawlers.extract.language import language_problem
from crawlers.extract.table import read_csv
from crawlers.normalise.dates import DateReading, parse_date, parse_instant, spelled_out
from search_api.domain.sources import SourceFormat, SourceSpec
from search_api.domain.yaml_input import YamlInputError, load_yaml

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawlers.spiders.base import SourceSpider

_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CuratedSource(SourceSpec):
    format: Literal["curated"] = "curated"


def parse(response: Response, spider: SourceSpider) -> Iterable[Any]:
    content_type = spider.content_type(response).lower()
    if urlsplit(response.url).path.lower().endswith(".csv") or "text/csv" in content_type:
        yield from _parse_csv(response, spider)
        return
    try:
        # A catalogue file can be large, but never deeper or more aliased than any other YAML.
        doc = load_yaml(response.body, max_bytes=len(response.body) + 1)
    except YamlInputError as exc:
        spider.collector.add_error(response.url, f"not valid YAML: {exc}")
        return
    records = doc.get("records") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        spider.collector.add_error(response.url, "expected a list of records under `records:`")
        return
    file_dates = {"as_of": doc.get("as_of")} if isinstance(doc, dict) else {}
    # once, not once a record
    for date_problem in _read_dates(file_dates, spider.dates, spider.spec.kind):
        spider.collector.add_error(response.url, f"the file's {date_problem}")
    file_as_of = file_dates.get("as_of")
    for n, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            spider.collector.failed += 1
            spider.collector.add_error(response.url, f"record #{n} is not a mapping")
            continue
        item = {k: v for k, v in rec.items() if k != "id"}
        if file_as_of and not item.get("as_of"):
            item["as_of"] = file_as_of
        slug = str(rec.get("id") or "").strip()
        if slug and not _SLUG.match(slug):
            spider.collector.failed += 1
            spider.collector.add_error(
                response.url,
                f"record #{n}: id {slug!r} may only contain letters, digits, '.', '_' and '-'",
            )
            continue
        for date_problem in _read_dates(item, spider.dates, spider.spec.kind):
            spider.collector.add_error(response.url, f"record #{n}: {date_problem}")
        item["_id"] = slug or None
        item["_key"] = slug or f"{rec.get('url')}|{rec.get('title')}"
        item["_page"] = response.url
        problem = language_problem(rec.get("language"))
        if problem:
            # The record model drops a tag it cannot read without a word; a person wrote
            # this one, so tell them.
            spider.collector.add_error(response.url, f"record #{n}: language: {problem}; left out")
        yield item


def _read_dates(item: dict[str, Any], reading: DateReading, kind: str) -> list[str]:
    """A YAML record's dates read as the source says it writes them, in place: a string in its
    `date_order` ("03/04/2027"), a time with an offset as its date in its `time_zone`. A date
    whose month is a word ("4 March 2027") reads the same in every order: it is read with or
    without one. Any other date is ISO 8601 (YAML's own) or fails the record, as before: a
    hand-kept file is not guessed at. What cannot be read stays as written, for validation to
    name."""
    problems: list[str] = []
    readable: dict[str, Any] = {}
    for name, value in item.items():
        if name not in DATE_FIELDS or not isinstance(value, str | dt.datetime):
            continue
        moment = parse_instant(value)
        if (
            (reading.order is not None and isinstance(value, str))
            or (reading.zone is not None and moment is not None)
            or spelled_out(value)
        ):
            readable[name] = value
        # Validation refuses the others (a time other than midnight, a date not in ISO 8601):
        # say what would make them readable.
        elif moment is not None and moment.time() != dt.time(0):
            problems.append(
                f"{name}: {value!s} is a time: set the source's time_zone to read its date"
            )
        elif isinstance(value, str) and parse_date(value) and not _ISO_DATE.match(value):
            problems.append(
                f"{name}: {value!r} is not written YYYY-MM-DD: set the source's "
                "date_order (DMY, MDY or YMD) to read it"
            )
    if readable:
        coerced = coerce_fields(readable, kind, strict=True, reading=reading)
        item.update((name, coerced.values.get(name, value)) for name, value in readable.items())
        problems += coerced.problems
    return problems


def _parse_csv(response: Response, spider: SourceSpider) -> Iterable[Any]:
    table = read_csv(response.body)
    for message in table.errors:
        spider.collector.add_error(response.url, message)
    for number, row in table.rows:
        slug = str(row.get("id") or "").strip()
        if slug and not _SLUG.match(slug):
            spider.collector.failed += 1
            spider.collector.add_error(
                response.url,
                f"row {number}: id {slug!r} may only contain letters, digits, '.', '_' and '-'",
            )
            continue
        fields = {k.strip(): v for k, v in row.items() if k.strip() != "id"}
        spec = spider.spec
        coerced = coerce_fields(
            fields,
            spec.kind,
            base_url=response.url,
            strict=True,
            reading=spider.dates,
        )
        # Strict coercion keeps a bad value for validation to reject; what it reports
        # instead (a language tag) would otherwise go unsaid.
        for problem in coerced.problems:
            spider.collector.add_error(response.url, f"row {number}: {problem}")
        item: dict[str, Any] = dict(coerced.values)
        item["_id"] = slug or None
        item["_key"] = slug or f"{item.get('url')}|{item.get('title')}"
        item["_page"] = response.url
        item["unmapped"] = coerced.unmapped
        yield item


FORMAT = SourceFormat(
    name="curated",
    source=CuratedSource,
    parse=parse,
    reads="A YAML file with a `records:` list (and an optional file-wide `as_of`), or a CSV "
    "file with one column per field (nested ones dotted: `provider.name`, `min_amount.value`; "
    "list cells separated by `;` or `,`). Each record's `id` is a stable slug. `start_urls` may "
    "be `file://` paths for sources added from the command line.",
)
