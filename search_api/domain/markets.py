"""Markets: countries (ISO 3166-1 alpha-2) and the trade blocs that group them.

What a user types ("Allemagne", "deu", "Alemania", "eu") becomes one code here, and a code
becomes the set of codes a search must match: a French importer is bound by EU-wide rules
(`FR` also finds `EU`), and a look at the whole EU also finds the rules of each member state.
The crawlers use the same name table to read countries out of addresses.
"""

from __future__ import annotations

import gettext
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

import pycountry

from search_api.domain.languages import UI_LANGUAGES
from search_api.domain.textfold import fold_accents
from search_api.domain.vocab import BLOCS, country_codes

__all__ = [
    "BLOCS",
    "BLOC_NAMES",
    "blocs_of",
    "country_from_name",
    "expand_for_search",
    "fold_name",
    "is_bloc",
    "is_country",
    "market_name",
    "market_names",
    "match_reason",
    "members",
    "resolve_market",
]

# Country names are read in these languages besides English. EN/FR/ES are what users and
# fair organisers in our target markets write; DE/PT/IT cost nothing more.
NAME_LANGUAGES = ("fr", "es", "de", "pt", "it")
DISPLAY_LANGUAGES = UI_LANGUAGES

# Bloc names in English, French and Spanish: pycountry knows no blocs.
BLOC_NAMES: dict[str, dict[str, str]] = {
    "EU": {"en": "European Union", "fr": "Union européenne", "es": "Unión Europea"},
    "EFTA": {
        "en": "European Free Trade Association",
        "fr": "Association européenne de libre-échange",
        "es": "Asociación Europea de Libre Comercio",
    },
    "GCC": {
        "en": "Gulf Cooperation Council",
        "fr": "Conseil de coopération du Golfe",
        "es": "Consejo de Cooperación del Golfo",
    },
    "EAEU": {
        "en": "Eurasian Economic Union",
        "fr": "Union économique eurasiatique",
        "es": "Unión Económica Euroasiática",
    },
    "ASEAN": {
        "en": "Association of Southeast Asian Nations",
        "fr": "Association des nations de l'Asie du Sud-Est",
        "es": "Asociación de Naciones del Sudeste Asiático",
    },
    "EAC": {
        "en": "East African Community",
        "fr": "Communauté d'Afrique de l'Est",
        "es": "Comunidad de África Oriental",
    },
    "ECOWAS": {
        "en": "Economic Community of West African States",
        "fr": "Communauté économique des États de l'Afrique de l'Ouest",
        "es": "Comunidad Económica de Estados de África Occidental",
    },
    "SADC": {
        "en": "Southern African Development Community",
        "fr": "Communauté de développement d'Afrique australe",
        "es": "Comunidad de Desarrollo de África Austral",
    },
    "SACU": {
        "en": "Southern African Customs Union",
        "fr": "Union douanière d'Afrique australe",
        "es": "Unión Aduanera de África Austral",
    },
    "COMESA": {
        "en": "Common Market for Eastern and Southern Africa",
        "fr": "Marché commun de l'Afrique orientale et australe",
        "es": "Mercado Común de África Oriental y Austral",
    },
    "MERCOSUR": {"en": "Mercosur", "fr": "Mercosur", "es": "Mercosur"},
    "CAN": {
        "en": "Andean Community",
        "fr": "Communauté andine",
        "es": "Comunidad Andina",
    },
    "USMCA": {
        "en": "United States-Mexico-Canada Agreement",
        "fr": "Accord Canada-États-Unis-Mexique",
        "es": "Tratado entre México, Estados Unidos y Canadá",
    },
}
# Other ways people write bloc names (folded at lookup time).
_BLOC_ALIASES: dict[str, str] = {
    "europe": "EU",
    "ue": "EU",
    "european union": "EU",
    "mercosul": "MERCOSUR",
    "cusma": "USMCA",
    "t mec": "USMCA",
    "aeule": "EFTA",
    "ccg": "GCC",
    "cae": "EAC",
    "cedeao": "ECOWAS",
    "comunidad andina de naciones": "CAN",
}

# Names pycountry does not have, or has only in a long official form. Keys are folded.
_ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "america": "US",
    "united states": "US",
    "united states of america": "US",
    "the united states": "US",
    "etats unis": "US",
    "etats unis d amerique": "US",
    "estados unidos": "US",
    "eeuu": "US",
    "ee uu": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "united kingdom": "GB",
    "royaume uni": "GB",
    "reino unido": "GB",
    "gb": "GB",
    "russia": "RU",
    "russie": "RU",
    "rusia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "korea south": "KR",
    "coree du sud": "KR",
    "corea del sur": "KR",
    "north korea": "KP",
    "korea north": "KP",
    "turkey": "TR",
    "turkiye": "TR",
    "turquie": "TR",
    "turquia": "TR",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "costa de marfil": "CI",
    "czech republic": "CZ",
    "czechia": "CZ",
    "republique tcheque": "CZ",
    "vietnam": "VN",
    "viet nam": "VN",
    "iran": "IR",
    "persia": "IR",
    "uae": "AE",
    "emirates": "AE",
    "united arab emirates": "AE",
    "the uae": "AE",
    "holland": "NL",
    "the netherlands": "NL",
    "netherlands": "NL",
    "pays bas": "NL",
    "paises bajos": "NL",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "taiwan": "TW",
    "macedonia": "MK",
    "north macedonia": "MK",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "cape verde": "CV",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "burma": "MM",
    "myanmar": "MM",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "congo kinshasa": "CD",
    "rdc": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "east timor": "TL",
    "micronesia": "FM",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "the gambia": "GM",
    "the bahamas": "BS",
    "saudi arabia": "SA",
    "ksa": "SA",
    "south africa": "ZA",
    "rsa": "ZA",
    "china": "CN",
    "prc": "CN",
    "mainland china": "CN",
    "deutschland": "DE",
    "brasil": "BR",
    "espana": "ES",
    "mexico": "MX",
    "kenya": "KE",
    "kosovo": "XK",
}

_lock = threading.Lock()
_names: dict[str, str] | None = None


def fold_name(text: str) -> str:
    """casefold + accent fold + punctuation to spaces: 'Côte-d'Ivoire' -> 'cote d ivoire'."""
    text = fold_accents(text).replace("&", " and ").replace(".", "")
    text = re.sub(r"[^\w]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=len(NAME_LANGUAGES) + len(DISPLAY_LANGUAGES))
def _translation(lang: str) -> gettext.NullTranslations:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    except OSError:
        return gettext.NullTranslations()


def _build_names() -> dict[str, str]:
    names: dict[str, str] = {}
    countries = list(pycountry.countries)
    attrs = ("name", "common_name", "official_name")
    # English first, so a translated name never shadows an English one.
    for c in countries:
        for attr in attrs:
            value = getattr(c, attr, None)
            if value:
                names.setdefault(fold_name(value), c.alpha_2)
    for lang in NAME_LANGUAGES:
        tr = _translation(lang)
        for c in countries:
            for attr in attrs:
                value = getattr(c, attr, None)
                if value:
                    names.setdefault(fold_name(tr.gettext(value)), c.alpha_2)
    for alias, code in _ALIASES.items():
        names[fold_name(alias)] = code
    return names


def _name_map() -> dict[str, str]:
    global _names
    if _names is None:
        with _lock:
            if _names is None:
                _names = _build_names()
    return _names


@lru_cache(maxsize=1)
def _bloc_name_map() -> dict[str, str]:
    out = {fold_name(name): code for code, names in BLOC_NAMES.items() for name in names.values()}
    out.update({fold_name(k): v for k, v in _BLOC_ALIASES.items()})
    return out


@lru_cache(maxsize=1)
def _blocs_by_country() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for bloc, codes in BLOCS.items():
        for code in codes:
            out.setdefault(code, []).append(bloc)
    return {k: tuple(v) for k, v in out.items()}


def country_from_name(text: str) -> str | None:
    """Alpha-2 code of a country written out in English, French, Spanish (and DE/PT/IT) or a
    common alias ("UK", "Côte d'Ivoire", "Alemania"). Countries only: never a bloc."""
    return _name_map().get(fold_name(text))


def is_bloc(code: str) -> bool:
    return code in BLOCS


def is_country(code: str) -> bool:
    return code in country_codes()


def resolve_market(text: str | None) -> str | None:
    """A market code from what a user typed, or None.

    Understands bloc codes and names ("EU", "Union européenne"), ISO alpha-2 and alpha-3
    codes and country names in English, French and Spanish, ignoring case and accents.
    Bloc codes win over alpha-3 codes: "CAN" is the Andean Community (Canada is "CA").
    """
    if not text:
        return None
    raw = text.strip()
    if not raw or len(raw) > 100:
        return None
    upper = raw.upper()
    if upper in BLOCS:
        return upper
    if len(raw) == 2 and upper in country_codes():
        return upper
    if len(raw) == 3 and raw.isalpha():
        country = pycountry.countries.get(alpha_3=upper)
        if country is not None:
            return str(country.alpha_2)
    folded = fold_name(raw)
    return _bloc_name_map().get(folded) or _name_map().get(folded)


def members(bloc: str) -> tuple[str, ...]:
    """Member countries of a bloc (empty for a country or an unknown code)."""
    return BLOCS.get(bloc, ())


def blocs_of(code: str) -> tuple[str, ...]:
    """Blocs a country belongs to, in the order of `BLOCS`."""
    return _blocs_by_country().get(code, ())


def expand_for_search(code: str) -> set[str]:
    """Codes a search for `code` must match: a country and every bloc containing it (EU-wide
    rules bind France); a bloc and every member (the rules of each member state)."""
    if code in BLOCS:
        return {code, *BLOCS[code]}
    return {code, *blocs_of(code)}


def expand_all(codes: Iterable[str]) -> tuple[str, ...]:
    """Union of `expand_for_search` over codes, in a stable order."""
    out: set[str] = set()
    for code in codes:
        out |= expand_for_search(code)
    return tuple(sorted(out))


Via = Literal["direct", "bloc", "member"]


def match_reason(record_markets: Iterable[str], asked: Iterable[str]) -> dict[str, str] | None:
    """Why a record matched a market filter: {"market": asked code, "code": the record's
    matching market, "via": "direct" | "bloc" | "member"}; None when it did not match.

    "bloc": the record is tagged with a bloc containing the asked country (an EU rule for FR);
    "member": the asked market is a bloc and the record is tagged with a member (a French rule
    for EU). A direct match wins over the others.
    """
    tagged = list(dict.fromkeys(record_markets))
    asked = list(asked)
    for market in asked:
        if market in tagged:
            return {"market": market, "code": market, "via": "direct"}
    for market in asked:
        wider = [c for c in tagged if market in BLOCS.get(c, ())]
        if wider:
            return {"market": market, "code": wider[0], "via": "bloc"}
        narrower = [c for c in tagged if c in BLOCS.get(market, ())]
        if narrower:
            return {"market": market, "code": narrower[0], "via": "member"}
    return None


def market_name(code: str, lang: str = "en") -> str:
    """Display name of a market code in `lang` (en, fr or es; English otherwise)."""
    if code in BLOC_NAMES:
        names = BLOC_NAMES[code]
        return names.get(lang, names["en"])
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return "Kosovo" if code == "XK" else code
    name = str(getattr(country, "common_name", None) or country.name)
    if lang != "en":
        # pycountry's catalogues are keyed by the official short name, not the common one
        translated = _translation(lang).gettext(country.name)
        return name if translated == country.name else translated
    return name


def market_names(code: str) -> dict[str, str]:
    """Names in English, French and Spanish."""
    return {lang: market_name(code, lang) for lang in DISPLAY_LANGUAGES}
