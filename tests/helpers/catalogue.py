"""The starter catalogue (crawlers/data/*.yml) read into records the way a crawl reads it."""

from __future__ import annotations

from pathlib import Path

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
