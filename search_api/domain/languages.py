"""Language codes of records: what a page, feed or agency says, as one ISO 639 code.

Records are filtered by language (`lang=fr`), so "fr", "fr-CA", "FR_fr", "fre", "French" and
"français" must all become the same code. The code is ISO 639-1 where the language has one
(two letters, as HTML `lang` attributes and HTTP use), else ISO 639-3.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args

import pycountry

from search_api.domain.textfold import fold_accents

# The languages Tradepoint itself speaks (web pages, emails, market names); records may be in
# any language.
UiLanguage = Literal["en", "fr", "es"]
UI_LANGUAGES: tuple[str, ...] = get_args(UiLanguage)

# Primary subtag of a BCP 47 tag ("zh" of "zh-Hant-TW"); `_` as some CMSs write it.
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")

# ISO 639's special codes say there is no single language: they are not a language to filter on.
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})

# Names a French- or Spanish-speaking editor writes (pycountry knows the English names only).
_OWN_NAMES = {
    "francais": "fr",
    "anglais": "en",
    "espagnol": "es",
    "allemand": "de",
    "portugais": "pt",
    "arabe": "ar",
    "espanol": "es",
    "castellano": "es",
    "ingles": "en",
    "frances": "fr",
    "aleman": "de",
    "portugues": "pt",
    "deutsch": "de",
}


def _folded(text: str) -> str:
    return fold_accents(text.strip())


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, str], dict[str, str]]:
    """ISO 639 names -> code: as written (lower case), and without accents."""
    exact: dict[str, str] = {}
    folded: dict[str, str] = dict(_OWN_NAMES)
    for lang in pycountry.languages:
        if lang.alpha_3 in _NOT_A_LANGUAGE:
            continue
        code = getattr(lang, "alpha_2", None) or lang.alpha_3
        for attr in ("name", "common_name", "inverted_name"):
            name = getattr(lang, attr, None)
            if name:
                exact.setdefault(name.casefold(), code)
                folded.setdefault(_folded(name), code)
    return exact, folded


def _code_of(code: str) -> str | None:
    if code in _NOT_A_LANGUAGE:
        return None
    if len(code) == 2:
        found = pycountry.languages.get(alpha_2=code)
    else:
        found = pycountry.languages.get(alpha_3=code) or pycountry.languages.get(bibliographic=code)
    return None if found is None else getattr(found, "alpha_2", None) or found.alpha_3


@lru_cache(maxsize=1024)
def language_code(value: str) -> str | None:
    """The ISO 639 code of a language tag, code or name; None when it names no language.

    >>> [language_code(v) for v in ("fr-CA", "FR", "fre", "French", "Français", "xx", "und")]
    ['fr', 'fr', 'fr', 'fr', 'fr', None, None]
    """
    text = _folded(value)
    if not text or len(text) > 64:
        return None
    match = _TAG.match(text)
    # A whole name first ("Aka-Bea" is a language, not Akan with a subtag), except a bare
    # two- or three-letter word, which is a code ("Aer" is one language's name, aer another's).
    if not re.fullmatch(r"[a-z]{2,3}", value.strip().casefold()):
        exact, folded = _names()
        named = exact.get(value.strip().casefold()) or folded.get(text)
        if named:
            return named
    if match:
        return _code_of(match.group(1))
    return None


def language_problem(value: object) -> str | None:
    """Why a language a person wrote is not one, or None (an empty value says nothing).

    Records take such a value as no language (stored records must still load); the places
    where a person writes one (field mappings, curated files, the records API) say this.
    """
    if isinstance(value, str) and value.strip() and language_code(value) is None:
        return f"{value!r} is not a language (an ISO 639 code such as 'fr', or a name)"
    return None
