"""THE record models: every record, whatever produced it, is one of these.

Records come in three kinds sharing a common base. Provenance fields (`first_seen`, `last_seen`,
`last_changed`, `content_hash`) are maintained by the store, never by a source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from search_api.domain.languages import language_code
from search_api.domain.vocab import (
    BLOCS,
    SECTORS,
    FairStatus,
    FinanceInstrument,
    ProviderType,
    RequirementStatus,
    RequirementType,
    is_market_code,
)

Kind = Literal["fair", "requirement", "finance"]
KINDS: tuple[str, ...] = ("fair", "requirement", "finance")
PROVENANCE_FIELDS = frozenset(
    {"first_seen", "last_seen", "last_changed", "content_hash", "withdrawn", "version"}
)
SYSTEM_FIELDS = PROVENANCE_FIELDS | {"id", "kind", "source_id", "source_url", "curated_by"}
"""Fields only Tradepoint sets: a page, a source's defaults or a curated file never does."""

# Bounds of the numbers a record may hold: beyond them a value is a typing or parsing slip
# (a 400-digit amount), and the index cannot hold non-finite numbers at all.
MAX_AMOUNT = 1e15
MAX_COUNT = 10**9
MAX_TENOR_DAYS = 36_600  # a century
MAX_TEXT_CHARS = 1_000_000
MAX_URL_CHARS = 2_000
_HS_RE = re.compile(r"^\d{2}(\d{2}){0,2}$")
# Fields added after records were first stored: left out of the content fingerprint while
# empty, so that adding one does not make every stored record look changed.
_ADDED_FIELDS = ("registration_deadline",)


def _upper_codes(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        code = v.strip().upper()
        if not is_market_code(code):
            raise ValueError(f"unknown market code {v!r} (use ISO 3166-1 alpha-2 or a bloc code)")
        if code not in out:
            out.append(code)
    return out


# Record dates outside this range are typing errors, and the search index cannot hold them
# (a record it refuses would block the outbox behind it).
MIN_RECORD_DATE, MAX_RECORD_DATE = date(1900, 1, 1), date(2200, 12, 31)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates; zero-width space, non-joiner, joiner; word joiner; BOM.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")
_MULTILINE = frozenset({"summary", "text"})
_BREAKS = re.compile(r"[\n\t\v\f\u2028\u2029\x85]")


# Anything clean_string may change (derived from its patterns, so the two cannot drift): most
# strings have none of it and are returned as they are, after one search instead of five
# passes (every record read back from the store is cleaned too).
_MAY_CHANGE = re.compile("|".join(p.pattern for p in (_CONTROL, _INVISIBLE, _BREAKS)) + "|\r")


def clean_string(value: str, *, multiline: bool = False) -> str:
    """Text as people should read it: no control characters (tab and line breaks stay where
    text may have lines), no bidi overrides or zero-width characters.

    Records read back from the store are not cleaned again (`load_stored_record`): every
    write cleans them, and migration 0011 cleaned the rows stored before, by a copy of these
    rules. Cleaning more than this needs a migration that cleans the stored rows again
    (tests/test_stored_records.py fails when these rules and 0011's differ)."""
    if not _MAY_CHANGE.search(value):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    value = _INVISIBLE.sub("", value)
    if not multiline:
        # A line break or tab in a one-line field (a title, a city) reads as a space; runs of
        # spaces stay as the source wrote them.
        value = _BREAKS.sub(" ", value)
    return value


def clean_strings(data: dict[str, Any]) -> dict[str, Any]:
    """`clean_string` over every string of a record's fields (lists and nested objects too)."""

    def clean(value: Any, multiline: bool) -> Any:
        if isinstance(value, str):
            return clean_string(value, multiline=multiline)
        if isinstance(value, list):
            return [clean(v, multiline) for v in value]
        if isinstance(value, dict):
            return {k: clean(v, False) for k, v in value.items()}
        return value

    # URLs are left as given: `http_url` refuses a line break or control character in them
    # instead of a cleaning that would turn "a\r\nX-Header: 1" into another, still wrong URL.
    return {k: v if k.endswith("url") else clean(v, k in _MULTILINE) for k, v in data.items()}


# `\s` in a str pattern is exactly str.isspace() (every Unicode space): one search per URL
# instead of a Python loop over its characters.
_NOT_IN_URL = re.compile("|".join((r"\s", _CONTROL.pattern, _INVISIBLE.pattern)))


def http_url(value: str | None) -> str | None:
    """An http(s) URL as given, or None for an empty one; a ValueError says what is wrong.

    Refused rather than repaired: a line break in a URL would end up in a calendar or an email
    header (where it starts a new line), and pydantic's URL type drops it silently."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if _NOT_IN_URL.search(value):
        raise ValueError(
            "URL contains a space, line break, tab or control character (write a space as %20)"
        )
    _check_http(value)
    return value


@lru_cache(maxsize=4096)
def _check_http(value: str) -> None:
    # Raises a clear error on anything that is not http(s). Remembered (errors are not): the
    # page a record came from (`source_url`) is the same for every record of a listing.
    AnyHttpUrl(value)


def _date_in_range(v: date | None) -> date | None:
    if v is not None and not MIN_RECORD_DATE <= v <= MAX_RECORD_DATE:
        raise ValueError(f"{v} is out of range ({MIN_RECORD_DATE} to {MAX_RECORD_DATE})")
    return v


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    value: float = Field(ge=0, le=MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code")

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Provider(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    type: ProviderType | None = None
    country: str | None = Field(
        None, description="Where the provider is based (ISO 3166-1 alpha-2): not a market."
    )

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        code = _country_code(v)
        if code is not None and code in BLOCS:
            raise ValueError(f"unknown country code {v!r} (a provider is based in a country)")
        return code


class FairStats(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    exhibitors: int | None = Field(None, ge=0, le=MAX_COUNT)
    visitors: int | None = Field(None, ge=0, le=MAX_COUNT)
    net_space: int | None = Field(None, ge=0, le=MAX_COUNT, description="square metres")
    year: int | None = Field(None, ge=1900, le=2100)


class RecordBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=200)
    kind: Kind
    title: str = Field(min_length=1, max_length=500)
    summary: str | None = Field(None, max_length=5000)
    text: str | None = Field(
        None, max_length=MAX_TEXT_CHARS, description="Full text for search (documents, pages)."
    )
    url: str | None = Field(None, max_length=MAX_URL_CHARS)
    language: str | None = Field(
        None, max_length=8, description="ISO 639 code of the record's text (fr, en, es...)"
    )
    markets: list[str] = Field(default_factory=list, description="ISO alpha-2 or bloc codes")
    sectors: list[str] = Field(default_factory=list)
    hs_codes: list[str] = Field(default_factory=list, description="HS 2/4/6-digit prefixes")
    as_of: date | None = Field(None, description="When curated facts were written down.")
    evidence_url: str | None = Field(
        None, description="The public page that states the curated facts (http or https)."
    )
    checked_on: date | None = Field(
        None, description="When the facts were last checked against `evidence_url`."
    )
    # provenance
    source_id: str = Field(min_length=1)
    source_url: str | None = None
    curated_by: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_changed: datetime | None = None
    content_hash: str | None = None
    withdrawn: bool = False
    version: int = Field(1, ge=1, description="Bumped on every change (iCal SEQUENCE).")

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any, info: ValidationInfo) -> Any:
        # Every string a record holds, whoever wrote it (a page, a form, a file): control
        # characters make feeds invalid (a NUL is not XML), and bidi overrides and zero-width
        # characters make a title read as something else than it says. Not again on the way
        # back from the store (`load_stored_record`): what it holds was cleaned when written.
        if info.context is _STORED or not isinstance(data, dict):
            return data
        return clean_strings(data)

    _checked_on = field_validator("checked_on")(_date_in_range)

    @field_validator("url", "source_url", "evidence_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        return http_url(v)

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, v: Any) -> Any:
        # Lenient: an unreadable tag drops the language rather than the record (records stored
        # before codes were normalised must still load). Writers that take a language from a
        # person (the records API, field mappings) refuse such a tag with a message first.
        if not isinstance(v, str):
            return v
        return language_code(v)

    @field_validator("markets")
    @classmethod
    def _markets(cls, v: list[str]) -> list[str]:
        return _upper_codes(v)

    @field_validator("sectors")
    @classmethod
    def _sectors(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in SECTORS]
        if bad:
            raise ValueError(f"unknown sector(s) {bad}; allowed: {', '.join(SECTORS)}")
        return list(dict.fromkeys(v))

    @field_validator("hs_codes", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out = []
        for code in v:
            c = str(code).replace(".", "").replace(" ", "")
            if not _HS_RE.match(c):
                raise ValueError(f"HS code {code!r} must have 2, 4 or 6 digits")
            if c not in out:
                out.append(c)
        return out

    @model_validator(mode="after")
    def _evidence_is_dated(self) -> RecordBase:
        # An evidence page says something only as of the day it was read: a page without that
        # day cannot be re-checked ("was it already renamed when you looked?").
        if self.evidence_url and self.checked_on is None:
            raise ValueError("checked_on: say when evidence_url was checked (YYYY-MM-DD)")
        return self

    def content_fingerprint(self) -> str:
        """Hash of what the source said; provenance is excluded so a re-crawl is 'unchanged'."""
        data = self.model_dump(mode="json", exclude=set(PROVENANCE_FIELDS | {"source_url"}))
        for name in _ADDED_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)
        provider = data.get("provider")
        if isinstance(provider, dict) and provider.get("country") is None:
            provider.pop("country", None)  # added later, like _ADDED_FIELDS
        if data.get("kind") == "fair" and data.get("status") is None:
            # Undated series were stored as "scheduled" until they lost that status: hashed as
            # they were, so that re-reading an unchanged source changes nothing.
            data["status"] = "scheduled"
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _country_code(v: str | None) -> str | None:
    if v is None:
        return None
    code = v.strip().upper()
    if len(code) != 2 or not is_market_code(code):
        raise ValueError(f"unknown country code {v!r} (use ISO 3166-1 alpha-2)")
    return code


class FairRecord(RecordBase):
    kind: Literal["fair"] = "fair"
    start_date: date | None = None
    end_date: date | None = None
    registration_deadline: date | None = Field(
        None, description="Last day exhibitors may register, where the source says."
    )
    status: FairStatus | None = Field(
        None,
        description="scheduled (the default for a fair with dates), rescheduled, postponed, "
        "cancelled or moved_online; none for a series whose next dates are not known, since "
        "nothing is scheduled yet.",
    )
    online: bool = False
    # Bounded like the columns that snapshot them (subscription digests); PostgreSQL enforces it.
    city: str | None = Field(None, max_length=200)
    country: str | None = None
    venue: str | None = Field(None, max_length=500)
    organiser: str | None = Field(None, max_length=500)
    frequency: Literal["annual", "biennial", "triennial", "twice_yearly", "other"] | None = None
    usual_month: int | None = Field(None, ge=1, le=12)
    audience: Literal["trade", "public", "mixed"] | None = None
    scope: Literal["international", "national", "regional"] | None = None
    stats: FairStats | None = None

    _fair_dates = field_validator("start_date", "end_date", "registration_deadline")(_date_in_range)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        return _country_code(v)

    @model_validator(mode="after")
    def _dates(self) -> FairRecord:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.start_date and not self.end_date:
            self.end_date = self.start_date
        # "scheduled" is what a dated fair is unless its source says otherwise; a series with
        # no known next dates is not scheduled (a client sending back what it read, "status":
        # "scheduled" or null, gets the same record). Other statuses stand without dates
        # (postponed: new dates not known yet).
        if self.start_date is None and self.status == "scheduled":
            self.status = None
        elif self.start_date is not None and self.status is None:
            self.status = "scheduled"
        if self.country and self.country not in self.markets:
            self.markets = [self.country, *self.markets]
        return self


class RequirementRecord(RecordBase):
    kind: Literal["requirement"] = "requirement"
    requirement_type: RequirementType | None = None
    authority: str | None = None
    legal_reference: str | None = None
    status: RequirementStatus | None = None
    published_date: date | None = None
    effective_date: date | None = None
    comment_deadline: date | None = None
    origins: list[str] = Field(default_factory=list)

    _requirement_dates = field_validator("published_date", "effective_date", "comment_deadline")(
        _date_in_range
    )

    @field_validator("origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        return _upper_codes(v)


class FinanceRecord(RecordBase):
    kind: Literal["finance"] = "finance"
    provider: Provider | None = None
    instruments: list[FinanceInstrument] = Field(default_factory=list)
    eligible_exporter_countries: list[str] = Field(default_factory=list)
    destinations: list[str] = Field(default_factory=list)
    sme_focus: bool | None = None
    coverage_pct_max: float | None = Field(None, ge=0, le=100)
    min_amount: Money | None = None
    max_amount: Money | None = None
    tenor_max_days: int | None = Field(None, ge=0, le=MAX_TENOR_DAYS)
    access_channel: Literal["direct", "partner_bank", "broker"] | None = None
    application_url: str | None = Field(None, max_length=MAX_URL_CHARS)

    @model_validator(mode="before")
    @classmethod
    def _markets_given(cls, data: Any) -> Any:
        """A finance programme's markets are where it helps exporters sell: its
        `destinations` (none: any market). The provider's home is `provider.country`, never a
        market. A `markets` given anyway (files and stored records written before this rule
        tagged the provider's home there) is read for what it can only mean: codes already
        among the eligible exporter countries or destinations say nothing more; one country
        with a provider whose home is not given is that home; others are destinations when
        none are given."""
        if not isinstance(data, dict) or not data.get("markets"):
            return data
        data = dict(data)
        given = [str(c).strip().upper() for c in data.pop("markets") or []]
        known = {
            str(c).strip().upper()
            for c in [
                *(data.get("eligible_exporter_countries") or []),
                *(data.get("destinations") or []),
            ]
        }
        given = [c for c in given if c not in known]
        provider = data.get("provider")
        if provider is not None and not isinstance(provider, dict):
            provider = provider.model_dump() if isinstance(provider, BaseModel) else provider
        if (
            len(given) == 1
            and isinstance(provider, dict)
            and not provider.get("country")
            and len(given[0]) == 2
            and given[0] not in BLOCS  # "EU" is a market, never a provider's home
            and is_market_code(given[0])
        ):
            data["provider"] = {**provider, "country": given[0]}
        elif given and not data.get("destinations"):
            data["destinations"] = given
        return data

    @field_validator("eligible_exporter_countries", "destinations")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _upper_codes(v)

    @model_validator(mode="after")
    def _markets_are_destinations(self) -> FinanceRecord:
        self.markets = list(self.destinations)
        return self

    @field_validator("application_url")
    @classmethod
    def _app_url(cls, v: str | None) -> str | None:
        return http_url(v)


Record = Annotated[FairRecord | RequirementRecord | FinanceRecord, Field(discriminator="kind")]
RECORD_ADAPTER: TypeAdapter[FairRecord | RequirementRecord | FinanceRecord] = TypeAdapter(Record)
AnyRecord = FairRecord | RequirementRecord | FinanceRecord
RECORD_MODELS: dict[str, type[RecordBase]] = {
    "fair": FairRecord,
    "requirement": RequirementRecord,
    "finance": FinanceRecord,
}


def filled(older: AnyRecord, newer: AnyRecord, keep: frozenset[str] = frozenset()) -> AnyRecord:
    """`older` with the non-empty values of `newer` filling or replacing its own, except the
    fields in `keep` (the same record read twice, or an amendment of a stored record)."""
    merged: dict[str, Any] = older.model_dump()
    for key, value in newer.model_dump().items():
        if key not in keep and value not in (None, "", [], {}):
            merged[key] = value
    return type(newer).model_validate(merged)


def is_undated_series(item: Any) -> bool:
    """A fair whose next dates are not known (a record, or a record as a dict): lists show it
    apart, as a recurring fair, never among scheduled ones."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    return get("kind") == "fair" and not get("start_date")


def parse_record(data: dict[str, Any]) -> AnyRecord:
    return RECORD_ADAPTER.validate_python(data)


_STORED: Final = {"stored": True}
"""Validation context of records read back from the store (compared by identity, so that
nothing else can ask for it)."""


def load_stored_record(data: str | bytes) -> AnyRecord:
    """A record from the JSON the store holds for it (`records.data`), validated like any
    other but for the text cleaning: that JSON is `model_dump_json` of a validated, so cleaned,
    record (or a rewrite of one that changes no text: withdrawal, `last_seen`), and rows
    stored before cleaning existed were cleaned by migration 0011. Skipping it roughly halves
    the cost of reading a record, which the indexer does for every record it indexes.

    Only for the store's own JSON: anything a person or a source sent goes through
    `parse_record` or `RECORD_ADAPTER`."""
    return RECORD_ADAPTER.validate_json(data, context=_STORED)


def stored_record_or_none(data: str | bytes) -> AnyRecord | None:
    """`load_stored_record`, or None (with a log line) for a row that no longer validates: one
    broken record never stops an export, a feed or the reminders. The store notes such rows
    for the source's health when it reads them (`Store.get_records`)."""
    try:
        return load_stored_record(data)
    except ValidationError as exc:
        logging.getLogger(__name__).warning(
            "a stored record no longer validates; left out: %s", str(exc)[:300]
        )
        return None


def stored_records(rows: Iterable[str | bytes]) -> Iterator[AnyRecord]:
    """The records of the store's JSON `rows`, those that no longer validate left out."""
    for data in rows:
        record = stored_record_or_none(data)
        if record is not None:
            yield record


def record_id(source_id: str, natural_key: str) -> str:
    """Stable id: a re-crawl of the same thing updates the record instead of duplicating it."""
    digest = hashlib.sha256(natural_key.strip().casefold().encode()).hexdigest()[:16]
    return f"{source_id}:{digest}"
