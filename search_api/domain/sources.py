"""Source models: a source is data, whatever registered it (built-in file, CLI, agency API).

`SourceSpec` holds what every source has; each format adds its options in its own model
(crawlers/formats/), and `parse_source` validates a source against its format's model.
"""

from __future__ import annotations

import functools
import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

from search_api.domain.cron import parse_cron
from search_api.domain.languages import UI_LANGUAGES, language_problem
from search_api.domain.records import (
    KINDS,
    PROVENANCE_FIELDS,
    RECORD_MODELS,
    SYSTEM_FIELDS,
    FairStats,
    Kind,
    Money,
    Provider,
)

_SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]{2,79}$")
# `${NAME}` in a source names a secret, read at crawl time from TRADEPOINT_SECRET_<NAME>.
SECRET_REF = re.compile(r"\$\{([A-Za-z0-9_]*)\}")
SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
SECRET_ENV_PREFIX = "TRADEPOINT_SECRET_"
NOT_REQUEST_FIELDS = frozenset({"name", "names", "tested_with", "defaults"})
"""Source fields never sent to the source: a `${...}` in them is text, not a secret."""

# Form hints on a format's options (the agency form is built from the models): a mapping
# keyed by record field (field -> expression), or by the publisher's column (column -> field).
RECORD_FIELD_MAP: dict[str, Any] = {"form": "record_fields"}
RECORD_COLUMN_MAP: dict[str, Any] = {"form": "record_columns"}

# The post-run assertions' defaults (zavod's habit: a source carries its own bounds).
DEFAULT_MAX_DROP_RATIO = 0.5
DEFAULT_DROP_MIN_PREVIOUS = 10
DEFAULT_WITHDRAW_AFTER_MISSES = 3


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


_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "provider": Provider,
    "min_amount": Money,
    "max_amount": Money,
    "stats": FairStats,
}


def source_field_names(kind: str) -> set[str]:
    """Record fields a source may fill for `kind`; nested ones dotted (provider.name)."""
    model = RECORD_MODELS[kind]
    names = set(model.model_fields) - PROVENANCE_FIELDS
    names -= {"id", "kind", "source_id", "source_url", "curated_by"}
    for parent, nested in _NESTED_MODELS.items():
        if parent in names:
            names |= {f"{parent}.{child}" for child in nested.model_fields}
    return names


SOURCE_NAME_LANGUAGE = "en"
"""The language of a source's `name`; `names` gives it in the site's other languages."""


class SourceSpec(BaseModel):
    """What every source has, whatever its format. Each format (a module of crawlers/formats/,
    registered as a `tradepoint.formats` entry point) subclasses this with
    `format: Literal["its name"]` and its own options; `parse_source` picks the subclass."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(description="<country>_<publisher>_<topic>: lowercase letters, digits, _")
    name: str = Field(min_length=1, max_length=200)
    names: dict[str, str] | None = Field(
        None,
        description="the name in the site's other languages, by language code "
        "({fr: ..., es: ...}): shown on pages in that language; `name` elsewhere",
    )
    kind: Kind
    format: str = Field(description="The format's name: schema_org, ical, feed, html, ...")
    start_urls: list[str] = Field(min_length=1)
    follow: FollowSpec | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    date_order: Literal["DMY", "MDY", "YMD"] | None = Field(
        None,
        description="how the publisher writes all-numeric dates: MDY for US sources (7/3/2014 "
        "is 3 July); default: day first unless impossible (not for ical: its dates are year "
        "first)",
    )
    time_zone: str | None = Field(
        None,
        description="IANA time zone the publisher's instants mean (America/New_York): "
        "2021-02-10T04:59:59Z is then 9 February; default: the date as written (not for pdf: "
        "a document's dates have no time)",
    )
    schedule: str | None = Field(
        None,
        description="cron expression, UTC: minute hour day-of-month month day-of-week "
        "(30 2 * * 1 is Mondays at 02:30 UTC)",
    )
    min_items: int = Field(1, ge=0, description="a run yielding fewer records fails")
    max_drop_ratio: float = Field(
        DEFAULT_MAX_DROP_RATIO,
        ge=0,
        le=1,
        description="a run losing more than this share of the previous successful run's "
        "records fails (1: never)",
    )
    drop_min_previous: int = Field(
        DEFAULT_DROP_MIN_PREVIOUS,
        ge=0,
        description="the drop check applies once the previous run had this many records",
    )
    withdraw_after_misses: int = Field(
        DEFAULT_WITHDRAW_AFTER_MISSES,
        ge=0,
        description="records missing from this many successful runs in a row are withdrawn "
        "(0: never, for sources that publish a moving window of recent items)",
    )
    tested_with: str | None = Field(
        None,
        max_length=300,
        description="how the source is tested: 'real response <file>' or 'documented shape'",
    )
    owner: str | None = None
    enabled: bool = True

    MEANINGLESS: ClassVar[dict[str, str]] = {}
    """Settings of every source that cannot mean anything for this format (setting name -> why,
    ending the sentence "... means nothing for format X:"): refused when set, not ignored."""

    @model_validator(mode="before")
    @classmethod
    def _a_format_model(cls, data: Any) -> Any:
        # A bare SourceSpec would have no options of its format; only parse_source picks the
        # model that a source's `format` names.
        if cls is SourceSpec:
            raise TypeError("validate a source with parse_source(), not SourceSpec")
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _SOURCE_ID_RE.match(v):
            raise ValueError(
                "must be 3-80 characters of lowercase letters, digits and '_', "
                "starting with a letter or digit (e.g. de_example_fairs)"
            )
        return v

    @field_validator("names")
    @classmethod
    def _names(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return None
        others = [lang for lang in UI_LANGUAGES if lang != SOURCE_NAME_LANGUAGE]
        out: dict[str, str] = {}
        for lang, name in v.items():
            if lang not in others:
                raise ValueError(
                    f"{lang!r} is not a language of the site's pages: use "
                    f"{' or '.join(others)} (the English name is `name`)"
                )
            text = name.strip()
            if not text or len(text) > 200:
                raise ValueError(f"{lang}: a name of 1 to 200 characters")
            out[lang] = text
        return out or None

    def name_in(self, lang: str) -> str:
        """The source's name on a page in `lang`: its `names` entry, else `name`."""
        return (self.names or {}).get(lang) or self.name

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

    def _secret_refs(self) -> list[str]:
        # What people read (names, the test notes, the records' defaults) may show "${...}"
        # as text: it names no secret, so it neither needs one set nor must be well formed.
        return secret_refs(self.model_dump(mode="json", exclude=set(NOT_REQUEST_FIELDS)))

    @model_validator(mode="after")
    def _secret_names(self) -> SourceSpec:
        for ref in self._secret_refs():
            if not SECRET_NAME.match(ref):
                raise ValueError(
                    f"secret reference ${{{ref}}}: a secret's name is upper-case letters, digits "
                    f"and '_' (read from {SECRET_ENV_PREFIX}NAME)"
                )
        return self

    def secrets(self) -> list[str]:
        """Names of the secrets the source references as `${NAME}`, each read at crawl time
        from TRADEPOINT_SECRET_<NAME>; the spec itself stores only the reference."""
        return sorted(set(self._secret_refs()))

    @field_validator("date_order", "time_zone")
    @classmethod
    def _meaningful(cls, v: str | None, info: ValidationInfo) -> str | None:
        why = cls.MEANINGLESS.get(str(info.field_name))
        # A source saved before its format refused the setting stays readable; it never
        # changed what the format read.
        if v is None or why is None or (info.context or {}).get(STORED):
            return v
        fmt = cls.model_fields["format"].default
        raise ValueError(f"means nothing for format {fmt!r}: {why}; remove it")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}: use an IANA name such as America/New_York or UTC"
            ) from None
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or (info.context or {}).get(STORED):
            return v
        parse_cron(v)  # the grammar the scheduler runs (domain/cron.py)
        return v

    @field_validator("defaults")
    @classmethod
    def _defaults(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        system = sorted(set(v) & SYSTEM_FIELDS)
        if system:
            raise ValueError(f"{system[0]}: set by Tradepoint, not by a source")
        kind = info.data.get("kind")  # declared before `defaults`: validated already
        model = RECORD_MODELS.get(kind) if isinstance(kind, str) else None
        allowed = (
            set(model.model_fields)
            if model
            else set().union(*(m.model_fields for m in RECORD_MODELS.values()))
        )
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown record field(s) in defaults: {', '.join(unknown)}")
        problem = language_problem(v.get("language"))
        if problem:  # records would drop it without a word
            raise ValueError(f"language: {problem}")
        if model is not None:
            _check_defaults(model, v)
        return v


def _check_defaults(model: type[BaseModel], defaults: dict[str, Any]) -> None:
    """Refuse defaults a record could not hold (`markets: 5`) now, not at every crawl.

    A default may be part of a value whose rest each item gives (`provider: {type: bank}` with
    `provider.name` read per item), so a missing part is not an error here."""
    try:
        model.model_validate({"id": "x", "title": "x", "source_id": "x", **defaults})
    except ValidationError as exc:
        for err in exc.errors():
            if err["loc"] and err["loc"][0] in defaults and err["type"] != "missing":
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


def secret_refs(value: Any) -> list[str]:
    """Every `${NAME}` in the strings of `value` (nested dicts and lists included)."""
    found: list[str] = []
    if isinstance(value, str):
        found += SECRET_REF.findall(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += secret_refs(key) + secret_refs(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += secret_refs(item)
    return found


def missing_secrets(spec: SourceSpec, environ: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables (TRADEPOINT_SECRET_<NAME>) the source needs and that are unset."""
    env = os.environ if environ is None else environ
    return [
        f"{SECRET_ENV_PREFIX}{name}"
        for name in spec.secrets()
        if not env.get(f"{SECRET_ENV_PREFIX}{name}")
    ]


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the field path: what a user needs to fix a source file."""
    lines = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
        # A discriminated union's tag (a record's kind, a source's format) is not a field.
        if parts and (parts[0] in KINDS or parts[0] in _FORMAT_TAGS):
            parts = parts[1:]
        loc = ".".join(parts)
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc or '(top level)'}: {msg}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- formats


@dataclass(frozen=True)
class SourceFormat:
    """A source format, as a module of crawlers/formats/ registers it."""

    name: str
    source: type[SourceSpec]
    """The format's source model: SourceSpec with `format: Literal[name]` and its options."""
    reads: str
    """One line for people: what the format reads (the README's table of formats)."""
    parse: Callable[..., Iterable[Any]]
    """The crawler's side: turns one fetched page into items and requests."""
    start_requests: Callable[..., Iterable[Any]] | None = None
    """The requests for one start URL, `(url, spider)`; default: a GET of the URL. A format
    whose requests need a method, headers or a body (an API) builds them here."""
    amends_stored: Callable[[Any], bool] | None = None
    """Whether a source's records amend the stored ones (filled from them where silent) rather
    than replace them: an API listing addenda of notifications it no longer lists."""


FORMATS_GROUP = "tradepoint.formats"
_FORMAT_TAGS: set[str] = set()


@cache
def source_formats() -> dict[str, SourceFormat]:
    """Every registered format by name. Formats are plugins (the `tradepoint.formats` entry
    point group): the crawlers register theirs, so this package needs no import of them."""
    found: dict[str, SourceFormat] = {}
    for ep in entry_points(group=FORMATS_GROUP):
        for fmt in ep.load():
            if fmt.name in found:
                raise RuntimeError(f"source format {fmt.name!r} is registered twice")
            found[fmt.name] = fmt
    _FORMAT_TAGS.update(found)
    return dict(sorted(found.items()))


@cache
def _adapter() -> TypeAdapter[Any]:
    models = [f.source for f in source_formats().values()]
    if not models:
        raise RuntimeError(
            f"no source format is registered (entry point group {FORMATS_GROUP!r}): "
            "install the project (pip install -e .)"
        )
    # The union of the registered models, known only at run time.
    union: Any = functools.reduce(operator.or_, models)
    return TypeAdapter(Annotated[union, Field(discriminator="format")])


STORED = "stored"
"""Validation context of a source read back from the store: checks added after it was saved
(a schedule the scheduler cannot run) do not make it unreadable; the scheduler reports it."""


def parse_source(data: Any, *, stored: bool = False) -> SourceSpec:
    """A source in the model of its format; a ValidationError names each bad field.

    `stored`: a source read back from the system of record (see STORED)."""
    formats = source_formats()
    if isinstance(data, dict) and data.get("format") not in formats:
        given = data.get("format")
        names = [repr(name) for name in formats]
        # Worded as pydantic words a wrong literal, as every other choice of a source is.
        choices = f"{', '.join(names[:-1])} or {names[-1]}"
        message = (
            f"Input should be {choices}" if given is not None else f"Field required: {choices}"
        )
        raise ValidationError.from_exception_data(
            "SourceSpec",
            [
                {
                    "type": "value_error",
                    "loc": ("format",),
                    "input": given,
                    "ctx": {"error": message},
                }
            ],
        )
    if isinstance(data, dict):
        _refuse_other_formats_options(data, formats)
    source: SourceSpec = _adapter().validate_python(data, context={STORED: stored})
    return source


def _refuse_other_formats_options(data: dict[str, Any], formats: dict[str, SourceFormat]) -> None:
    # Said plainly: "extra inputs are not permitted" would not tell whose option it is.
    own = formats[data["format"]].source.model_fields
    for key in data:
        if key in own:
            continue
        owner = next((f for f in formats.values() if key in f.source.model_fields), None)
        if owner is not None:
            message = f"{key} options apply to format {owner.name!r}, not {data['format']!r}"
            raise ValidationError.from_exception_data(
                "SourceSpec",
                [
                    {
                        "type": "value_error",
                        "loc": (key,),
                        "input": data[key],
                        "ctx": {"error": message},
                    }
                ],
            )


def source_schema() -> dict[str, Any]:
    """The JSON schema of a source, every format's options included (OpenAPI)."""
    return _adapter().json_schema()
