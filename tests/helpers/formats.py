"""Crawling one source of each format: specs, documents and reading what a crawl wrote
(tests/test_formats_*.py, tests/test_sources_every_format.py, tests/test_extract_language.py)."""

from __future__ import annotations

from typing import Any

from search_api.domain.records import AnyRecord
from search_api.domain.sources import SourceSpec, parse_source
from search_api.search.base import SearchBackend, SearchQuery
from search_api.search.indexer import drain_outbox
from search_api.services.crawls import CrawlOutcome, run_crawl
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.sites import SiteServer


def make_spec(**kw: Any) -> SourceSpec:
    data: dict[str, Any] = {"name": "Fixture source", "min_items": 1}
    data.update(kw)
    return parse_source(data)


def crawl(settings: Settings, store: Store, spec: SourceSpec) -> CrawlOutcome:
    store.add_source(spec, replace=True)
    return run_crawl(settings, spec.id, store)


def records_of(store: Store, source_id: str) -> dict[str, AnyRecord]:
    """Records of one source by title."""
    return {r.title: r for r in store.iter_records() if r.source_id == source_id}


def errors_of(store: Store, outcome: CrawlOutcome) -> list[dict[str, str]]:
    return list(store.get_run(outcome.run_id).errors)


def search_ids(store: Store, backend: SearchBackend, **query: Any) -> set[str]:
    """Index what the crawl wrote (as `serve` does), then search the index."""
    drain_outbox(store, backend)
    result = backend.search(SearchQuery(size=100, **query))
    return {item["id"] for item in result.items}


# --------------------------------------------------------------------------- html

FINANCE_FIELDS = {
    "title": "td.name a",
    "url": "td.name a::attr(href)",
    "provider.name": "td.provider::text",
    "instruments": "td.instruments::text",
    "eligible_exporter_countries": "td.countries::text",
    "sectors": "td.sectors::text",
}
DETAIL_FIELDS = {
    "summary": "p.summary",
    "provider.type": "dd.provider-type::text",
    "max_amount": "dd.max::text",
    "tenor_max_days": "dd.tenor::text",
    "coverage_pct_max": "dd.cover::text",
    "sme_focus": "dd.sme::text",
    "application_url": "dd.apply a::attr(href)",
    "footnote": "p.footnote::text",
}
# XPath on purpose: absolute-looking paths are read inside each item.
NOTICE_FIELDS = {
    "title": "//h2",
    "markets": "//span[@class='markets']/text()",
    "requirement_type": "//span[@class='type']/text()",
    "status": "//span[@class='status']/text()",
    "hs_codes": "(//span[@class='hs'])[1]/text()",
    "effective_date": ".//span[@class='effective']/text()",
    "url": "//a[@class='more']/@href",
}


def finance_spec(site: SiteServer, **kw: object) -> SourceSpec:
    data: dict[str, object] = {
        "id": "xx_html_finance",
        "kind": "finance",
        "format": "html",
        "start_urls": [site.url("/finance/index.html")],
        "selectors": {
            "item": "tr.programme",
            "fields": FINANCE_FIELDS,
            "next": "a[rel=next]::attr(href)",
            "detail": DETAIL_FIELDS,
        },
        "min_items": 3,
    }
    data.update(kw)
    return make_spec(**data)


# --------------------------------------------------------------------------- pdf


def _pdf_string(text: str) -> bytes:
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):  # WinAnsiEncoding, as declared for the font
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += f"\\{byte:03o}".encode()
        else:
            out.append(byte)
    return bytes(out + b")")


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one text line per string, `title` in the document information."""
    page_ids = [5 + 2 * i for i in range(len(pages))]
    kids = " ".join(f"{i} 0 R" for i in page_ids).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(len(pages)).encode() + b" >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Producer (tradepoint tests)"
        + (b" /Title " + _pdf_string(title) if title else b"")
        + b" >>",
    ]
    for page_id, lines in zip(page_ids, pages, strict=True):
        shown = b" T* ".join(_pdf_string(line) + b" Tj" for line in lines)
        stream = b"BT /F1 11 Tf 14 TL 72 740 Td " + shown + b" ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents "
            + str(page_id + 1).encode()
            + b" 0 R >>"
        )
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


COFFEE = make_pdf(
    [
        [
            "Regulation 2026/17 on the labelling of roasted coffee",
            "Published: 12 March 2026",
            "Roasted coffee (HS 0901.21 and 0901.22) must show the country of roasting.",
            "Comments may be sent until 30 April 2026.",
        ],
        ["This regulation shall apply from 1 January 2027.", "Étiquetage en français aussi."],
    ],
    title="Coffee labelling regulation",
)
DRAFT = make_pdf(
    [["Avis aux exportateurs : emballage des fruits", "Entrée en vigueur : 1er mars 2027"]],
    title="Microsoft Word - avis_emballage_v3.docx",
)


# --------------------------------------------------------------------------- table

FINANCE_COLUMNS = {
    "Programme": "title",
    "Provider": "provider.name",
    "Provider type": "provider.type",
    "Instruments": "instruments",
    "Exporters from": "eligible_exporter_countries",
    "Max amount": "max_amount",
    "Link": "url",
}
