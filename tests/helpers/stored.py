"""What the store holds must be what the record model makes of it: readers of the stored JSON
do not clean its text again (`load_stored_record`), so every write must store cleaned text.
The `store` fixture checks that after every test (tests/conftest.py), whatever the test wrote
through the API, a crawl, a form or the store itself."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, ProgrammingError

from search_api.domain.records import clean_strings
from search_api.store import Store
from search_api.store.changes import stored_fields


def unclean_rows(store: Store) -> list[str]:
    """'id: field, ...' of every stored record holding text the record model would clean."""
    out: list[str] = []
    try:
        for batch in store.iter_record_json():
            for record_id, raw in batch:
                data = stored_fields(raw)  # {} for a broken row: record_problems' business
                clean = clean_strings(data)
                fields = sorted(k for k in data if clean[k] != data[k])
                if fields:
                    out.append(f"{record_id}: {', '.join(fields)}")
    except (OperationalError, ProgrammingError) as exc:
        if "records" in str(exc) and ("no such table" in str(exc) or "does not exist" in str(exc)):
            return []  # a test that took the records table away on purpose
        raise
    return out
