"""The source form of the agency pages, derived from the source models.

Each format's model (crawlers/formats/, registered as a plugin) is the one description of its
options: this module walks it to list the form's fields, so a new format gets a form without a
template of its own. A field's widget follows its type (a choice of literals is a select, a
list of strings one line each, a nested model its fields); a mapping marked `RECORD_FIELD_MAP`
shows one input per record field of the source's kind. What the form does not show (rare
options, nested structures with no simple widget) stays in an "advanced" YAML box, so editing
a source through the form keeps every setting it had.

Pure functions: posted values -> a source (a dict for `parse_source`), a source -> form values,
validation errors -> the form fields they belong to. Labels are English msgids translated where
the form is shown.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from search_api.domain.i18n import N_
from search_api.domain.records import RECORD_MODELS
from search_api.domain.sources import (
    SourceSpec,
    parse_source,
    source_field_names,
    source_formats,
)
from search_api.domain.vocab import SECTORS
from search_api.domain.yaml_input import YamlInputError, load_yaml

Widget = Literal[
    "text", "number", "select", "checkbox", "lines", "mapping", "record_fields",
    "record_columns", "yaml", "multi",
]  # fmt: skip


@dataclass(frozen=True)
class FormField:
    name: str  # the dotted path in the source: selectors.item, defaults.markets
    label: str  # English msgid
    widget: Widget
    help: str | None = None  # English msgid or the model's description
    options: tuple[str, ...] = ()
    required: bool = False
    record_fields: tuple[str, ...] = ()  # for record_fields / record_columns: the kind's fields


@dataclass
class FieldError:
    field: str  # a FormField's name, or "" for the form as a whole
    kind: str  # pydantic's error type (missing, value_error, ...), or our own
    message: str  # English, as the model says it
    ctx: dict[str, Any] = dataclass_field(default_factory=dict)


# Labels and help of the options every source has, and of the known formats' options. A format
# added later still gets a form: its options are labelled by their path and described by the
# model's own descriptions.
LABELS: dict[str, tuple[str, str | None]] = {
    "id": (
        N_("Identifier"),
        N_("country_publisher_topic: lowercase letters, digits and _ (e.g. ke_epc_fairs)"),
    ),
    "name": (N_("Name"), None),
    "names.fr": (N_("Name in French"), N_("Shown on the French pages; empty: the name above.")),
    "names.es": (N_("Name in Spanish"), N_("Shown on the Spanish pages; empty: the name above.")),
    "kind": (N_("Kind of records"), None),
    "format": (N_("Format"), None),
    "start_urls": (N_("Start URLs"), N_("One http(s) address per line.")),
    "follow.allow": (
        N_("Follow links matching"),
        N_("Regular expressions, one per line: links to follow from the start pages."),
    ),
    "follow.deny": (N_("Never follow links matching"), N_("Regular expressions, one per line.")),
    "follow.max_pages": (N_("Most pages per crawl"), None),
    "defaults.language": (
        N_("Language of the records"),
        N_("ISO 639-1 code (en, fr, es) when the pages do not say."),
    ),
    "defaults.markets": (
        N_("Markets"),
        N_(
            "ISO country codes or blocs, comma-separated, for records that name none (e.g. KE, EU)."
        ),
    ),
    "defaults.sectors": (N_("Sectors"), N_("For records that name none.")),
    "defaults.hs_codes": (N_("HS codes"), N_("Comma-separated (e.g. 0901, 090121).")),
    "schedule": (
        N_("Schedule (cron, UTC)"),
        N_(
            "Five fields: minute hour day-of-month month day-of-week. '30 2 * * 1' is every "
            "Monday at 02:30 UTC; '0 6 * * *' every day at 06:00 UTC. Empty: crawled only when "
            "you press Crawl now."
        ),
    ),
    "min_items": (N_("Fewest records a run must find"), N_("A run finding fewer fails.")),
    "date_order": (
        N_("How the publisher writes numeric dates"),
        N_("MDY for US sites (7/3/2027 is 3 July); default: day first."),
    ),
    "time_zone": (
        N_("Publisher's time zone"),
        N_("IANA name, e.g. Africa/Nairobi; default: dates as written."),
    ),
    "enabled": (N_("Crawl on its schedule"), None),
    "defaults_yaml": (
        N_("Other defaults (YAML)"),
        N_("Any other record field, e.g. organiser: Kenya EPC"),
    ),
    "advanced": (
        N_("Advanced settings (YAML)"),
        N_("Settings the form does not show; the README lists every one."),
    ),
    # html
    "selectors.item": (
        N_("Item selector"),
        N_("CSS (or XPath) selecting each item on a page: one record per match, e.g. div.event"),
    ),
    "selectors.fields": (
        N_("Field selectors (within an item)"),
        N_("CSS inside the item, e.g. h2::text, a::attr(href). Fill at least the title."),
    ),
    "selectors.next": (
        N_("Next page selector"),
        N_("e.g. a.next::attr(href); empty: one page."),
    ),
    "selectors.detail": (
        N_("Field selectors on each item's own page"),
        N_("Read on the page the item's url field links to; leave empty if not needed."),
    ),
    # table
    "table.format": (N_("File type"), N_("Default: from the address, then the content.")),
    "table.columns": (
        N_("Columns"),
        N_("The publisher's column name for each field; columns named like a field map to it."),
    ),
    "table.path": (N_("JSON: path to the rows"), N_("Dotted path to the array, e.g. data.items")),
    "table.sheet": (N_("Sheet (XLSX)"), N_("Default: the first sheet.")),
    "table.delimiter": (N_("Delimiter (CSV)"), N_("One character; default: detected.")),
    "table.encoding": (N_("Encoding"), N_("e.g. cp1252; default: UTF-8, else Windows-1252.")),
    "table.header_row": (N_("Header row"), N_("The row holding the column names (1 = first).")),
    # api
    "api.method": (N_("HTTP method"), None),
    "api.records": (
        N_("Records path (JMESPath)"),
        N_("Where the list of records is in the response, e.g. data.items"),
    ),
    "api.fields": (
        N_("Field expressions (JMESPath)"),
        N_("For each field, its place within one record, e.g. attributes.title"),
    ),
    "api.key": (N_("Stable key (JMESPath)"), N_("Default: the record's url, then its title.")),
    "api.params": (N_("Query parameters"), N_("One per line: name: value")),
    "api.headers": (N_("Request headers"), N_("One per line: Name: value")),
    # feed
    "feed.keep": (
        N_("Keep entries matching"),
        N_("Regular expressions, one per line; default: every entry."),
    ),
    "feed.drop": (N_("Drop entries matching"), N_("Regular expressions, one per line.")),
    "feed.reference": (
        N_("Legal reference pattern"),
        N_("A regular expression, e.g. CELEX[:=](\\w+)"),
    ),
}

# Shown by the form itself, in this order, whatever the format; the format's options follow
# `start_urls`.
COMMON_HEAD = ("id", "name", "names.fr", "names.es", "kind", "format", "start_urls")
COMMON_TAIL = (
    "follow.allow",
    "follow.deny",
    "follow.max_pages",
    "defaults.language",
    "defaults.markets",
    "defaults.sectors",
    "defaults.hs_codes",
    "defaults_yaml",
    "schedule",
    "min_items",
    "date_order",
    "time_zone",
    "enabled",
)
DEFAULT_FIELDS = {
    "language": "text",
    "markets": "list",
    "sectors": "multi",
    "hs_codes": "list",
}


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _widget(annotation: Any) -> tuple[Widget, tuple[str, ...]] | None:
    """The widget of a type with a simple one, else None (shown as YAML)."""
    ann, _ = _strip_optional(annotation)
    origin = get_origin(ann)
    if origin is Literal or origin is typing.Literal:
        return "select", tuple(str(a) for a in get_args(ann))
    if ann is bool:
        return "checkbox", ()
    if ann in (int, float):
        return "number", ()
    if ann is str:
        return "text", ()
    if origin is list and get_args(ann) == (str,):
        return "lines", ()
    if origin is dict:
        key, value = get_args(ann)
        value, _ = _strip_optional(value)
        if key is str and value is str:
            return "mapping", ()
    return None


def ordered_record_fields(kind: str) -> tuple[str, ...]:
    """The record fields a source may fill for `kind`, in the record model's order (nested
    ones after their parent)."""
    names = source_field_names(kind)
    out: list[str] = []
    for name in RECORD_MODELS[kind].model_fields:
        if name in names:
            children = sorted(n for n in names if n.startswith(f"{name}."))
            out.extend(children or [name])
    return tuple(out)


def _option_fields(model: type[BaseModel], prefix: str, kind: str) -> list[FormField]:
    """The form fields of a format's options model (and of the models nested in it)."""
    out: list[FormField] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        label, help_ = LABELS.get(path, (path, None))
        help_ = help_ or info.description
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        hint = extra.get("form")
        if hint in ("record_fields", "record_columns"):
            widget: Widget = "record_fields" if hint == "record_fields" else "record_columns"
            out.append(
                FormField(
                    path,
                    label,
                    widget,
                    help_,
                    required=info.is_required(),
                    record_fields=ordered_record_fields(kind),
                )
            )
            continue
        ann, _ = _strip_optional(info.annotation)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(_option_fields(ann, path, kind))
            continue
        found = _widget(info.annotation)
        if found is None:
            out.append(FormField(path, label, "yaml", help_))
        else:
            out.append(FormField(path, label, found[0], help_, found[1], info.is_required()))
    return out


def format_options(format_name: str) -> list[str]:
    """The top-level option names a format adds to every source's."""
    model = source_formats()[format_name].source
    return [n for n in model.model_fields if n not in SourceSpec.model_fields]


def form_fields(format_name: str, kind: str) -> list[FormField]:
    """Every field of the form for a source of this format and kind, in display order."""
    formats = source_formats()
    model = formats[format_name].source
    common: dict[str, FormField] = {}
    for path in COMMON_HEAD + COMMON_TAIL:
        label, help_ = LABELS.get(path, (path, None))
        head, _, sub = path.partition(".")
        widget: Widget
        options: tuple[str, ...] = ()
        if path == "kind":
            widget, options = "select", tuple(RECORD_MODELS)
        elif path == "format":
            widget, options = "select", tuple(formats)
        elif path == "defaults_yaml":
            widget = "yaml"
        elif head == "defaults":
            typ = DEFAULT_FIELDS[sub]
            widget = "multi" if typ == "multi" else "text"
            options = SECTORS if typ == "multi" else ()
        elif head == "follow":
            widget = "number" if sub == "max_pages" else "lines"
        elif head == "names":
            widget = "text"
        else:
            found = _widget(model.model_fields[path].annotation)
            assert found is not None, path
            widget, options = found
        required = path in ("id", "name", "kind", "format", "start_urls")
        common[path] = FormField(path, label, widget, help_, options, required)
    fields = [common[p] for p in COMMON_HEAD]
    for name in format_options(format_name):
        info = model.model_fields[name]
        ann, _ = _strip_optional(info.annotation)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            fields.extend(_option_fields(ann, name, kind))
        else:
            label, help_ = LABELS.get(name, (name, info.description))
            found = _widget(info.annotation)
            widget, options = found if found else ("yaml", ())
            fields.append(FormField(name, label, widget, help_, options, info.is_required()))
    # A setting the format refuses (a PDF's time_zone) is no field of its form.
    fields.extend(common[p] for p in COMMON_TAIL if p not in model.MEANINGLESS)
    label, help_ = LABELS["advanced"]
    fields.append(FormField("advanced", label, "yaml", help_))
    return fields


# --------------------------------------------------------------------------- values


def dump_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _get(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _pop(data: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        data.pop(head, None)
        return
    inner = data.get(head)
    if isinstance(inner, dict):
        _pop(inner, rest)
        if not inner:
            data.pop(head)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        data[head] = value
        return
    inner = data.setdefault(head, {})
    if isinstance(inner, dict):
        _set(inner, rest, value)


def form_values(source: Mapping[str, Any]) -> dict[str, Any]:
    """A source (as JSON) as form values: what the form shows when editing it. Whatever no
    field shows goes into the advanced YAML, so saving the form keeps it."""
    fmt = source.get("format")
    kind = source.get("kind")
    if fmt not in source_formats() or kind not in RECORD_MODELS:
        return {"advanced": dump_yaml(dict(source))}
    # A deep copy: the fields shown are taken out of it, the source itself stays whole. A
    # setting its format refuses (a PDF's time_zone, kept by a source saved before the refusal)
    # never changed what was read: left out, or any edit of the source would be refused.
    refused = source_formats()[str(fmt)].source.MEANINGLESS
    rest: dict[str, Any] = copy.deepcopy(
        {k: v for k, v in source.items() if v is not None and k not in refused}
    )
    values: dict[str, Any] = {}
    for f in form_fields(str(fmt), str(kind)):
        if f.name in ("advanced", "defaults_yaml"):
            continue
        value = _get(rest, f.name)
        _pop(rest, f.name)
        if value is None:
            continue
        if f.widget == "lines":
            values[f.name] = "\n".join(str(v) for v in value)
        elif f.widget == "mapping":
            values[f.name] = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif f.widget == "record_fields":
            for k, v in value.items():
                values[f"{f.name}.{k}"] = v
        elif f.widget == "record_columns":
            for column, target in value.items():
                if target:
                    values[f"{f.name}.{target}"] = column
                else:  # an ignored column: only YAML says that
                    _set(rest, f"{f.name}", {**(_get(rest, f.name) or {}), column: None})
        elif f.widget == "yaml":
            values[f.name] = dump_yaml(value)
        elif f.name in ("defaults.markets", "defaults.hs_codes"):
            values[f.name] = ", ".join(value) if isinstance(value, list) else str(value)
        elif f.widget == "checkbox":
            values[f.name] = bool(value)
        else:
            values[f.name] = value
    # An unchecked box posts nothing: a source silent on `enabled` is enabled.
    values.setdefault("enabled", True)
    defaults = rest.pop("defaults", None)
    if defaults:
        values["defaults_yaml"] = dump_yaml(defaults)
    for key in ("follow",):
        if rest.get(key) == {}:
            rest.pop(key)
    if rest:
        values["advanced"] = dump_yaml(rest)
    return values


class FormProblems(Exception):
    """What the posted form could not say (a number that is not one, YAML that does not
    parse), by field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def source_from_form(
    form: Mapping[str, Any], getlist: Any = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Posted form values (the names of `form_fields`) to a source dict for `parse_source`,
    and what the form could not say (a number that is not one), by field: the fields read
    fine are in the dict, so their own problems can be shown at the same time. An empty field
    says nothing (the model's default applies). `getlist(name)` gives a field's several values
    (checkboxes)."""
    fmt = str(form.get("format") or "")
    kind = str(form.get("kind") or "")
    if fmt not in source_formats() or kind not in RECORD_MODELS:
        missing = [
            FieldError(name, "missing", "Field required")
            for name, ok in (("format", fmt in source_formats()), ("kind", kind in RECORD_MODELS))
            if not ok
        ]
        raise FormProblems(missing)
    data: dict[str, Any] = {}
    advanced: dict[str, Any] = {}
    problems: list[FieldError] = []
    for f in form_fields(fmt, kind):
        raw = form.get(f.name)
        text = str(raw).strip() if raw is not None else ""
        value: Any = None
        if f.widget == "checkbox":
            if f.name == "enabled" or raw is not None:
                value = raw is not None and text not in ("", "0", "false")
        elif f.widget == "multi":
            chosen = [str(v) for v in (getlist(f.name) if getlist else [])]
            value = chosen or None
        elif f.widget == "record_fields":
            mapping = {
                name: str(form.get(f"{f.name}.{name}") or "").strip() for name in f.record_fields
            }
            value = {k: v for k, v in mapping.items() if v} or None
        elif f.widget == "record_columns":
            mapping = {
                str(form.get(f"{f.name}.{name}") or "").strip(): name for name in f.record_fields
            }
            value = {k: v for k, v in mapping.items() if k} or None
        elif not text:
            value = None
        elif f.widget == "number":
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    problems.append(FieldError(f.name, "number", f"{text!r} is not a number"))
        elif f.widget == "lines":
            value = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.widget == "mapping":
            value = {}
            for line in text.splitlines():
                if not line.strip():
                    continue
                key, sep, val = line.partition(":")
                if not sep or not key.strip():
                    problems.append(FieldError(f.name, "mapping", f"{line!r}: write name: value"))
                    break
                value[key.strip()] = val.strip()
        elif f.widget == "yaml":
            try:
                value = load_yaml(text, max_bytes=64_000)
            except YamlInputError as exc:
                problems.append(FieldError(f.name, "yaml", f"not valid YAML: {exc}"))
                continue
            if f.name in ("advanced", "defaults_yaml") and not isinstance(value, dict):
                problems.append(FieldError(f.name, "yaml", "expected name: value lines"))
                continue
        elif f.name in ("defaults.markets", "defaults.hs_codes"):
            value = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        else:
            value = text
        if value is None:
            continue
        if f.name == "advanced":
            advanced = value  # merged last, under what the form's own fields say
            continue
        if f.name == "defaults_yaml":
            _set(data, "defaults", {**value, **(data.get("defaults") or {})})
            continue
        _set(data, f.name, value)
    return _merge(advanced, data), problems


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def field_errors(exc: ValidationError, names: Iterable[str]) -> list[FieldError]:
    """A source's validation errors, each on the form field it concerns (the longest field
    name its location starts with), else on the form as a whole."""
    known = sorted(names, key=len, reverse=True)
    formats = set(source_formats())
    out = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
        if parts and parts[0] in formats:  # the discriminated union's tag
            parts = parts[1:]
        loc = ".".join(parts)
        message = err["msg"].removeprefix("Value error, ")
        target = next((n for n in known if loc == n or loc.startswith(n + ".")), "")
        if not target and parts:
            # A mapping's own validator names the entry first: "title: ..." under api.fields.
            head = message.split(":", 1)[0]
            target = next((n for n in known if n == f"{loc}.{head}"), "")
        out.append(FieldError(target, err["type"], message, dict(err.get("ctx") or {})))
    return out


def validate_form_source(
    data: dict[str, Any], names: Iterable[str], already: list[FieldError] | None = None
) -> list[FieldError]:
    """The problems `parse_source` finds in a source from the form, by field, after those the
    form itself found (`already`); a field left out for its own problem is not also said to
    be missing."""
    problems = list(already or [])
    try:
        parse_source(data)
    except ValidationError as exc:
        seen = {p.field for p in problems}
        problems += [e for e in field_errors(exc, names) if e.field not in seen]
    return problems
