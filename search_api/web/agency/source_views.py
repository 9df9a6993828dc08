"""What the agency source pages show, in the page's language: validation errors next to their
field, the preview as a table of every mapped field, the cause of a failed run, times with
their zone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from search_api.domain.i18n import N_
from search_api.domain.source_form import FieldError, ordered_record_fields

Translate = Callable[..., str]

# Our validators' own messages (search_api/domain/sources.py and the formats), by their start:
# said again in the page's language, with the English detail where it names a value.
_VALUE_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^must be 3-80 characters"),
        N_("3 to 80 lowercase letters, digits and _, e.g. ke_epc_fairs."),
    ),
    (re.compile(r"is not an http\(s\)"), N_("Only http(s) addresses: %(detail)s")),
    (
        re.compile(r"must have 5 fields"),
        N_(
            "A schedule has five fields: minute hour day-of-month month day-of-week "
            "(e.g. 30 2 * * 1)."
        ),
    ),
    (
        re.compile(r"^unknown time zone"),
        N_("Unknown time zone: use an IANA name such as Africa/Nairobi."),
    ),
    (re.compile(r"invalid regular expression"), N_("Not a valid regular expression: %(detail)s")),
    (re.compile(r"^format '\w+' needs"), N_("This format needs its own settings: %(detail)s")),
    (re.compile(r"^means nothing for format"), N_("This format has no use for this: %(detail)s")),
    (
        re.compile(r"^language:"),
        N_("Unknown language: use an ISO 639-1 code such as en, fr or es."),
    ),
    (re.compile(r"already exists"), N_("That identifier is taken: choose another.")),
]


def explain(error: FieldError, _: Translate) -> str:
    """One field's problem, said in the page's language."""
    detail = error.message
    kind = error.kind
    if kind in ("missing", "string_too_short", "too_short"):
        return _("Required.")
    if kind in ("number", "int_parsing", "float_parsing", "int_type", "int_from_float"):
        return _("Enter a number.")
    if kind == "mapping":
        return _("Write one “name: value” per line: %(detail)s", detail=detail)
    if kind == "yaml":
        return _("Not valid YAML: %(detail)s", detail=detail.removeprefix("not valid YAML: "))
    if kind == "literal_error":
        return _("Choose one of: %(choices)s", choices=error.ctx.get("expected", ""))
    if kind in ("greater_than_equal", "greater_than"):
        return _("At least %(n)s.", n=error.ctx.get("ge", error.ctx.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _("At most %(n)s.", n=error.ctx.get("le", error.ctx.get("lt", "")))
    for pattern, msgid in _VALUE_ERRORS:
        if pattern.search(detail):
            return _(msgid, detail=detail)
    return _("Not accepted: %(detail)s", detail=detail)


def errors_from_message(message: str, names: list[str]) -> list[FieldError]:
    """A service's error message (`loc: problem; loc: problem`) split onto the form's fields."""
    known = sorted(names, key=len, reverse=True)
    out = []
    for part in message.split("; "):
        loc, sep, problem = part.partition(": ")
        target = ""
        if sep:
            target = next((n for n in known if loc == n or loc.startswith(n + ".")), "")
        out.append(FieldError(target, "value_error", problem if target else part))
    return out


# --------------------------------------------------------------------------- times


def fmt_utc(value: str | datetime | None) -> str:
    """A stored instant (UTC) as people read it, its zone said: 2026-12-07 19:15 UTC."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment:%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------- preview


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = v
        else:
            out[key] = value
    return out


def preview_table(preview: dict[str, Any], kind: str) -> dict[str, Any]:
    """The preview's records as a table: a column for each field at least one record filled,
    in the record model's order; the fields no record filled (unmapped); the fields pages had
    that nothing mapped."""
    order = ordered_record_fields(kind)
    rows = [_flat(r) for r in preview.get("records", [])]
    filled = {k for row in rows for k, v in row.items() if v not in (None, "", [], {})}
    columns = [name for name in order if name in filled]
    return {
        "columns": columns,
        "rows": [[_cell(row.get(c)) for c in columns] for row in rows],
        "unfilled": [name for name in order if name not in filled],
        "found_unmapped": sorted(preview.get("unmapped") or {}),
    }


def preview_warnings(
    preview: dict[str, Any], min_items: int, max_pages: int, _: Translate
) -> list[str]:
    count = int(preview.get("count", len(preview.get("records", []))))
    warnings = []
    if count == 0:
        warnings.append(_("No records found: check the start URLs, the format and the selectors."))
    elif count < min_items:
        warnings.append(
            _(
                "%(count)s records in the first pages, fewer than the %(min)s a run must find; "
                "a full crawl may find more, or fail.",
                count=count,
                min=min_items,
            )
        )
    if preview.get("pages", 0) >= max_pages:
        warnings.append(
            _("The preview stopped after %(n)s pages; a crawl reads more.", n=max_pages)
        )
    if preview.get("failed"):
        warnings.append(
            _("%(n)s items could not become records (see the errors).", n=preview["failed"])
        )
    return warnings


# --------------------------------------------------------------------------- run failures


def cause_text(cause: dict[str, Any] | None, _: Translate) -> str | None:
    """A run's failure cause (services/health.failure_cause), said in the page's language."""
    if not cause:
        return None
    url = cause.get("url") or ""
    kind = cause.get("kind")
    if kind == "http":
        return _("%(url)s answered HTTP %(status)s.", url=url, status=cause.get("status"))
    if kind == "private_host":
        return _(
            "%(url)s was refused: it is a private or local address, which crawls may not reach.",
            url=url,
        )
    if kind == "robots":
        return _("%(url)s is disallowed by the site's robots.txt.", url=url)
    if kind == "timeout":
        return _("%(url)s did not answer in time.", url=url)
    if kind == "dns":
        return _("The host of %(url)s was not found (DNS).", url=url)
    if kind == "connection":
        return _("%(url)s refused the connection.", url=url)
    if kind == "parse":
        return _("%(url)s could not be read: %(detail)s", url=url, detail=cause.get("detail"))
    if kind == "min_items":
        return _(
            "The pages were read but yielded %(count)s records (fewer than %(min)s); the "
            "selectors or the format may not match the pages.",
            count=cause.get("count"),
            min=cause.get("min"),
        )
    if url:
        return _("%(url)s: %(detail)s", url=url, detail=cause.get("detail"))
    return str(cause.get("detail") or "")


# What each format reads, for the first step of adding a source; a format added later is
# described by its own `reads` line.
FORMAT_HELP: dict[str, str] = {
    "html": N_("Web pages: you give CSS selectors for each item and its fields."),
    "schema_org": N_(
        "Web pages that describe events in schema.org (JSON-LD, microdata): read as they are; "
        "you say which links to follow."
    ),
    "ical": N_("An iCalendar feed (.ics) of events."),
    "feed": N_("An RSS or Atom feed; keep or drop entries by pattern."),
    "table": N_("A CSV, JSON or Excel file: you say which column is which field."),
    "api": N_("A JSON API: the path to the records and a JMESPath expression for each field."),
    "pdf": N_("PDF documents, or a page linking to them: one record per document."),
    "curated": N_("A YAML or CSV file of records in Tradepoint's own fields."),
}
