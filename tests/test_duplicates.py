"""One fair from several sources, recognised at read time (domain/duplicates.py)."""

from __future__ import annotations

from typing import Any

from search_api.domain import duplicates


def item(id: str, title: str, **kw: Any) -> dict[str, Any]:
    base = {
        "id": id,
        "kind": "fair",
        "title": title,
        "source_id": id.split(":")[0],
        "city": "Frankfurt am Main",
        "country": "DE",
        "start_date": "2027-01-12",
        "end_date": "2027-01-15",
    }
    return {**base, **kw}


def test_names_fold_case_accents_years_and_fair_words() -> None:
    keys = {
        duplicates.fair_key(item(f"s{n}:1", title))
        for n, title in enumerate(
            ["Heimtextil", "HEIMTEXTIL 2027", "2027 Heimtextil", "Heimtextil trade fair",
             "Heïmtextil – International Trade Fair"]
        )
    }  # fmt: skip
    assert len(keys) == 1


def test_other_dates_or_city_or_name_are_other_fairs() -> None:
    base = duplicates.fair_key(item("a:1", "Heimtextil"))
    assert duplicates.fair_key(item("b:1", "Heimtextil", start_date="2026-01-13")) != base
    assert duplicates.fair_key(item("b:1", "Heimtextil", city="Shanghai")) != base
    assert duplicates.fair_key(item("b:1", "Techtextil")) != base
    assert duplicates.fair_key({"kind": "requirement", "title": "x"}) is None


def test_merge_keeps_order_and_every_provenance_without_touching_the_input() -> None:
    a = item("a:1", "Heimtextil", source_url="https://a.example.org/")
    other = {"kind": "requirement", "id": "r:1", "title": "Rule"}
    b = item("b:1", "HEIMTEXTIL 2027", url="https://heimtextil.example.org/")
    c = item("c:1", "Heimtextil")
    merged = duplicates.merge([a, other, b, c])
    assert [m["id"] for m in merged] == ["a:1", "r:1"]
    assert [p["id"] for p in merged[0]["sources"]] == ["a:1", "b:1", "c:1"]
    assert merged[0]["sources"][1]["url"] == "https://heimtextil.example.org/"
    assert "sources" not in a


def test_one_source_twice_is_two_fairs() -> None:
    expo = "Coffee Expo"
    merged = duplicates.merge([item("a:1", expo), item("a:2", expo), item("b:1", expo)])
    assert [m["id"] for m in merged] == ["a:1", "a:2"]
    assert [p["id"] for p in merged[0]["sources"]] == ["a:1", "b:1"]


def test_undated_series_merge_by_usual_month() -> None:
    one = item("a:1", "Ambiente", start_date=None, end_date=None, usual_month=2)
    two = item("b:1", "Ambiente", start_date=None, end_date=None, usual_month=2)
    three = item("c:1", "Ambiente", start_date=None, end_date=None, usual_month=9)
    assert [m["id"] for m in duplicates.merge([one, two, three])] == ["a:1", "c:1"]
