from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from search_api.domain.records import RECORD_ADAPTER, parse_record, record_id
from search_api.domain.sources import format_validation_error, parse_source
from tests.helpers.factories import fair


def spec_error(**kw: object) -> str:
    base: dict[str, object] = {
        "id": "de_example_fairs",
        "name": "X",
        "kind": "fair",
        "format": "schema_org",
        "start_urls": ["https://example.org/"],
    }
    base.update(kw)
    with pytest.raises(ValidationError) as info:
        parse_source(base)
    return format_validation_error(info.value)


def test_source_errors_name_the_field_and_the_problem() -> None:
    assert spec_error(id="Bad Id!").startswith("id: must be 3-80 characters")
    assert "format: Input should be" in spec_error(format="word")
    assert "start_urls.0" in spec_error(start_urls=["ftp://x"]) or "start_urls" in spec_error(
        start_urls=["ftp://x"]
    )
    assert "schedule: cron expression" in spec_error(schedule="every day")
    assert "follow.allow: Value error" not in spec_error(follow={"allow": ["("]})
    assert "follow.allow: invalid regular expression '('" in spec_error(follow={"allow": ["("]})
    assert "defaults: unknown record field(s) in defaults: colour" in spec_error(
        defaults={"colour": "red"}
    )
    # records drop a language they cannot read; a source's operator hears of it here
    assert "defaults: language: 'bilingue' is not a language" in spec_error(
        defaults={"language": "bilingue"}
    )
    assert "(top level)" not in spec_error(unknown_key=1)
    assert "unknown_key: Extra inputs are not permitted" in spec_error(unknown_key=1)


def test_html_source_needs_selectors() -> None:
    assert "needs 'selectors'" in spec_error(format="html")


def test_fair_country_joins_markets_and_end_defaults_to_start() -> None:
    r = fair(end_date=None, country="de", markets=["fr"])
    assert r.markets == ["DE", "FR"]
    assert r.end_date == r.start_date


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "XX", "unknown country code 'XX'"),
        ("markets", ["Narnia"], "unknown market code 'Narnia'"),
        ("sectors", ["rockets"], "unknown sector(s) ['rockets']"),
        ("hs_codes", ["123"], "must have 2, 4 or 6 digits"),
        ("url", "javascript:alert(1)", "URL scheme should be 'http' or 'https'"),
        ("end_date", "2027-03-01", "is before start_date"),
        ("status", "maybe", "Input should be"),
    ],
)
def test_bad_record_fields_are_refused_with_a_message(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        fair(**{field: value})
    assert message in format_validation_error(info.value)


def test_all_three_kinds_parse() -> None:
    req = parse_record(
        {
            "id": "r:1",
            "kind": "requirement",
            "title": "Food labelling",
            "source_id": "s",
            "markets": ["EU"],
            "hs_codes": ["09.01", "1905"],
            "requirement_type": "labelling",
            "status": "in_force",
            "legal_reference": "Regulation (EU) No 1169/2011",
        }
    )
    assert req.hs_codes == ["0901", "1905"]
    fin = parse_record(
        {
            "id": "f:1",
            "kind": "finance",
            "title": "Export credit insurance",
            "source_id": "s",
            "provider": {"name": "ECA", "type": "eca"},
            "instruments": ["credit_insurance"],
            "eligible_exporter_countries": ["ke"],
            "max_amount": {"value": 1e6, "currency": "usd"},
        }
    )
    assert fin.eligible_exporter_countries == ["KE"]
    assert fin.max_amount is not None and fin.max_amount.currency == "USD"


def test_content_hash_ignores_provenance() -> None:
    a = fair()
    b = fair(last_seen="2030-01-01T00:00:00", first_seen="2029-01-01T00:00:00")
    assert a.content_fingerprint() == b.content_fingerprint()
    assert fair(title="Other").content_fingerprint() != a.content_fingerprint()


def test_record_id_is_stable_and_case_insensitive() -> None:
    assert record_id("s", "https://x.org/a|Fair") == record_id("s", "https://X.org/a|fair ")
    assert record_id("s", "a") != record_id("t", "a")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("EN_us", "en"),
        ("spa", "es"),
        ("fre", "fr"),
        ("German", "de"),
        ("Español", "es"),
        ("zh-Hant-TW", "zh"),
        ("tlh", "tlh"),  # no two-letter code: the three-letter one
        # not a language: the record is kept without one (the records API refuses such a
        # value with a message before it gets here)
        ("und", None),
        ("xx-yy", None),
        ("english please", None),
        ("", None),
    ],
)
def test_language_is_stored_as_an_iso_639_code(given: str, stored: str | None) -> None:
    assert fair(language=given).language == stored


def test_a_record_stored_with_an_old_free_text_language_still_loads() -> None:
    old = fair().model_dump(mode="json") | {"language": "englsh"}
    assert RECORD_ADAPTER.validate_json(json.dumps(old)).language is None
