"""The `table` format: CSV (sniffed delimiter, BOM, Latin-1), JSON (array or path), XLSX."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from crawlers.extract.fields import coerce_fields
from crawlers.extract.table import decode_text, detect_format, map_columns, read_csv, read_json
from crawlers.normalise.values import parse_amount, parse_hs
from crawlers.normalise.vocab_map import map_choice
from search_api.domain.sources import format_validation_error
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.formats import (
    FINANCE_COLUMNS,
    crawl,
    errors_of,
    make_spec,
    records_of,
    search_ids,
)
from tests.helpers.sites import SiteServer, serve_copy

FAIR_COLUMNS = {
    "name": "title",
    "when.start": "start_date",
    "when.end": "end_date",
    "where.city": "city",
    "where.country": "country",
    "topics": "sectors",
    "link": "url",
    "internal_ref": None,
}


def write_xlsx(path: Path) -> None:
    """A workbook whose records are on its second sheet, with real date and number cells."""
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = "Read me"
    readme.append(["This workbook lists requirements (fixture, fictional)."])
    sheet = book.create_sheet("Requirements")
    sheet.append(["Reference", "Title", "Market", "Type", "HS", "In force from", "Comments"])
    sheet.append([])  # blank rows are skipped
    sheet.append(
        ["R-1", "Cocoa beans: cadmium limits", "EU", "SPS", 1801, dt.datetime(2026, 1, 1), "x"]
    )
    sheet.append(["R-2", "Shea butter labelling", "Nigeria", "Labeling", "1515.90", None, None])
    sheet.append(["R-3", "Cashew grading", "Atlantis", "Grading", "0801", "soon", None])
    book.save(path)


@pytest.fixture
def table_site(tmp_path: Path) -> Iterator[SiteServer]:
    with serve_copy("table", tmp_path) as site:
        write_xlsx(site.root / "requirements.xlsx")
        # a spreadsheet cut short in transfer: a zip header and nothing sound after it
        (site.root / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
        yield site


# --------------------------------------------------------------------------- reading


def test_decoding_and_format_detection() -> None:
    assert decode_text("café".encode()) == "café"
    assert decode_text(b"\xef\xbb\xbfcaf\xc3\xa9") == "café"
    assert decode_text("café".encode("latin-1")) == "café"
    assert detect_format(b"a,b", "http://x/data.xlsx") == "xlsx"
    assert detect_format(b'[{"a": 1}]', "http://x/data", "application/json") == "json"
    assert detect_format(b"PK\x03\x04...", "http://x/download?id=3") == "xlsx"
    assert detect_format(b'  {"data": []}', "http://x/api") == "json"
    assert detect_format(b"a;b\n1;2", "http://x/api") == "csv"


def test_csv_delimiters_are_sniffed() -> None:
    for delimiter in (",", ";", "\t", "|"):
        body = f"title{delimiter}markets\nA{delimiter}KE\n".encode()
        table = read_csv(body)
        assert table.rows == [(2, {"title": "A", "markets": "KE"})], delimiter


def test_json_arrays_paths_and_errors() -> None:
    assert read_json(b'[{"title": "A", "provider": {"name": "B"}}]').rows == [
        (1, {"title": "A", "provider.name": "B"})
    ]
    assert read_json(b'{"results": [{"title": "A"}], "count": 1}').rows == [(1, {"title": "A"})]
    assert read_json(b'{"a": {"b": [{"title": "A"}]}}', "a.b").rows == [(1, {"title": "A"})]
    assert read_json(b'{"a": {}}', "a.b").errors == ["path 'a.b': no 'b' in the document"]
    assert "set table.path" in read_json(b'{"x": [], "y": []}').errors[0]
    assert read_json(b"[1, 2]").errors == ["item #1 is not an object", "item #2 is not an object"]


def test_columns_map_explicitly_by_name_or_not_at_all() -> None:
    row = {"Programme": "A", "HS codes": "09", "Provider.Name": "B", "Colour": "red", "x": 1}
    values, unmapped = map_columns(row, "finance", {"Programme": "title", "x": None})
    assert values == {"title": "A", "hs_codes": "09", "provider.name": "B"}
    assert unmapped == ["Colour"]


def test_table_options_are_validated_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        make_spec(
            id="xx_bad_table",
            kind="fair",
            format="table",
            start_urls=["https://example.org/fairs.csv"],
            table={"columns": {"Programme": "instruments"}},
        )
    assert format_validation_error(err.value) == (
        "table: column 'Programme' maps to 'instruments', which is not a field of fair records"
    )
    with pytest.raises(ValidationError) as err:
        make_spec(
            id="xx_bad_table",
            kind="fair",
            format="html",
            start_urls=["https://example.org/"],
            selectors={"item": "tr", "fields": {"title": "td"}},
            table={"sheet": "One"},
        )
    assert "table options apply to format 'table', not 'html'" in format_validation_error(err.value)


@pytest.mark.parametrize(
    ("vocabulary", "text", "want"),
    [
        ("requirement_type", "labelling", "labelling"),
        ("requirement_type", "Labeling", "labelling"),
        ("requirement_type", "Étiquetage", "labelling"),
        ("requirement_type", "Certificate of origin", "rules_of_origin"),
        ("requirement_type", "Sanitary and phytosanitary measures", "sps"),
        ("requirement_type", "Colour", None),
        ("instruments", "Credit insurance", "credit_insurance"),
        ("instruments", "Assurance-crédit", "credit_insurance"),
        ("instruments", "Working capital guarantee", "working_capital_guarantee"),
        ("instruments", "Loan guarantee", "credit_guarantee"),
        ("instruments", "Pre-shipment finance", "pre_shipment_loan"),
        ("instruments", "Co-financing", "co_financing"),
        ("instruments", "We offer many kinds of support, including a guarantee for some", None),
        ("provider.type", "Export-Import Bank", "exim_bank"),
        ("provider.type", "ECA", "eca"),
        ("requirement.status", "En vigueur", "in_force"),
        ("access_channel", "Through partner banks", "partner_bank"),
    ],
)
def test_free_text_maps_to_the_vocabularies(vocabulary: str, text: str, want: str | None) -> None:
    assert map_choice(vocabulary, text) == want


def test_cell_values() -> None:
    assert parse_hs("HS 19, 20") == (["19", "20"], [])
    assert parse_hs("0901.11.00; chapters 01-03") == (["090111", "01", "02", "03"], [])
    assert parse_hs("coffee") == ([], ["coffee"])
    assert parse_amount("USD 1.5 million") == {"value": 1_500_000, "currency": "USD"}
    assert parse_amount("50 000 €") == {"value": 50_000, "currency": "EUR"}
    assert parse_amount("5000") is None  # an amount needs a currency
    coerced = coerce_fields(
        {"eligible_exporter_countries": "Kenya, Uganda and Tanzania", "sectors": "Food, Widgets"},
        "finance",
    )
    assert coerced.values == {
        "eligible_exporter_countries": ["KE", "UG", "TZ"],
        "sectors": ["food"],
    }
    assert coerced.unmapped == ["sectors: Widgets"]
    assert coerce_fields({"markets": "Trinidad and Tobago"}, "fair").values == {"markets": ["TT"]}


# --------------------------------------------------------------------------- crawls


@pytest.mark.crawl
def test_csv_with_bom_semicolons_and_a_column_mapping(
    settings: Settings, store: Store, backend: SearchBackend, table_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_table_finance",
        kind="finance",
        format="table",
        start_urls=[table_site.url("/finance.csv")],
        table={"columns": FINANCE_COLUMNS},
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert "unmapped: column: Notes" in (outcome.message or "")
    got = records_of(store, spec.id)
    ghana = got["Ghana Export Credit Cover"]
    assert ghana.kind == "finance"
    assert ghana.provider is not None
    assert (ghana.provider.name, ghana.provider.type) == ("Fixture Export Credit Agency", "eca")
    assert ghana.instruments == ["credit_insurance"] and ghana.eligible_exporter_countries == ["GH"]
    assert ghana.max_amount is not None
    assert (ghana.max_amount.value, ghana.max_amount.currency) == (2_000_000, "GHS")
    assert ghana.url == table_site.url("/programmes/ghana-cover.html")
    women = got["Working Capital for Women Exporters"]
    assert women.instruments == ["working_capital_guarantee", "pre_shipment_loan"]
    assert women.eligible_exporter_countries == ["NG", "SN"]
    assert women.provider is not None and women.provider.type == "guarantee_fund"
    assert errors_of(store, outcome) == []
    assert search_ids(store, backend, q="women exporters") == {women.id}


@pytest.mark.crawl
def test_latin1_csv_with_a_bad_date_and_an_unknown_country_keeps_the_rest(
    settings: Settings, store: Store, backend: SearchBackend, table_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_table_latin1",
        kind="requirement",
        format="table",
        start_urls=[table_site.url("/requirements-latin1.csv")],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    got = records_of(store, spec.id)
    assert set(got) == {"Étiquetage du café torréfié", "Emballage des fruits"}
    coffee = got["Étiquetage du café torréfié"]
    assert (coffee.markets, coffee.requirement_type, coffee.hs_codes) == (
        ["CI"],
        "labelling",
        ["0901"],
    )
    assert coffee.effective_date == dt.date(2026, 7, 1)
    assert coffee.authority == "Ministère du Commerce"
    fruit = got["Emballage des fruits"]
    # the bad cells are left out and reported; the good ones of the same row are kept
    assert (fruit.markets, fruit.requirement_type, fruit.hs_codes) == (["SN"], "packaging", ["08"])
    assert fruit.effective_date is None
    url = table_site.url("/requirements-latin1.csv")
    assert errors_of(store, outcome) == [
        {"url": url, "message": "row 3: markets: unknown country or market 'Narnia'"},
        {"url": url, "message": "row 3: effective_date: cannot read '31/02/2026' as a date"},
        {"url": url, "message": "row 4: no title; skipped"},
    ]
    assert store.get_run(outcome.run_id).items_failed == 1
    assert search_ids(store, backend, q="torréfié") == {coffee.id}


@pytest.mark.crawl
def test_json_at_a_path_with_nested_columns(
    settings: Settings, store: Store, backend: SearchBackend, table_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_table_fairs",
        kind="fair",
        format="table",
        start_urls=[table_site.url("/fairs.json")],
        table={"path": "data.items", "columns": FAIR_COLUMNS},
        min_items=2,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    # ignored on purpose (null) is not unmapped; a column named like a field maps by itself
    assert "unmapped" not in (outcome.message or "")
    got = records_of(store, spec.id)
    nairobi = got["Nairobi Food & Packaging Week 2027"]
    assert (nairobi.start_date, nairobi.end_date) == (dt.date(2027, 5, 11), dt.date(2027, 5, 13))
    assert (nairobi.city, nairobi.country, nairobi.markets) == ("Nairobi", "KE", ["KE"])
    assert nairobi.sectors == ["food", "packaging"]
    assert nairobi.organiser == "Fixture Expo Ltd"
    assert nairobi.url == table_site.url("/fairs/nairobi-food-week.html")
    dakar = got["Dakar Crafts Fair 2027"]
    assert (dakar.start_date, dakar.country) == (dt.date(2027, 10, 12), "SN")
    assert dakar.sectors == ["handicrafts", "home_decor"]
    assert search_ids(store, backend, markets=("SN",)) == {dakar.id}


@pytest.mark.crawl
def test_xlsx_named_sheet_with_date_cells(
    settings: Settings, store: Store, backend: SearchBackend, table_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_table_xlsx",
        kind="requirement",
        format="table",
        start_urls=[table_site.url("/requirements.xlsx")],
        table={
            "sheet": "Requirements",
            "columns": {
                "Reference": "id",
                "Market": "markets",
                "Type": "requirement_type",
                "HS": "hs_codes",
                "In force from": "effective_date",
            },
        },
        min_items=3,
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message
    assert "unmapped: column: Comments" in (outcome.message or "")
    got = records_of(store, spec.id)
    cocoa = got["Cocoa beans: cadmium limits"]
    assert (cocoa.markets, cocoa.requirement_type, cocoa.hs_codes) == (["EU"], "sps", ["1801"])
    assert cocoa.effective_date == dt.date(2026, 1, 1)
    shea = got["Shea butter labelling"]
    assert (shea.markets, shea.requirement_type, shea.hs_codes) == (["NG"], "labelling", ["151590"])
    cashew = got["Cashew grading"]
    assert cashew.markets == [] and cashew.requirement_type is None
    url = table_site.url("/requirements.xlsx")
    assert errors_of(store, outcome) == [
        {"url": url, "message": "row 5: markets: unknown country or market 'Atlantis'"},
        {"url": url, "message": "row 5: requirement_type: cannot map 'Grading' to a known value"},
        {"url": url, "message": "row 5: effective_date: cannot read 'soon' as a date"},
    ]
    assert search_ids(store, backend, hs="180100") == {cocoa.id}
    # the Reference column is the natural key: a retitled row updates its record
    before = cocoa.id
    again = crawl(settings, store, spec)
    assert store.get_run(again.run_id).items_unchanged == 3
    assert store.get_record(before) is not None


@pytest.mark.crawl
def test_corrupt_xlsx_and_broken_json_are_errors_not_crashes(
    settings: Settings, store: Store, table_site: SiteServer
) -> None:
    spec = make_spec(
        id="xx_table_broken",
        kind="requirement",
        format="table",
        start_urls=[
            table_site.url("/corrupt.xlsx"),
            table_site.url("/broken.json"),
            table_site.url("/requirements-latin1.csv"),
        ],
    )
    outcome = crawl(settings, store, spec)
    assert outcome.ok, outcome.message  # the sound file still counts
    assert store.count_records(spec.id) == 2
    messages = {e["url"]: e["message"] for e in errors_of(store, outcome)}
    assert messages[table_site.url("/corrupt.xlsx")].startswith("not a readable XLSX file")
    assert messages[table_site.url("/broken.json")].startswith("not valid JSON")
    sheet_missing = make_spec(
        id="xx_table_nosheet",
        kind="requirement",
        format="table",
        start_urls=[table_site.url("/requirements.xlsx")],
        table={"sheet": "Programmes"},
    )
    failed = crawl(settings, store, sheet_missing)
    assert failed.status == "failed"
    assert errors_of(store, failed) == [
        {
            "url": table_site.url("/requirements.xlsx"),
            "message": "no sheet named 'Programmes' (sheets: Read me, Requirements)",
        }
    ]
