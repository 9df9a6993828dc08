"""Source models: a source is data, whatever registered it (built-in file, CLI, agency API)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from search_api.domain.languages import language_problem
from search_api.domain.records import (
    KINDS,
    PROVENANCE_FIELDS,
    FairRecord,
    FairStats,
    FinanceRecord,
    Kind,
    Money,
    Provider,
    RequirementRecord,
)

SOURCE_FORMATS = ("schema_org", "ical", "feed", "html", "table", "pdf", "curated")

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
