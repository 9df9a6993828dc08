"""Small record builders for tests."""

from __future__ import annotations

from typing import Any

from search_api.domain.records import AnyRecord, parse_record

__all__ = ["fair", "parse_record"]


def fair(id: str = "t_src:1", title: str = "Coffee Expo", **kw: Any) -> AnyRecord:
    data: dict[str, Any] = {
        "id": id,
        "kind": "fair",
        "title": title,
        "source_id": "t_src",
        "start_date": "2027-03-10",
        "end_date": "2027-03-12",
        "country": "KE",
        "city": "Nairobi",
        "sectors": ["coffee_tea_cocoa"],
    }
    data.update(kw)
    return parse_record(data)
