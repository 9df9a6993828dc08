"""Tradepoint's own languages (English, French, Spanish): message catalogues and formats.

English is the source language: msgids are the English text. The catalogues are the `.po`
files under `translations/`, compiled in memory when first used (no `.mo` binaries in the
repository and no build step: a checkout serves every language as it is). Web pages
(web/i18n.py) and emails (services/mail.py) both translate through this module.
"""

from __future__ import annotations

import gettext as gettext_module
from datetime import date
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import pycountry
from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from search_api.domain import articles, markets
from search_api.domain.languages import UI_LANGUAGES

# Each of our languages by its own name, in the order of UI_LANGUAGES.
LANGUAGES: dict[str, str] = dict(zip(UI_LANGUAGES, ("English", "Français", "Español"), strict=True))
DEFAULT_LANGUAGE = "en"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"
# English keeps the site's day-first style ("1 Nov 2026"); the others use their CLDR medium date.
DATE_FORMATS = {"en": "d MMM y"}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# Display names of vocabulary values (search_api/vocab.py, schema literals, run and
# subscription states). Values not listed fall back to "Value with spaces", untranslated.
VOCAB_LABELS: dict[str, str] = {
    # sectors
    "agriculture": N_("Agriculture"),
    "food": N_("Food"),
    "beverages": N_("Beverages"),
    "fish_seafood": N_("Fish and seafood"),
    "fruit_vegetables": N_("Fruit and vegetables"),
    "coffee_tea_cocoa": N_("Coffee, tea and cocoa"),
    "organic": N_("Organic"),
    "textiles": N_("Textiles"),
    "apparel": N_("Apparel"),
    "leather": N_("Leather"),
    "footwear": N_("Footwear"),
    "handicrafts": N_("Handicrafts"),
    "home_decor": N_("Home decor"),
    "gifts": N_("Gifts"),
    "jewellery": N_("Jewellery"),
    "furniture": N_("Furniture"),
    "wood": N_("Wood"),
    "packaging": N_("Packaging"),
    "printing": N_("Printing"),
    "machinery": N_("Machinery"),
    "electronics": N_("Electronics"),
    "ict": N_("ICT"),
    "chemicals": N_("Chemicals"),
    "plastics": N_("Plastics"),
    "pharmaceuticals": N_("Pharmaceuticals"),
    "medical": N_("Medical"),
    "cosmetics": N_("Cosmetics"),
    "automotive": N_("Automotive"),
    "construction": N_("Construction"),
    "energy": N_("Energy"),
    "environment": N_("Environment"),
    "metals": N_("Metals"),
    "mining": N_("Mining"),
    "tourism": N_("Tourism"),
    "logistics": N_("Logistics"),
    "services": N_("Services"),
    "toys": N_("Toys"),
    "sporting_goods": N_("Sporting goods"),
    "multi_sector": N_("Multi-sector"),
    # a rule or programme without HS codes, under a product filter
    "all_products": N_("All products"),
    # fair and requirement statuses
    "scheduled": N_("Scheduled"),
    "rescheduled": N_("Rescheduled"),
    "postponed": N_("Postponed"),
    "cancelled": N_("Cancelled"),
    "moved_online": N_("Moved online"),
    "proposed": N_("Proposed"),
    "adopted": N_("Adopted"),
    "in_force": N_("In force"),
    "repealed": N_("Repealed"),
    # requirement types
    "labelling": N_("Labelling"),
    "marking": N_("Marking"),
    "certification": N_("Certification"),
    "sps": N_("Sanitary and phytosanitary (SPS)"),
    "tbt": N_("Technical regulations (TBT)"),
    "documentation": N_("Documentation"),
    "rules_of_origin": N_("Rules of origin"),
    # finance providers, instruments and access
    "eca": N_("Export credit agency"),
    "exim_bank": N_("Export-import bank"),
    "development_bank": N_("Development bank"),
    "dfi": N_("Development finance institution"),
    "commercial_bank": N_("Commercial bank"),
    "agency": N_("Public agency"),
    "guarantee_fund": N_("Guarantee fund"),
    "credit_insurance": N_("Credit insurance"),
    "working_capital_guarantee": N_("Working capital guarantee"),
    "credit_guarantee": N_("Credit guarantee"),
    "pre_shipment_loan": N_("Pre-shipment loan"),
    "buyer_credit": N_("Buyer credit"),
    "factoring": N_("Factoring"),
    "risk_participation": N_("Risk participation"),
    "credit_line": N_("Credit line"),
    "grant": N_("Grant"),
    "co_financing": N_("Co-financing"),
    "direct": N_("Direct"),
    "partner_bank": N_("Partner bank"),
    "broker": N_("Broker"),
    # fair details
    "annual": N_("Annual"),
    "biennial": N_("Biennial"),
    "triennial": N_("Triennial"),
    "twice_yearly": N_("Twice a year"),
    "other": N_("Other"),
    "trade": N_("Trade visitors"),
    "public": N_("General public"),
    "mixed": N_("Trade and public"),
    "international": N_("International"),
    "national": N_("National"),
    "regional": N_("Regional"),
    # crawl runs and subscriptions
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "interrupted": N_("Interrupted"),
    "pending_confirmation": N_("Waiting for confirmation"),
    "active": N_("Active"),
    "unsubscribed": N_("Unsubscribed"),
    "daily": N_("Daily"),
    "weekly": N_("Weekly"),
    # webhook deliveries
    "pending": N_("Waiting"),
    "delivered": N_("Delivered"),
}


# --------------------------------------------------------------------------- catalogues


@cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of `lang`; English (the msgids) for the source or unknown ones."""
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return gettext_module.NullTranslations()
    with (TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = BytesIO()
    # Fuzzy entries are guesses awaiting review: showing the English text is safer.
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext(lang: str, message: str, **variables: Any) -> str:
    text = translations(lang).gettext(message)
    return text % variables if variables else text


def label_in(lang: str, value: str | None) -> str:
    if not value:
        return ""
    msgid = VOCAB_LABELS.get(value)
    if msgid is None:
        return value.replace("_", " ").capitalize()
    return translations(lang).gettext(msgid)


def fmt_date_in(lang: str, value: Any) -> str:
    if not value:
        return ""
    return _fmt_day(lang, str(value)[:10])


@lru_cache(maxsize=8192)
def _fmt_day(lang: str, day: str) -> str:
    # babel formats a date in ~50 µs and a page shows dozens, mostly the same few days
    pattern = DATE_FORMATS.get(lang, "medium")
    return format_date(date.fromisoformat(day), format=pattern, locale=lang)


@lru_cache(maxsize=4096)
def language_name_in(lang: str, code: str) -> str:
    """A record language's name in the page's language ("Français" on a French page); the
    first letter is capitalised, as the name heads a list entry. Babel knows the languages of
    the CLDR; the rest get their ISO 639 English name."""
    name = Locale.parse(lang).languages.get(code)
    if name is None:
        found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
        found = found or pycountry.languages.get(alpha_3=code)
        name = found.name if found is not None else code
    return name[:1].upper() + name[1:]


EXPORT_TO = N_("Export to %(market)s")


def export_to_in(lang: str, code: str) -> str:
    """ "Export to France", "Exporter vers la France", "Exportar a Francia", "Exportar al
    Mercosur": the market page's title, with the articles each language needs."""
    name = markets.market_name(code, lang)
    if lang == "fr":
        name = articles.french(name)
    elif lang == "es" and markets.is_bloc(code):
        name = articles.spanish_bloc(name)
    text = translations(lang).gettext(EXPORT_TO) % {"market": name}
    return text.replace(" a el ", " al ") if lang == "es" else text


USUALLY_IN = N_("usually in %(month)s")


def usually_in(lang: str, month: int) -> str:
    """ "usually in June": when a fair series without known next dates is held."""
    name = get_month_names("wide", locale=lang)[month]
    if lang == DEFAULT_LANGUAGE:
        name = name.capitalize()
    return gettext(lang, USUALLY_IN, month=name)


def accepted_languages(header: str | None) -> list[str]:
    """Our languages in the order an Accept-Language header prefers them (q-values honoured,
    q=0 refuses, "fr-CA" is French, "*" is English); [] when it names none of ours.

    werkzeug parses the header (RFC 9110 weights, malformed ones dropped) and babel matches
    each tag to our locales; only the order is ours: by weight alone, where werkzeug puts
    every named tag before "*" whatever their weights."""
    accept = parse_accept_header(header or "", LanguageAccept)
    ranked = sorted(accept, key=lambda pair: -pair[1])  # stable: ties keep the header's order
    ours = list(LANGUAGES)
    out: list[str] = []
    for tag, q in ranked:
        if q <= 0:
            continue
        lang = (
            DEFAULT_LANGUAGE
            if tag == "*"
            else negotiate_locale([tag.replace("_", "-")], ours, sep="-")
        )
        if lang and lang not in out:
            out.append(lang)
    return out


@lru_cache(maxsize=1024)  # browsers send one of a few headers; searched on every request
def negotiate(header: str | None) -> str:
    """The language to answer in for an Accept-Language header: its best of ours, else
    English (an unknown or malformed header is no error)."""
    accepted = accepted_languages(header)
    return accepted[0] if accepted else DEFAULT_LANGUAGE


def normalise(value: str | None) -> str | None:
    """ "fr", "FR", "fr-CA", "fr_CA" -> "fr"; None when not one of ours."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None
