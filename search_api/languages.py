"""Language codes of records: what a page, feed or agency says, as one ISO 639 code.

Records are filtered by language (`lang=fr`), so "fr", "fr-CA", "FR_fr", "fre", "French" and
"français" must all become the same code. The code is ISO 639-1 where the language has one
(two letters, as HTML `lang` attributes and HTTP use), else ISO 639-3.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry

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
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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
    if match:
        code = match.group(1)
        if code in _NOT_A_LANGUAGE:
            return None
        found = (
            pycountry.languages.get(alpha_2=code)
            if len(code) == 2
            else pycountry.languages.get(alpha_3=code)
            or pycountry.languages.get(bibliographic=code)
        )
        if found is not None:
            return getattr(found, "alpha_2", None) or found.alpha_3
    if text in _OWN_NAMES:
        return _OWN_NAMES[text]
    try:
        found = pycountry.languages.lookup(text)
    except LookupError:
        return None
    if found.alpha_3 in _NOT_A_LANGUAGE:
        return None
    return getattr(found, "alpha_2", None) or found.alpha_3
