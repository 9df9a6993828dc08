"""What an advisor's subscription watches: a saved search, validated once when subscribing,
run again on each day's index (relative date windows move with the calendar)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from search_api.domain.records import KINDS, MAX_RECORD_DATE, MIN_RECORD_DATE
from search_api.domain.vocab import SECTORS

if TYPE_CHECKING:
    from search_api.search.base import SearchQuery

MAX_DAYS_AHEAD = 730
_HS_RE = re.compile(r"^\d{2,6}$")


class SavedSearch(BaseModel):
    """What a subscription watches. Validated once, when subscribing; errors name the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(None, max_length=200, description="Words to search for.")
    kind: list[str] = Field(default_factory=lambda: ["fair"], description="fair, requirement…")
    markets: list[str] = Field(default_factory=list, description="ISO codes, names or blocs")
    sectors: list[str] = Field(default_factory=list)
    hs: str | None = Field(None, description="HS code, 2 to 6 digits")
    days_ahead: int | None = Field(
        None, ge=1, le=MAX_DAYS_AHEAD, description="Relative window: from today, N days ahead."
    )
    date_from: date | None = Field(
        None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE, description="Absolute window start."
    )
    date_to: date | None = Field(
        None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE, description="Absolute window end."
    )

    @field_validator("kind", "markets", "sectors", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        # Web forms and query strings send "DE,FR" or repeated values; accept both.
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list | tuple):
            return [p.strip() for x in v for p in str(x).split(",") if p.strip()]
        return v

    @field_validator("kind")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        out = list(dict.fromkeys(k.lower() for k in v))
        bad = [k for k in out if k not in KINDS]
        if bad:
            raise ValueError(f"unknown kind(s) {bad}; use {', '.join(KINDS)}")
        return out or ["fair"]

    @field_validator("markets")
    @classmethod
    def _markets(cls, v: list[str]) -> list[str]:
        from search_api.domain.markets import resolve_market

        out: list[str] = []
        for m in v:
            code = resolve_market(m)
            if code is None:
                raise ValueError(
                    f"unknown market {m!r}; use an ISO 3166-1 code, a country name or a bloc"
                )
            if code not in out:
                out.append(code)
        return out

    @field_validator("sectors")
    @classmethod
    def _sectors(cls, v: list[str]) -> list[str]:
        out = list(dict.fromkeys(s.lower() for s in v))
        bad = [s for s in out if s not in SECTORS]
        if bad:
            raise ValueError(f"unknown sector(s) {bad}")
        return out

    @field_validator("hs")
    @classmethod
    def _hs(cls, v: str | None) -> str | None:
        if not v:
            return None
        code = v.replace(".", "").replace(" ", "")
        if not _HS_RE.match(code):
            raise ValueError(f"{v!r} is not an HS code (2 to 6 digits)")
        return code

    @field_validator("q")
    @classmethod
    def _q(cls, v: str | None) -> str | None:
        return v or None

    @model_validator(mode="after")
    def _window(self) -> SavedSearch:
        if self.days_ahead is not None and (self.date_from or self.date_to):
            raise ValueError("days_ahead: give either days_ahead or date_from/date_to, not both")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_to: must not be before date_from")
        return self

    def window(self, today: date) -> tuple[date | None, date | None]:
        """The dates searched on `today`: relative windows move with the calendar."""
        if self.days_ahead is not None:
            return today, today + timedelta(days=self.days_ahead)
        if self.date_from or self.date_to:
            return self.date_from, self.date_to
        return today, None  # upcoming: a fair still running today counts

    def to_query(self, today: date, *, size: int = 100) -> SearchQuery:
        """The search this subscription runs on `today`, through the same validation as the API."""
        from search_api import service  # service imports the store package

        date_from, date_to = self.window(today)
        params = service.SearchParams(
            q=self.q,
            kind=tuple(self.kind),
            market=tuple(self.markets),
            sector=tuple(self.sectors),
            hs=self.hs,
            date_from=date_from,
            date_to=date_to,
            size=size,
            sort="date",
        )
        return service.build_query(params).model_copy(update={"facets": False})
