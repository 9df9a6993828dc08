"""What one crawl run gathered: records by id, errors with URLs, pages. Scrapy fills it; the
runner decides afterwards, outside the reactor, whether to write it to the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from search_api.domain.records import AnyRecord, filled
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
    # A secret the source references is not set: the run cannot be a fair count of records.
    missing_secret: str | None = None
    # Hides resolved secrets (crawlers.secrets) in what the run records.
    mask: Callable[[str], str] = field(default=lambda text: text)
    # Of two items with one id, the one ranked higher (an addendum's later date) wins.
    ranks: dict[str, Any] = field(default_factory=dict)

    def add_error(self, url: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"url": self.mask(url), "message": self.mask(message)[:1000]})

    def add_note(self, url: str, rule: str, message: str) -> None:
        note = {"url": self.mask(url), "rule": rule, "message": self.mask(message)[:1000]}
        if note in self.notes:  # a page reached twice says the same thing twice
            return
        if len(self.notes) < MAX_NOTES:
            self.notes.append(note)
        else:
            self.notes_dropped += 1

    def add_record(self, record: AnyRecord, rank: Any = None) -> None:
        """The same record reached twice in one run (a list page and its detail page, or one
        page under two URLs, or a notification and its addendum) is merged: non-empty values
        of the later one, or of the higher `rank` when both have one, fill or replace the
        other's."""
        old = self.records.get(record.id)
        if old is None:
            self.records[record.id] = record
            self.ranks[record.id] = rank
            return
        old_rank = self.ranks.get(record.id)
        newer, older = record, old
        if rank is not None and old_rank is not None and _lower(rank, old_rank):
            newer, older = old, record
        else:
            self.ranks[record.id] = rank if rank is not None else old_rank
        self.records[record.id] = filled(older, newer)

    def note_unmapped(self, names: list[str]) -> None:
        for name in names:
            self.unmapped[name] = self.unmapped.get(name, 0) + 1


def _lower(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:  # ranks of different types: compare as text
        return str(a) < str(b)
