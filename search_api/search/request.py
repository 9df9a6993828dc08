"""One search as a person asks for it, validated once: from a query string, a web form, a
saved search or a subscription body to the backend's `SearchQuery`, and back to URL parameters.

Type errors (a page that is not a number) are pydantic errors, which the app answers with 422;
a well-typed value that means nothing (an unknown market, an HS code that does not exist) is an
`InvalidParameter` (400). Either way the message names the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from search_api.domain import glossary, products
from search_api.domain import markets as mk
from search_api.domain.hs_sectors import searched_sectors
from search_api.domain.languages import language_code
from search_api.domain.records import KINDS, MAX_RECORD_DATE, MIN_RECORD_DATE
from search_api.domain.vocab import (
    FAIR_STATUSES,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_STATUSES,
    SECTORS,
)
from search_api.errors import InvalidParameter
from search_api.search.base import MAX_QUERY_TERMS, MAX_RESULT_WINDOW, Phrase, SearchQuery

STATUSES: tuple[str, ...] = (*FAIR_STATUSES, *REQUIREMENT_STATUSES, "withdrawn")
DEFAULT_CURRENCY = "USD"
DEFAULT_SIZE = 20
MAX_DAYS_AHEAD = 730


class UserQuery(SearchQuery):
    """A SearchQuery plus what the user asked before expansion, to explain matches.
    Backends see a plain SearchQuery (markets already include blocs and members)."""

    asked_markets: tuple[str, ...] = Field((), description="Markets as asked, not expanded.")
    asked_origin: str | None = Field(None, description="The exporter's country as asked.")


def _split(value: Any) -> Any:
    # Query strings repeat a parameter or join values with commas ("DE,FR"); JSON gives lists.
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(p.strip() for v in value for p in str(v).split(",") if p.strip())
    return value


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _in_vocabulary(name: str, values: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    out = _unique([v.lower() for v in values])
    for v in out:
        if v not in allowed:
            raise InvalidParameter(f"{name}: unknown value {v!r}; use one of {', '.join(allowed)}")
    return out


def resolve_market(name: str, value: str) -> str:
    code = mk.resolve_market(value)
    if code is None:
        raise InvalidParameter(
            f"{name}: unknown market {value!r}; use an ISO 3166-1 code, a country name "
            "(English, French or Spanish) or a bloc code such as EU"
        )
    return code


def resolve_origin(value: str | None) -> str | None:
    """The exporter's country from what a user typed; an error naming `origin` otherwise."""
    if value is None or not value.strip():
        return None
    code = mk.resolve_market(value)
    if code is None:
        raise InvalidParameter(
            f"origin: unknown country {value!r}; use an ISO 3166-1 code or a country name"
        )
    if mk.is_bloc(code):
        raise InvalidParameter(f"origin: {value!r} is a bloc; give the exporter's country")
    return code


def resolve_hs(value: str | None) -> str | None:
    """A code of the HS nomenclature (2, 4 or 6 digits; dots and spaces ignored), or an error
    naming `hs`: the one rule of the API, the web pages and saved searches."""
    if value is None or not value.strip():
        return None
    code = products.normalise_code(value)
    if code is None:
        raise InvalidParameter(f"hs: {value!r} is not an HS code (2, 4 or 6 digits)")
    if products.describe(code) is None:
        raise InvalidParameter(f"hs: {code} is not a code of the HS nomenclature")
    return code


def expand_text(q: str | None) -> tuple[tuple[Phrase, ...], ...]:
    """The words of `q` as the backends search them (SearchQuery.text): stop words of the three
    languages left out, and each word or phrase the glossary knows (domain/glossary.py) also
    found through its concept, which records naming it in English, French or Spanish are
    tagged with. Precomputed maps: a few stemmer calls and dict lookups per word (tens of
    microseconds per query), and one more term per concept at search time."""
    out = []
    for group in glossary.expand(q, MAX_QUERY_TERMS):
        if group.languages is None:
            phrases = [Phrase(words=group.words)]
        else:
            phrases = [Phrase(words=group.words, language=lang) for lang in group.languages]
        if group.concept:
            phrases.append(Phrase(concept=group.concept))
        out.append(tuple(phrases))
    return tuple(out)


def _list_field(name: str, description: str, *aliases: str) -> Any:
    # Every name a field accepts is listed, its own included, so no `populate_by_name`.
    return Field(
        (),
        validation_alias=AliasChoices(name, *aliases) if aliases else None,
        description=description,
    )


class SearchRequest(BaseModel):
    """The parameters of a search, as the API's query string names them."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    # How messages name a field, as its callers know it (the query string's names).
    NAMES: ClassVar[dict[str, str]] = {"language": "lang"}

    q: str | None = Field(None, max_length=500, description="Words to search for.")
    kind: tuple[str, ...] = _list_field("kind", "fair, requirement or finance (may repeat)")
    market: tuple[str, ...] = _list_field(
        "market", "ISO 3166-1 code, country name (en/fr/es) or bloc such as EU", "markets"
    )
    sector: tuple[str, ...] = _list_field("sector", "Sector from the vocabulary", "sectors")
    status: tuple[str, ...] = _list_field("status", "Record status, e.g. cancelled")
    language: tuple[str, ...] = _list_field(
        "language", "Language of the records: ISO 639 code such as fr (may repeat)", "lang"
    )
    hs: str | None = Field(None, max_length=12, description="HS code (2, 4 or 6 digits)")
    # Bounded: the index cannot represent far-off dates, and no record has them.
    date_from: date | None = Field(
        None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE, description="YYYY-MM-DD"
    )
    date_to: date | None = Field(
        None, ge=MIN_RECORD_DATE, le=MAX_RECORD_DATE, description="YYYY-MM-DD"
    )
    page: int = Field(1, ge=1, le=10_000)
    size: int = Field(DEFAULT_SIZE, ge=0, le=100)
    sort: Literal["relevance", "date", "-date"] | None = None
    instrument: tuple[str, ...] = _list_field(
        "instrument", "Finance instrument, e.g. credit_insurance"
    )
    provider_type: tuple[str, ...] = _list_field("provider_type", "Finance provider type, e.g. eca")
    origin: str | None = Field(
        None,
        max_length=100,
        description="Exporter's country (code or name): finance open to its exporters "
        "(eligible countries include it or one of its blocs, or are not restricted)",
    )
    sme_focus: bool | None = Field(
        None, description="true: finance for SMEs; false: not SME-specific"
    )
    amount_min: float | None = Field(None, ge=0, description="Finance amounts overlapping")
    amount_max: float | None = Field(None, ge=0)
    currency: str | None = Field(
        None, max_length=3, description="ISO 4217 code of amount_min/max (default USD)"
    )

    # ------------------------------------------------------------------ validation

    @field_validator(
        "kind",
        "market",
        "sector",
        "status",
        "language",
        "instrument",
        "provider_type",
        mode="before",
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("q", "origin", "currency", "hs", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = _unique([k.lower() for k in value])
        for k in out:
            if k not in KINDS:
                raise InvalidParameter(f"kind: unknown kind {k!r}; use one of {', '.join(KINDS)}")
        return out

    @classmethod
    def name_of(cls, field: str) -> str:
        return cls.NAMES.get(field, field)

    @field_validator("market")
    @classmethod
    def _market(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _unique([resolve_market(cls.name_of("market"), m) for m in value])

    @field_validator("sector")
    @classmethod
    def _sector(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = _unique([s.lower() for s in value])
        for s in out:
            if s not in SECTORS:
                raise InvalidParameter(f"{cls.name_of('sector')}: unknown sector {s!r}")
        return out

    @field_validator("status")
    @classmethod
    def _status(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = _unique([s.lower() for s in value])
        for s in out:
            if s not in STATUSES:
                raise InvalidParameter(
                    f"status: unknown status {s!r}; use one of {', '.join(STATUSES)}"
                )
        return out

    @field_validator("language")
    @classmethod
    def _language(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for v in value:
            code = language_code(v)
            if code is None:
                raise InvalidParameter(
                    f"{cls.name_of('language')}: unknown language {v!r}; "
                    "use an ISO 639 code such as fr"
                )
            out.append(code)
        return _unique(out)

    @field_validator("hs")
    @classmethod
    def _hs(cls, value: str | None) -> str | None:
        return resolve_hs(value)

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _in_vocabulary("instrument", value, FINANCE_INSTRUMENTS)

    @field_validator("provider_type")
    @classmethod
    def _provider_type(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _in_vocabulary("provider_type", value, PROVIDER_TYPES)

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        return resolve_origin(value)

    @field_validator("amount_min", "amount_max")
    @classmethod
    def _finite(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and not math.isfinite(value):
            raise InvalidParameter(f"{info.field_name}: must be a number of 0 or more")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise InvalidParameter(f"currency: {value!r} is not an ISO 4217 code such as USD")
        return code

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidParameter("date_to: must not be before date_from")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise InvalidParameter(
                f"page: page * size must not exceed {MAX_RESULT_WINDOW}; refine the search"
            )
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_min > self.amount_max
        ):
            raise InvalidParameter("amount_max: must not be below amount_min")
        return self

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]], *, ignore: Sequence[str] = ()) -> Self:
        """From a query string as lists of values per name (`ignore`: names that mean
        something else where the request came, such as the web pages' own `lang`)."""
        raw: dict[str, Any] = {}
        for name, values in params.items():
            if name in ignore or name not in PARAMS:
                continue
            raw[name] = list(values) if name in LIST_PARAMS else values[-1]
        return cls.model_validate(raw)

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Self:
        """From values by field name (another request's fields), validated like any input."""
        return cls.model_validate({_input_name(cls, k): v for k, v in fields.items()})

    def replace(self, **changes: Any) -> Self:
        """A copy with some parameters (by field name) changed, validated like any request."""
        return self.from_fields({**self.model_dump(exclude_defaults=True), **changes})

    # ------------------------------------------------------------------ use

    @property
    def effective_sort(self) -> str:
        sort = self.sort or ("relevance" if self.q else "date")
        return "date" if sort == "relevance" and not self.q else sort

    def to_query(self, today: date | None = None, **changes: Any) -> UserQuery:
        """The backend query; `changes` set SearchQuery fields directly (facets, size...).
        `today` matters to saved searches, whose date windows are relative."""
        origins = mk.expand_all([self.origin]) if self.origin else ()
        statuses = tuple(s for s in self.status if s != "withdrawn")
        currency = self.currency
        if self.amount_min is not None or self.amount_max is not None or currency:
            currency = currency or DEFAULT_CURRENCY
        fields: dict[str, Any] = {
            "q": self.q,
            # French and Spanish words find English records, and the other way round
            "text": expand_text(self.q),
            "kind": self.kind,
            # a country also finds its blocs' rules; a bloc also finds its members' records
            "markets": mk.expand_all(list(self.market)),
            "asked_markets": self.market,
            "sectors": self.sector,
            "status": statuses,
            "include_withdrawn": "withdrawn" in self.status,
            "languages": self.language,
            "hs": self.hs,
            # fairs carry sectors, not HS codes: a product keeps the fairs of its sectors
            "hs_sectors": searched_sectors(self.hs),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "sort": self.effective_sort,
            "page": self.page,
            "size": self.size,
            "instruments": self.instrument,
            "provider_types": self.provider_type,
            "origins": origins,
            "asked_origin": self.origin,
            "sme_focus": self.sme_focus,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "currency": currency,
        }
        fields.update(changes)
        try:
            return UserQuery(**fields)
        except ValidationError as exc:  # a change given by the caller, not the user's input
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise InvalidParameter(f"{where}: {err['msg']}") from exc

    def to_params(self, *, records_language: str = "language") -> list[tuple[str, str]]:
        """The request as (parameter, value) pairs in a stable order, for links: web pages
        name the records' language `language` (their own is `lang`), the API `lang`."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        for name in ("kind", "market", "sector", "status", "instrument", "provider_type"):
            pairs += [(name, v) for v in getattr(self, name)]
        pairs += [(records_language, v) for v in self.language]
        for name in ("origin", "sme_focus", "amount_min", "amount_max", "currency"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, str(value)))
        for name in ("hs", "date_from", "date_to", "sort"):
            if getattr(self, name):
                pairs.append((name, str(getattr(self, name))))
        if self.size != DEFAULT_SIZE:
            pairs.append(("size", str(self.size)))
        return pairs


def _input_name(model: type[BaseModel], name: str) -> str:
    """The first name a field accepts as input (its validation alias, else its name)."""
    alias = model.model_fields[name].validation_alias if name in model.model_fields else None
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return first if isinstance(first, str) else name
    return alias if isinstance(alias, str) else name


def _is_list(field: Any) -> bool:
    return getattr(field.annotation, "__origin__", None) is tuple


LIST_PARAMS: frozenset[str] = frozenset(
    name for name, f in SearchRequest.model_fields.items() if _is_list(f)
) | {"markets", "sectors", "lang"}
PARAMS: frozenset[str] = frozenset(SearchRequest.model_fields) | LIST_PARAMS
"""Every query-string name a search reads (LIST_PARAMS: those that may repeat)."""
API_PARAM_NAMES: dict[str, str] = {"language": "lang"}
"""Query-string names of the API where they differ from the field's (the DESIGN's `lang`)."""


def openapi_parameters(model: type[BaseModel] = SearchRequest) -> list[dict[str, Any]]:
    """The query parameters of a search endpoint for the OpenAPI document (routes declare
    them with `openapi_extra`, since they read the query string through this one model)."""
    schema = model.model_json_schema()
    out = []
    for name, prop in schema["properties"].items():
        field = model.model_fields.get(name)
        public = API_PARAM_NAMES.get(name, name)
        param: dict[str, Any] = {"name": public, "in": "query", "required": False, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        if field is not None and _is_list(field):
            param.update(style="form", explode=True)
        out.append(param)
    return out


# --------------------------------------------------------------------------- saved searches


class SavedSearch(SearchRequest):
    """What a subscription or a webhook watches: a search plus its date window. Validated
    once when subscribing; run again on each day's index (relative windows move with the
    calendar). Stored as `as_json()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    NAMES: ClassVar[dict[str, str]] = {"market": "markets", "sector": "sectors", "language": "lang"}

    q: str | None = Field(None, max_length=200, description="Words to search for.")
    kind: tuple[str, ...] = Field(
        ("fair",), description="fair, requirement or finance (default: fair)"
    )
    market: tuple[str, ...] = Field(
        (),
        validation_alias=AliasChoices("markets", "market"),
        description="ISO codes, country names or blocs",
    )
    sector: tuple[str, ...] = Field(
        (), validation_alias=AliasChoices("sectors", "sector"), description="Sectors"
    )
    # `lang` only: in a subscription's body `language` is the language of its emails.
    language: tuple[str, ...] = Field(
        (), validation_alias=AliasChoices("lang"), description="Language of the records"
    )
    days_ahead: int | None = Field(
        None, ge=1, le=MAX_DAYS_AHEAD, description="Relative window: from today, N days ahead."
    )

    @field_validator("kind")
    @classmethod
    def _default_kind(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return value or ("fair",)

    @model_validator(mode="after")
    def _one_window(self) -> Self:
        if self.days_ahead is not None and (self.date_from or self.date_to):
            raise InvalidParameter(
                "days_ahead: give either days_ahead or date_from/date_to, not both"
            )
        return self

    def window(self, today: date) -> tuple[date | None, date | None]:
        """The dates searched on `today`: relative windows move with the calendar."""
        if self.days_ahead is not None:
            return today, today + timedelta(days=self.days_ahead)
        if self.date_from or self.date_to:
            return self.date_from, self.date_to
        return today, None  # upcoming: a fair still running today counts

    def to_query(self, today: date | None = None, **changes: Any) -> UserQuery:
        today = today or date.today()
        date_from, date_to = self.window(today)
        fields: dict[str, Any] = {
            "date_from": date_from,
            "date_to": date_to,
            "sort": "date",
            "page": 1,
            "size": 100,
            "facets": False,
        }
        fields.update(changes)
        return super().to_query(today, **fields)

    def search_on(self, today: date) -> SearchRequest:
        """The plain search this saved search runs on `today` (for links to the web page)."""
        date_from, date_to = self.window(today)
        data = self.model_dump(exclude={"days_ahead", "date_from", "date_to", "page", "size"})
        return SearchRequest.model_validate({**data, "date_from": date_from, "date_to": date_to})

    def as_json(self) -> dict[str, Any]:
        """The stored and shown form: the JSON body it was created from, normalised."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"page", "size"})
        data["kind"] = list(self.kind)
        out = {self.name_of(k): v for k, v in data.items()}
        out.setdefault("markets", [])
        out.setdefault("sectors", [])
        return out


Adjust = Callable[[SearchRequest], SearchRequest]
