"""THE record and source models: every record and source, whatever produced it, is one of these.

Records come in three kinds sharing a common base. Provenance fields (`first_seen`, `last_seen`,
`last_changed`, `content_hash`) are maintained by the store, never by a source.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

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

from search_api.languages import language_code, language_problem
from search_api.vocab import (
    FAIR_STATUSES,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_STATUSES,
    REQUIREMENT_TYPES,
    SECTORS,
    is_market_code,
)

Kind = Literal["fair", "requirement", "finance"]
KINDS: tuple[str, ...] = ("fair", "requirement", "finance")
SOURCE_FORMATS = ("schema_org", "ical", "feed", "html", "table", "pdf", "curated")
PROVENANCE_FIELDS = frozenset(
    {"first_seen", "last_seen", "last_changed", "content_hash", "withdrawn", "version"}
)
_HS_RE = re.compile(r"^\d{2}(\d{2}){0,2}$")


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


def _date_in_range(v: date | None) -> date | None:
    if v is not None and not MIN_RECORD_DATE <= v <= MAX_RECORD_DATE:
        raise ValueError(f"{v} is out of range ({MIN_RECORD_DATE} to {MAX_RECORD_DATE})")
    return v


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code")

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Provider(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    type: Literal[PROVIDER_TYPES] | None = None  # type: ignore[valid-type]


class FairStats(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exhibitors: int | None = Field(None, ge=0)
    visitors: int | None = Field(None, ge=0)
    net_space: int | None = Field(None, ge=0, description="square metres")
    year: int | None = Field(None, ge=1900, le=2100)


class RecordBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    kind: Kind
    title: str = Field(min_length=1, max_length=500)
    summary: str | None = Field(None, max_length=5000)
    text: str | None = Field(None, description="Full text for search (documents, long pages).")
    url: str | None = None
    language: str | None = Field(
        None, max_length=8, description="ISO 639 code of the record's text (fr, en, es...)"
    )
    markets: list[str] = Field(default_factory=list, description="ISO alpha-2 or bloc codes")
    sectors: list[str] = Field(default_factory=list)
    hs_codes: list[str] = Field(default_factory=list, description="HS 2/4/6-digit prefixes")
    as_of: date | None = Field(None, description="When curated facts were written down.")
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

    @field_validator("url", "source_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        AnyHttpUrl(v)  # raises a clear error on anything that is not http(s)
        return v

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

    def content_fingerprint(self) -> str:
        """Hash of what the source said; provenance is excluded so a re-crawl is 'unchanged'."""
        data = self.model_dump(mode="json", exclude=PROVENANCE_FIELDS | {"source_url"})
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


class FairRecord(RecordBase):
    kind: Literal["fair"] = "fair"
    start_date: date | None = None
    end_date: date | None = None
    status: Literal[FAIR_STATUSES] = "scheduled"  # type: ignore[valid-type]
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

    _fair_dates = field_validator("start_date", "end_date")(_date_in_range)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is None:
            return None
        code = v.strip().upper()
        if len(code) != 2 or not is_market_code(code):
            raise ValueError(f"unknown country code {v!r} (use ISO 3166-1 alpha-2)")
        return code

    @model_validator(mode="after")
    def _dates(self) -> FairRecord:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.start_date and not self.end_date:
            self.end_date = self.start_date
        if self.country and self.country not in self.markets:
            self.markets = [self.country, *self.markets]
        return self


class RequirementRecord(RecordBase):
    kind: Literal["requirement"] = "requirement"
    requirement_type: Literal[REQUIREMENT_TYPES] | None = None  # type: ignore[valid-type]
    authority: str | None = None
    legal_reference: str | None = None
    status: Literal[REQUIREMENT_STATUSES] | None = None  # type: ignore[valid-type]
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
    instruments: list[Literal[FINANCE_INSTRUMENTS]] = Field(default_factory=list)  # type: ignore[valid-type]
    eligible_exporter_countries: list[str] = Field(default_factory=list)
    destinations: list[str] = Field(default_factory=list)
    sme_focus: bool | None = None
    coverage_pct_max: float | None = Field(None, ge=0, le=100)
    min_amount: Money | None = None
    max_amount: Money | None = None
    tenor_max_days: int | None = Field(None, ge=0)
    access_channel: Literal["direct", "partner_bank", "broker"] | None = None
    application_url: str | None = None

    @field_validator("eligible_exporter_countries", "destinations")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _upper_codes(v)

    @field_validator("application_url")
    @classmethod
    def _app_url(cls, v: str | None) -> str | None:
        if v:
            AnyHttpUrl(v)
        return v or None


Record = Annotated[FairRecord | RequirementRecord | FinanceRecord, Field(discriminator="kind")]
RECORD_ADAPTER: TypeAdapter[FairRecord | RequirementRecord | FinanceRecord] = TypeAdapter(Record)
AnyRecord = FairRecord | RequirementRecord | FinanceRecord


def parse_record(data: dict[str, Any]) -> AnyRecord:
    return RECORD_ADAPTER.validate_python(data)


def record_id(source_id: str, natural_key: str) -> str:
    """Stable id: a re-crawl of the same thing updates the record instead of duplicating it."""
    digest = hashlib.sha256(natural_key.strip().casefold().encode()).hexdigest()[:16]
    return f"{source_id}:{digest}"


# --------------------------------------------------------------------------- sources

_SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]{2,79}$")


class FollowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow: list[str] = Field(default_factory=list, description="regexes a followed URL must match")
    deny: list[str] = Field(default_factory=list)
    max_pages: int = Field(100, ge=1, le=100_000)

    @field_validator("allow", "deny")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
        return v


class SelectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str
    fields: dict[str, str]
    next: str | None = None
    detail: dict[str, str] | None = None


_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "provider": Provider,
    "min_amount": Money,
    "max_amount": Money,
    "stats": FairStats,
}


def source_field_names(kind: str) -> set[str]:
    """Record fields a source may fill for `kind`; nested ones dotted (provider.name)."""
    model = {"fair": FairRecord, "requirement": RequirementRecord, "finance": FinanceRecord}[kind]
    names = set(model.model_fields) - PROVENANCE_FIELDS
    names -= {"id", "kind", "source_id", "source_url", "curated_by"}
    for parent, nested in _NESTED_MODELS.items():
        if parent in names:
            names |= {f"{parent}.{child}" for child in nested.model_fields}
    return names


class TableSpec(BaseModel):
    """How the rows of a `table` source (CSV, JSON, XLSX) become records."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "json", "xlsx"] | None = Field(
        None, description="default: from the URL's extension, the Content-Type, then the bytes"
    )
    columns: dict[str, str | None] = Field(
        default_factory=dict,
        description="column -> record field (dotted: provider.name, min_amount.currency; id: "
        "the row's stable key); null ignores a column; columns named like a field map to it",
    )
    path: str | None = Field(None, description="JSON: dotted path to the array, e.g. data.items")
    sheet: str | None = Field(None, description="XLSX: sheet name (default: the first sheet)")
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="CSV: default sniffed"
    )


class SourceSpec(BaseModel):
    """A source is data: built-in YAML, a CLI-imported file and an agency's POST validate here."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(description="<country>_<publisher>_<topic>: lowercase letters, digits, _")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    format: Literal[SOURCE_FORMATS]  # type: ignore[valid-type]
    start_urls: list[str] = Field(min_length=1)
    follow: FollowSpec | None = None
    selectors: SelectorSpec | None = None
    table: TableSpec | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = Field(None, description="cron expression, UTC")
    min_items: int = Field(1, ge=0)
    owner: str | None = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _SOURCE_ID_RE.match(v):
            raise ValueError(
                "must be 3-80 characters of lowercase letters, digits and '_', "
                "starting with a letter or digit (e.g. de_example_fairs)"
            )
        return v

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if url.startswith("file://"):
                continue
            try:
                AnyHttpUrl(url)
            except ValidationError as exc:
                raise ValueError(f"{url!r} is not an http(s) or file:// URL") from exc
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = v.split()
        if len(parts) != 5:
            raise ValueError(f"cron expression {v!r} must have 5 fields (min hour day month dow)")
        return v

    @field_validator("defaults")
    @classmethod
    def _defaults(cls, v: dict[str, Any]) -> dict[str, Any]:
        allowed = (
            set(FairRecord.model_fields)
            | set(RequirementRecord.model_fields)
            | set(FinanceRecord.model_fields)
        )
        allowed -= PROVENANCE_FIELDS | {"id", "kind", "source_id"}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown record field(s) in defaults: {', '.join(unknown)}")
        problem = language_problem(v.get("language"))
        if problem:  # records would drop it without a word
            raise ValueError(f"language: {problem}")
        return v

    @field_validator("table")
    @classmethod
    def _table(cls, v: TableSpec | None, info: ValidationInfo) -> TableSpec | None:
        if v is None:
            return None
        fmt, kind = info.data.get("format"), info.data.get("kind")
        if fmt is not None and fmt != "table":
            raise ValueError(f"table options apply to format 'table', not {fmt!r}")
        if kind in KINDS:
            known = source_field_names(kind) | {"id"}
            for column, target in v.columns.items():
                if target and target not in known:
                    raise ValueError(
                        f"column {column!r} maps to {target!r}, which is not a field of "
                        f"{kind} records"
                    )
        return v

    @model_validator(mode="after")
    def _format_needs(self) -> SourceSpec:
        if self.format == "html" and self.selectors is None:
            raise ValueError("format 'html' needs 'selectors' (item and fields)")
        return self


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the field path: what a user needs to fix a source file."""
    lines = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
        if parts and parts[0] in KINDS:  # the discriminated union's tag is not a field
            parts = parts[1:]
        loc = ".".join(parts)
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc or '(top level)'}: {msg}")
    return "\n".join(lines)
