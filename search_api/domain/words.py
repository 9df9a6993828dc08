"""Words of what people type, in Tradepoint's three languages: splitting, folding, stop words
and stemming, for the lookups that run in Python (the product finder, the glossary).

The search backends analyse indexed text themselves (tantivy's and Elasticsearch's own
Snowball stemmers); these functions only decide which words a query is made of and which
glossary entries or HS codes it names. Folding comes before stemming everywhere, so that a
word typed without its accents ("garantias") meets the accented one ("garantías").
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer  # PyStemmer: the Snowball stemmers, as the backends' own

from search_api.domain.textfold import fold_accents

LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
"""The languages of the site, of the glossary and of the product labels."""

_STEMMERS = {"en": "english", "fr": "french", "es": "spanish"}

# Function words that never say what a record or product is about. A query word that is one
# of these in any of the three languages is ignored (unless every word is one): "noix de
# cajou" is about "noix" and "cajou", and English records never contain "de". Small on
# purpose: only words that carry no meaning of their own in any of the three languages.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "a",
            "an",
            "and",
            "or",
            "of",
            "the",
            "in",
            "for",
            "with",
            "to",
            "from",
            "on",
            "by",
            "as",
            "at",
            "its",
            "their",
            "than",
        }
    ),
    "fr": frozenset(
        {
            "le",
            "la",
            "les",
            "l",
            "un",
            "une",
            "des",
            "de",
            "du",
            "d",
            "et",
            "ou",
            "au",
            "aux",
            "à",
            "en",
            "pour",
            "par",
            "sur",
            "dans",
            "avec",
            "sans",
            "que",
            "qui",
            "ce",
            "ces",
            "son",
            "sa",
            "ses",
            "leur",
            "leurs",
        }
    ),
    "es": frozenset(
        {
            "el",
            "la",
            "los",
            "las",
            "lo",
            "un",
            "una",
            "unos",
            "unas",
            "de",
            "del",
            "y",
            "e",
            "o",
            "u",
            "a",
            "al",
            "en",
            "para",
            "por",
            "con",
            "que",
            "su",
            "sus",
        }
    ),
}
ALL_STOP_WORDS: frozenset[str] = frozenset().union(*STOP_WORDS.values())

_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Letters-and-digits runs, as typed: the words of a query as both backends split them
    ("assurance-crédit" is "assurance", "crédit")."""
    return _WORD.findall(text or "")


@lru_cache(maxsize=131_072)
def fold(word: str) -> str:
    # a word, not a text: indexing folds every word of every record (~140 per record), and
    # words repeat far more than they vary
    return fold_accents(word)


@lru_cache(maxsize=65_536)
def stem(word: str, lang: str) -> str:
    """The Snowball stem of a folded word in `lang` (en, fr or es)."""
    return _stemmer(lang).stemWord(word)


def stems(word: str) -> tuple[str, ...]:
    """The Snowball stems of a folded word in each of LANGUAGES. Not in `stem`'s cache (the
    glossary's matcher keeps what it needs per word); PyStemmer keeps its own small cache."""
    return tuple(_stemmer(lang).stemWord(word) for lang in LANGUAGES)


@lru_cache(maxsize=len(_STEMMERS))
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMERS[lang])


def is_stop_word(folded: str) -> bool:
    return folded in ALL_STOP_WORDS


def content_tokens(text: str) -> list[str]:
    """The words of `text` as typed, less stop words (all of them when that leaves none)."""
    words = tokens(text)
    kept = [w for w in words if not is_stop_word(fold(w))]
    return kept or words
