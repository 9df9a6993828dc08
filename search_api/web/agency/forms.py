"""The curated-record form of the agency pages: which fields each kind shows, and the mapping
between posted form fields and a record body for `services/records.py`.

Fields are data, so one template renders every kind; a dotted name (`provider.name`) reaches
into an object of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from search_api.domain.i18n import N_
from search_api.domain.vocab import (
    FAIR_STATUSES,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_STATUSES,
    REQUIREMENT_TYPES,
    SECTORS,
)


@dataclass(frozen=True)
class Field:
    name: str  # a dot reaches into an object: provider.name
    label: str  # an English msgid, translated where the form is shown
    type: str = "text"  # text | textarea | url | date | number | list | select | multi | bool
    options: tuple[str, ...] = ()


COMMON_FIELDS = (
    Field("title", N_("Title")),
    Field("summary", N_("Summary"), "textarea"),
    Field("url", N_("Official page (URL)"), "url"),
    Field("language", N_("Language (e.g. en)")),
    Field("markets", N_("Markets (ISO codes or blocs, comma-separated)"), "list"),
    Field("sectors", N_("Sectors"), "multi", SECTORS),
    Field("hs_codes", N_("HS codes (comma-separated)"), "list"),
    Field("as_of", N_("Facts as of"), "date"),
    Field("evidence_url", N_("Evidence: the public page that states these facts (URL)"), "url"),
    Field("checked_on", N_("Checked against that page on"), "date"),
)
KIND_FIELDS: dict[str, tuple[Field, ...]] = {
    "fair": (
        Field("start_date", N_("Starts"), "date"),
        Field("end_date", N_("Ends"), "date"),
        Field("registration_deadline", N_("Exhibitors register until"), "date"),
        Field("status", N_("Status"), "select", FAIR_STATUSES),
        Field("online", N_("Online"), "bool"),
        Field("venue", N_("Venue")),
        Field("city", N_("City")),
        Field("country", N_("Country (ISO code)")),
        Field("organiser", N_("Organiser")),
        Field(
            "frequency", N_("Frequency"), "select", ("annual", "biennial", "twice_yearly", "other")
        ),
        Field("audience", N_("Audience"), "select", ("trade", "public", "mixed")),
        Field("scope", N_("Scope"), "select", ("international", "national", "regional")),
    ),
    "requirement": (
        Field("requirement_type", N_("Type"), "select", REQUIREMENT_TYPES),
        Field("authority", N_("Authority")),
        Field("legal_reference", N_("Legal reference")),
        Field("status", N_("Status"), "select", REQUIREMENT_STATUSES),
        Field("published_date", N_("Published"), "date"),
        Field("effective_date", N_("In force from"), "date"),
        Field("comment_deadline", N_("Comments until"), "date"),
        Field("origins", N_("Applies to goods from (ISO codes)"), "list"),
    ),
    "finance": (
        Field("provider.name", N_("Provider")),
        Field("provider.type", N_("Provider type"), "select", PROVIDER_TYPES),
        Field("instruments", N_("Instruments"), "multi", FINANCE_INSTRUMENTS),
        Field("eligible_exporter_countries", N_("Exporters from (ISO codes)"), "list"),
        Field("destinations", N_("Destinations (ISO codes)"), "list"),
        Field("sme_focus", N_("Aimed at SMEs"), "bool"),
        Field("coverage_pct_max", N_("Highest cover (%)"), "number"),
        Field("min_amount.value", N_("Smallest amount"), "number"),
        Field("min_amount.currency", N_("… currency (e.g. USD)")),
        Field("max_amount.value", N_("Largest amount"), "number"),
        Field("max_amount.currency", N_("… currency (e.g. USD)")),
        Field("tenor_max_days", N_("Longest tenor (days)"), "number"),
        Field("access_channel", N_("Access"), "select", ("direct", "partner_bank", "broker")),
        Field("application_url", N_("Where to apply (URL)"), "url"),
    ),
}


def record_from_form(form: FormData, kind: str) -> dict[str, Any]:
    """Form fields to a record body; an empty field says nothing (the default applies)."""
    data: dict[str, Any] = {"kind": kind}
    for f in fields_of(kind):
        value: Any
        if f.type == "multi":
            value = [str(v) for v in form.getlist(f.name)] or None
        elif f.type == "bool":
            value = True if form.get(f.name) else None
        else:
            value = str(form.get(f.name) or "").strip() or None
            if value and f.type == "list":
                value = [p.strip() for p in value.split(",") if p.strip()]
        if value is None:
            continue
        head, _, sub = f.name.partition(".")
        if sub:
            data.setdefault(head, {})[sub] = value
        else:
            data[head] = value
    return data


def form_values(record: dict[str, Any]) -> dict[str, Any]:
    """A record (JSON) as form values, the inverse of `record_from_form`."""
    values: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                values[f"{key}.{sub}"] = "" if v is None else v
        else:
            values[key] = value
    return values


def posted_values(form: FormData, kind: str) -> dict[str, Any]:
    """What the user typed, to show the form again after an error."""
    values: dict[str, Any] = {k: form.get(k) for k in form if k != "csrf_token"}
    for f in fields_of(kind):
        if f.type == "multi":
            values[f.name] = [str(v) for v in form.getlist(f.name)]
    return values


def fields_of(kind: str) -> tuple[Field, ...]:
    return (*COMMON_FIELDS, *KIND_FIELDS[kind])


# The labels of a kind's fields where a source maps them (the source form, the preview).
RECORD_FIELD_LABELS: dict[str, dict[str, str]] = {
    kind: {f.name: f.label for f in fields_of(kind)} for kind in KIND_FIELDS
}
