"""The search backend interface. A backend knows nothing of SQL, HTTP or crawling.

Every backend must pass tests/contract (the same tests, unchanged). A new backend lives in its
own module and is picked in `search_api.search.create_backend`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from search_api.schema import AnyRecord

FACET_FIELDS: tuple[str, ...] = ("kind", "markets", "sectors", "status")
SortOrder = Literal["relevance", "date", "-date"]


class SearchQuery(BaseModel):
    """A validated search request. Filters combine with AND; values within one filter with OR."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str | None = Field(None, max_length=500, description="Free text; searched as words.")
    kind: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    hs: str | None = Field(None, description="HS code; matches its prefixes and its sub-codes.")
    date_from: date | None = None
    date_to: date | None = None
    include_withdrawn: bool = False
    sort: SortOrder = "relevance"
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=0, le=100)
    facets: bool = True

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


class FacetValue(BaseModel):
    value: str
    count: int


class SearchResult(BaseModel):
    total: int
    items: list[dict[str, Any]]
    """Records as JSON-able dicts (the same shape as `Record.model_dump(mode="json")`)."""
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)


class SearchBackend(abc.ABC):
    """Date filters match records whose [start, end] interval overlaps [date_from, date_to]:
    fairs use start_date/end_date, requirements effective_date (else published_date); records
    without a date never match a date filter. `sort="date"` puts the earliest start first and
    undated records last; `relevance` without `q` falls back to `date`."""

    name: str = "abstract"

    @abc.abstractmethod
    def index(self, records: Sequence[AnyRecord]) -> None:
        """Add or replace records (by id). Visible to `search` when this returns."""

    @abc.abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abc.abstractmethod
    def rebuild(self, records: Iterable[AnyRecord]) -> int:
        """Replace the whole index with `records`; searches keep answering from the old index
        until the new one is complete. Returns the number of records indexed."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend can answer searches."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
