"""The starter catalogue shipped in crawlers/data: real records, loaded through the curated
pipeline, each with an official https URL and the date its facts were written down."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from crawlers.demo import DATA_DIR
from crawlers.pipelines import build_record
from search_api.domain.records import AnyRecord
from search_api.domain.sources import parse_source

FILES = {"fairs": ("fair", 30), "finance": ("finance", 40), "requirements": ("requirement", 40)}


def load(stem: str) -> list[AnyRecord]:
    kind, _ = FILES[stem]
    path = DATA_DIR / f"{stem}.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = parse_source(
        dict(
            id=f"starter_{stem}",
            name=stem,
            kind=kind,
            format="curated",
            start_urls=[Path(path).resolve().as_uri()],
        )
    )
    records = []
    for raw in doc["records"]:
        item = {k: v for k, v in raw.items() if k not in ("id", "kind")}
        item.setdefault("as_of", doc["as_of"])
        records.append(build_record({**item, "_id": raw["id"], "_key": raw["id"]}, spec))
    return records


@pytest.mark.parametrize("stem", sorted(FILES))
def test_catalogue_loads_without_validation_errors(stem: str) -> None:
    records = load(stem)
    kind, minimum = FILES[stem]
    assert len(records) >= minimum
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert r.kind == kind
        assert r.url and r.url.startswith("https://"), r.id
        assert r.as_of is not None, r.id


def test_requirements_cover_ten_markets_with_legal_references() -> None:
    records = load("requirements")
    markets = Counter(m for r in records for m in r.markets)
    assert len(markets) >= 10
    assert {"EU", "US", "GB", "JP", "CN", "CA", "AU", "IN"} <= set(markets)
    assert all(r.kind == "requirement" and r.legal_reference for r in records)
    assert any(
        r.kind == "requirement" and "1169/2011" in (r.legal_reference or "") for r in records
    )


def test_finance_sources_say_how_to_use_them() -> None:
    records = load("finance")
    for r in records:
        assert r.kind == "finance"
        assert r.provider is not None and r.provider.type, r.id
        assert r.instruments, r.id
    kinds = Counter(r.provider.type for r in records if r.kind == "finance" and r.provider)
    assert kinds["eca"] + kinds["exim_bank"] >= 20 and kinds["development_bank"] >= 3
