"""Typed values from the text of one cell: lists, markets, HS codes, numbers and amounts.

Pure functions that never raise; each returns what it could read and, where it matters,
what it could not, so that the caller can report it on the run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from crawlers.normalise.countries import to_country
from crawlers.normalise.dates import parse_date
from search_api.domain.markets import resolve_market
from search_api.domain.records import MAX_AMOUNT
from search_api.domain.vocab import BLOCS

__all__ = [
    "hs_from_category",
    "market_code",
    "markets_of",
    "parse_amount",
    "parse_days",
    "parse_hs",
    "parse_month",
    "parse_number",
    "split_list",
]

_SPLIT = re.compile(r"\s*[,;|\n\r]+\s*|\s+[•·]\s+")
_AND = re.compile(r"\s+(?:and|et|y|und|&)\s+", re.IGNORECASE)


def split_list(value: object) -> list[str]:
    """ "Kenya, Uganda; Tanzania" -> three values; lists are flattened; blanks dropped."""
    if value is None:
        return []
    items: Iterable[object] = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        for part in _SPLIT.split(str(item)):
            part = part.strip().strip(".").strip()
            if part and part not in out:
                out.append(part)
    return out


def market_code(text: str) -> str | None:
    """ISO alpha-2 or bloc code for a code or a country name (English, French, Spanish)."""
    raw = text.strip()
    if not raw:
        return None
    if raw.upper() in BLOCS:
        return raw.upper()
    if raw.upper() in ("UK", "GB"):
        return "GB"
    # A bloc written out ("European Union", "Union européenne") is a market too.
    return to_country(raw) or resolve_market(raw)


def markets_of(value: str) -> tuple[list[str], list[str]]:
    """Codes for one list element; "Kenya and Uganda" is two markets, "Trinidad and Tobago"
    one: the whole phrase is tried before the conjunction splits it."""
    code = market_code(value)
    if code:
        return [code], []
    parts = _AND.split(value)
    if len(parts) > 1:
        codes = [market_code(p) for p in parts]
        if all(codes):
            return [c for c in codes if c], []
    return [], [value]


# "HS 19, 20", "H.S. code 0901.11", "SH 09", "chapters 01-24"
_HS_PREFIX = re.compile(
    r"^\s*(?:h\.?\s?s\.?|s\.?h\.?|hts|harmon[iy][sz]ed system)"
    r"(?:\s*(?:codes?|chapters?|headings?|sub-?headings?|chapitres?))?\s*[:#]?\s*(?=\d)",
    re.IGNORECASE,
)
_HS_WORDS = re.compile(
    r"\b(?:h\.?\s?s\.?|s\.?h\.?|hts|codes?|chapters?|headings?|sub-?headings?|chapitres?|"
    r"cap[ií]tulos?|partidas?|and|et|y|to|a|au)\b|[:#]",
    re.IGNORECASE,
)
_HS_RANGE = re.compile(r"\b(\d{2})\s*(?:-|–|to|a|au)\s*(\d{2})\b")
_HS_TOKEN = re.compile(r"\d+(?:\.\d{2})*")


def parse_hs(value: object) -> tuple[list[str], list[str]]:
    """(HS 2/4/6-digit codes, parts that are not codes). Chapter ranges "01-05" expand;
    national tariff lines (8-10 digits) keep their 6-digit subheading."""
    codes: list[str] = []
    bad: list[str] = []
    for part in split_list(value):

        def expand(m: re.Match[str]) -> str:
            low, high = int(m.group(1)), int(m.group(2))
            if 1 <= low < high <= 99:
                codes.extend(f"{n:02d}" for n in range(low, high + 1) if f"{n:02d}" not in codes)
                return " "
            return m.group(0)

        text = _HS_WORDS.sub(" ", _HS_RANGE.sub(expand, part))
        if _HS_TOKEN.sub(" ", text).strip(" -–."):
            bad.append(part)
            continue
        for token in (t.replace(".", "") for t in _HS_TOKEN.findall(text)):
            if len(token) in (8, 10):
                token = token[:6]
            if len(token) in (2, 4, 6):
                if token not in codes:
                    codes.append(token)
            elif part not in bad:
                bad.append(part)
    return codes, bad


def hs_from_category(text: str) -> list[str] | None:
    """HS codes from a category that says it holds some ("HS 19, 20"); None for other words,
    so that a category "2027" is never read as a code."""
    if not _HS_PREFIX.match(text):
        return None
    codes, bad = parse_hs(text)
    return codes if codes and not bad else None


def parse_number(value: object) -> float | None:
    """ "1,500,000", "1.500.000", "1 500 000", "1.5", "1,5", 90 -> a float."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _plausible(float(value))
    text = str(value).strip().replace("\u00a0", " ").replace("\u202f", " ")
    m = re.search(r"\d[\d\s.,']*", text)
    if not m:
        return None
    raw = re.sub(r"[\s']", "", m.group(0)).rstrip(".,")
    if "," in raw and "." in raw:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        raw = raw.replace(thousands, "").replace(decimal, ".")
    elif raw.count(",") + raw.count(".") > 0:
        sep = "," if "," in raw else "."
        groups = raw.split(sep)
        # one separator followed by exactly three digits is a thousands separator
        if len(groups) > 2 or (len(groups) == 2 and len(groups[1]) == 3):
            raw = raw.replace(sep, "")
        else:
            raw = raw.replace(sep, ".")
    try:
        return _plausible(float(raw))
    except ValueError:
        return None


def _plausible(number: float) -> float | None:
    # A 400-digit amount is a slip (or an attack), not a figure: unreadable, like any other.
    return number if math.isfinite(number) and abs(number) <= MAX_AMOUNT else None


_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₦": "NGN", "₵": "GHS"}
_SCALE = (
    (re.compile(r"\b(?:bn|billions?|milliards?|mil millones)\b", re.I), 1e9),
    (re.compile(r"\d\s*(?:m|mn|mio)\b|\b(?:millions?|mill?ones?|millón)\b", re.I), 1e6),
    (re.compile(r"\d\s*k\b|\b(?:thousands?|milliers?|mil)\b", re.I), 1e3),
)
_CURRENCY = re.compile(r"\b([A-Z]{3})\b")


def _is_currency(code: str) -> bool:
    import pycountry

    return pycountry.currencies.get(alpha_3=code) is not None


def parse_amount(value: object) -> dict[str, object] | None:
    """ "USD 1.5 million", "50 000 €", "EUR 250k" -> {"value", "currency"}; None without
    both a number and a currency (an amount in an unknown currency is no amount)."""
    if value is None:
        return None
    text = str(value)
    number = parse_number(text)
    if number is None:
        return None
    currency = next(
        (c for c in _CURRENCY.findall(text) if _is_currency(c)),
        None,
    )
    if currency is None:
        currency = next((code for sym, code in _SYMBOLS.items() if sym in text), None)
    if currency is None:
        return None
    for pattern, factor in _SCALE:
        if pattern.search(text):
            number *= factor
            break
    return {"value": number, "currency": currency}


_DURATION = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(days?|d|weeks?|months?|mois|meses|years?|ans?|a[nñ]os?)\b"
)


def parse_days(value: object) -> int | None:
    """ "180 days", "2 years", "18 months", 360 -> days."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value or "").casefold()
    m = _DURATION.search(text)
    if not m:
        number = parse_number(text)
        return int(number) if number is not None and re.fullmatch(r"[\d\s.,]+", text) else None
    n = float(m.group(1).replace(",", "."))
    unit = m.group(2)
    if unit.startswith(("w",)):
        return int(n * 7)
    if unit.startswith(("mo", "me")):
        return int(n * 30)
    if unit.startswith(("y", "an", "añ")):
        return int(n * 365)
    return int(n)


def parse_month(value: object) -> int | None:
    """Month number from 3, "03", "March", "mars", "marzo"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= 12 else None
    text = str(value or "").strip()
    if text.isdigit():
        n = int(text)
        return n if 1 <= n <= 12 else None
    # the date parser knows month names in several languages
    parsed = parse_date(f"1 {text} 2000") if text and len(text) < 20 else None
    return parsed.month if parsed else None
