"""What the store holds must be what the record model makes of it: readers of the stored JSON
do not clean its text again (`load_stored_record`), so every write must store cleaned text.
The `store` fixture checks that after every test (tests/conftest.py), whatever the test wrote
through the API, a crawl, a form or the store itself."""

from __future__ import annotations

import json

from sqlalchemy.exc import SQLAlchemyError

from search_api.domain.records import clean_strings
from search_api.store import Store


def unclean_rows(store: Store) -> list[str]:
    """'id: field, ...' of every stored record holding text the record model would clean."""
    out: list[str] = []
    try:
        for batch in store.iter_record_json():
            for record_id, raw in batch:
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue  # broken rows are record_problems' business
                if not isinstance(data, dict):
                    continue
                clean = clean_strings(data)
                fields = sorted(k for k in data if clean[k] != data[k])
                if fields:
                    out.append(f"{record_id}: {', '.join(fields)}")
    except SQLAlchemyError:
        return []  # a test that took the database away on purpose
    return out
