"""What one crawl run gathered: records by id, errors with URLs, pages. Scrapy fills it; the
runner decides afterwards, outside the reactor, whether to write it to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from search_api.domain.records import AnyRecord
from search_api.domain.sources import SourceSpec

MAX_ERRORS = 500
MAX_NOTES = 500


@dataclass
class RunCollector:
    spec: SourceSpec
    records: dict[str, AnyRecord] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    # Values repaired or inferred rather than read as published (a JSON-LD block repaired, a
    # country inferred from a US state and ZIP code, a status from the title), with the rule and
    # the page, so that an agency can see why a field was filled.
    notes: list[dict[str, str]] = field(default_factory=list)
    notes_dropped: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    failed: int = 0
    # Set when a page limit or the time limit stopped the run: what it did not reach is not
    # evidence that a record was withdrawn.
    truncated: bool = False

    def add_error(self, url: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"url": url, "message": message[:1000]})

    def add_note(self, url: str, rule: str, message: str) -> None:
        note = {"url": url, "rule": rule, "message": message[:1000]}
        if note in self.notes:  # a page reached twice says the same thing twice
            return
        if len(self.notes) < MAX_NOTES:
            self.notes.append(note)
        else:
            self.notes_dropped += 1

    def add_record(self, record: AnyRecord) -> None:
        """The same record reached twice in one run (a list page and its detail page, or one
        page under two URLs) is merged: later non-empty values fill or replace earlier ones."""
        old = self.records.get(record.id)
        if old is None:
            self.records[record.id] = record
            return
        merged: dict[str, Any] = old.model_dump()
        for key, value in record.model_dump().items():
            if value not in (None, "", [], {}):
                merged[key] = value
        self.records[record.id] = type(record).model_validate(merged)

    def note_unmapped(self, names: list[str]) -> None:
        for name in names:
            self.unmapped[name] = self.unmapped.get(name, 0) + 1
