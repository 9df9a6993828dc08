"""Record fields from the raw values a source gave: table cells, selector matches, CSV columns.

Every format that reads free-form values (html, table, feed categories, curated CSV) comes
through here, so "Kenya, Uganda", "Credit insurance", "HS 19, 20" or "USD 1.5 million" mean the
same thing whatever the format. Kind-specific fields are checked against the vocabularies.

Two modes. Lenient (crawled sources): a value that cannot be read is left out and reported as a
problem, and the rest of the record is kept. Strict (curated files, kept by hand): the value is
kept as written, so that validation fails the record and names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawlers.extract.language import language_code, language_problem
from crawlers.normalise.countries import to_country
from crawlers.normalise.dates import DateReading
from crawlers.normalise.sectors import map_sectors
from crawlers.normalise.text import clean_text
from crawlers.normalise.urls import canonicalise
from crawlers.normalise.values import (
    markets_of,
    parse_amount,
    parse_days,
    parse_hs,
    parse_month,
    parse_number,
    split_list,
)
from crawlers.normalise.vocab_map import map_choice, parse_bool
from search_api.domain.markets import resolve_market
from search_api.domain.sources import source_field_names

__all__ = ["DATE_FIELDS", "LIST_FIELDS", "Coerced", "coerce_fields", "field_names"]

_TEXT_MAX = {
    "title": 500,
    "summary": 5000,
    "authority": 500,
    "legal_reference": 500,
    "venue": 300,
    "city": 200,
    "organiser": 300,
}
_URL_FIELDS = frozenset({"url", "application_url", "evidence_url"})
DATE_FIELDS = frozenset(
    {
        "start_date",
        "end_date",
        "registration_deadline",
        "published_date",
        "effective_date",
        "comment_deadline",
        "as_of",
        "checked_on",
    }
)
_MARKET_LISTS = frozenset({"markets", "eligible_exporter_countries", "destinations", "origins"})
LIST_FIELDS = _MARKET_LISTS | {"sectors", "hs_codes", "instruments"}
_CHOICES = {"requirement_type", "access_channel", "audience", "scope", "frequency"}
_BOOLS = frozenset({"sme_focus", "online"})


def field_names(kind: str) -> set[str]:
    """Names a source may fill for records of `kind`, nested ones dotted (provider.name)."""
    return source_field_names(kind)


@dataclass
class Coerced:
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """"field: what is wrong" for values that could not be read (reported as run errors)."""
    unmapped: list[str] = field(default_factory=list)
    """Names the record has no field for, and free words no vocabulary term matched."""


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(_empty(v) for v in value)
    return False


def _scalar(value: object) -> object:
    """One value from what may be several matches (text nodes of one cell)."""
    if isinstance(value, list | tuple):
        parts = [v for v in value if not _empty(v)]
        if len(parts) == 1:
            return parts[0]
        return " ".join(str(v).strip() for v in parts)
    return value


class _Coercer:
    def __init__(
        self,
        kind: str,
        base_url: str | None,
        strict: bool,
        reading: DateReading,
    ) -> None:
        self.kind = kind
        self.base_url = base_url
        self.strict = strict
        self.reading = reading
        self.allowed = field_names(kind)
        self.out = Coerced()

    def problem(self, name: str, message: str) -> None:
        self.out.problems.append(f"{name}: {message}")

    def failed(self, name: str, raw: object, message: str) -> object:
        """Strict: keep the raw value for validation to reject; lenient: leave it out."""
        if self.strict:
            return raw
        self.problem(name, message)
        return None

    def set(self, name: str, value: object) -> None:
        if value is None or value == []:
            return
        if "." in name:
            parent, child = name.split(".", 1)
            nested = self.out.values.get(parent)
            if not isinstance(nested, dict):
                nested = {}
                self.out.values[parent] = nested
            nested[child] = value
        else:
            self.out.values[name] = value

    def add(self, name: str, raw: object) -> None:
        name = name.strip()
        if _empty(raw):
            return
        if name not in self.allowed:
            self.out.unmapped.append(name)
            return
        self.set(name, self.read(name, raw))

    def read(self, name: str, raw: object) -> object:
        if name in LIST_FIELDS:
            return self.read_list(name, raw)
        value = _scalar(raw)
        text = str(value).strip()
        if name in _TEXT_MAX or name == "text":
            return clean_text(value, _TEXT_MAX.get(name))
        if name in _URL_FIELDS:
            first = split_list(raw)[0] if isinstance(raw, list | tuple) else text
            url = canonicalise(first, self.base_url)
            return url or self.failed(name, text, f"{text!r} is not an http(s) URL")
        if name in DATE_FIELDS:
            date, wrong_order = self.reading.read(value)
            if wrong_order and self.strict:
                # Kept for validation to reject, which could not say that the order is why.
                self.problem(name, wrong_order)
                return text
            if wrong_order:
                return self.failed(name, text, wrong_order)
            return date or self.failed(name, text, f"cannot read {text!r} as a date")
        if name == "country":
            code = to_country(text)
            return code or self.failed(name, text, f"unknown country {text!r}")
        if name in _CHOICES or name == "status" or name == "provider.type":
            vocab = f"{self.kind}.status" if name == "status" else name
            if vocab == "finance.status":
                return self.failed(name, text, "finance records have no status")
            choice = map_choice(vocab, text)
            return choice or self.failed(name, text, f"cannot map {text!r} to a known value")
        if name == "provider":
            return {"name": clean_text(value, 300)} if not isinstance(value, dict) else value
        if name == "provider.name":
            return clean_text(value, 300)
        if name in ("min_amount", "max_amount"):
            amount = parse_amount(text) if not isinstance(value, dict) else value
            return amount or self.failed(
                name, text, f"cannot read {text!r} as an amount with a currency"
            )
        if name.endswith(".currency"):
            code = text.upper()
            if len(code) == 3 and code.isalpha():
                return code
            return self.failed(name, text, f"{text!r} is not a 3-letter currency code")
        if name in _BOOLS:
            flag = parse_bool(value)
            return flag if flag is not None else self.failed(name, text, f"{text!r} is not yes/no")
        if name == "tenor_max_days":
            days = parse_days(value)
            return days if days is not None else self.failed(name, text, f"cannot read {text!r}")
        if name == "usual_month":
            month = parse_month(value)
            return month or self.failed(name, text, f"{text!r} is not a month")
        if name == "language":
            problem = language_problem(text)
            if problem is None:
                return language_code(text)
            # Said even in strict mode, and the value left out: records take an unreadable tag
            # as no language rather than failing on it, so validation would pass it in silence.
            self.problem(name, problem)
            return None
        number = parse_number(value)  # coverage_pct_max, *.value, stats.*
        if number is None:
            return self.failed(name, text, f"{text!r} is not a number")
        return int(number) if name.startswith("stats.") else number

    def read_list(self, name: str, raw: object) -> list[str]:
        if name in _MARKET_LISTS and isinstance(raw, str) and "," in raw:
            # One country's name with a comma in it ("Korea, Republic of"), before a list.
            whole = resolve_market(raw)
            if whole:
                return [whole]
        items = split_list(raw)
        out: list[str] = []
        if name in _MARKET_LISTS:
            for item in items:
                codes, bad = markets_of(item)
                out += codes
                for value in bad:
                    kept = self.failed(name, value, f"unknown country or market {value!r}")
                    if kept:
                        out.append(str(kept))
        elif name == "sectors":
            mapped, unknown = map_sectors(items)
            out += mapped
            if self.strict:
                out += unknown
            else:
                self.out.unmapped += [f"sectors: {word}" for word in unknown]
        elif name == "hs_codes":
            codes, bad = parse_hs(items)
            out += codes
            for value in bad:
                kept = self.failed(name, value, f"{value!r} is not an HS code")
                if kept:
                    out.append(str(kept))
        elif name == "instruments":
            for item in items:
                choice = map_choice("instruments", item)
                if choice is None:
                    kept = self.failed(name, item, f"unknown instrument {item!r}")
                    choice = str(kept) if kept else None
                if choice:
                    out.append(choice)
        return list(dict.fromkeys(out))


def coerce_fields(
    raw: Mapping[str, Any],
    kind: str,
    *,
    base_url: str | None = None,
    strict: bool = False,
    reading: DateReading | None = None,
) -> Coerced:
    """Record fields of `kind` from `raw` (field name, possibly dotted -> raw value).

    Empty values are silence (source `defaults` may fill them); names the record does not have
    go to `unmapped`. `reading` is how the source writes its dates (its date_order, time_zone).
    """
    coercer = _Coercer(kind, base_url, strict, reading or DateReading())
    for name, value in raw.items():
        coercer.add(str(name), value)
    return coercer.out
