"""The web pages in English, French and Spanish: message catalogues, language choice, formats.

English is the source language: msgids are the English text. The catalogues are the `.po`
files under `translations/`, compiled in memory when first used (no `.mo` binaries in the
repository and no build step: a checkout serves every language as it is).

Translations are chosen per render, never installed per request on the shared Jinja2
environment: the gettext callables read the `lang` variable of the template context, so two
requests in different languages rendering at once cannot see each other's language.
"""

from __future__ import annotations

import calendar
import gettext as gettext_module
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import pycountry
from babel import Locale
from babel.dates import format_date, get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import Response

from search_api.domain import articles, markets

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
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


def translator(request: Request) -> Callable[..., str]:
    """`_` for messages made in Python for a page (flash messages): `_("Saved %(id)s.", id=x)`."""
    lang = request_language(request)

    def _(message: str, **variables: Any) -> str:
        return gettext(lang, message, **variables)

    return _


# --------------------------------------------------------------------------- negotiation


def normalise(value: str | None) -> str | None:
    """ "fr", "FR", "fr-CA", "fr_CA" -> "fr"; None when not one of ours."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """Our languages in the order of an Accept-Language header's q-values (q=0 refuses)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, val = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0  # a malformed weight: ignore the tag rather than guess
        lang = DEFAULT_LANGUAGE if tag.strip() == "*" else normalise(tag)
        if lang and q > 0:
            ranked.append((-q, position, lang))
    out: list[str] = []
    for _, _, lang in sorted(ranked):
        if lang not in out:
            out.append(lang)
    return out


def request_language(request: Request) -> str:
    """`?lang=`, else the `lang` cookie, else Accept-Language, else English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        lang = normalise(candidate)
        if lang:
            return lang
    accepted = parse_accept_language(request.headers.get("accept-language"))
    return accepted[0] if accepted else DEFAULT_LANGUAGE


def switch_links(request: Request) -> list[dict[str, str]]:
    """This page in each language: the same path and parameters, `lang` replaced."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [
        {
            "code": code,
            "name": name,
            "href": f"{request.url.path}?{urlencode([*kept, ('lang', code)])}",
        }
        for code, name in LANGUAGES.items()
    ]


# --------------------------------------------------------------------------- template helpers


def _lang(ctx: Any) -> str:
    lang = ctx.get("lang") if ctx is not None else None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@pass_context
def _ctx_gettext(ctx: Any, message: str) -> str:
    return translations(_lang(ctx)).gettext(message)


@pass_context
def _ctx_ngettext(ctx: Any, singular: str, plural: str, n: int) -> str:
    return translations(_lang(ctx)).ngettext(singular, plural, n)


@pass_context
def tr(ctx: Any, message: str | None) -> str:
    """A message chosen in Python (a field label): translated, never %-formatted."""
    return translations(_lang(ctx)).gettext(message) if message else ""


def label_in(lang: str, value: str | None) -> str:
    if not value:
        return ""
    msgid = VOCAB_LABELS.get(value)
    if msgid is None:
        return value.replace("_", " ").capitalize()
    return translations(lang).gettext(msgid)


@pass_context
def label(ctx: Any, value: str | None) -> str:
    return label_in(_lang(ctx), value)


@pass_context
def month_name(ctx: Any, month: int | None) -> str:
    if not month or not 1 <= month <= 12:
        return ""
    lang = _lang(ctx)
    if lang == DEFAULT_LANGUAGE:
        return calendar.month_name[month]
    return get_month_names("wide", locale=lang)[month]


def fmt_date_in(lang: str, value: Any) -> str:
    if not value:
        return ""
    d = date.fromisoformat(str(value)[:10])
    return format_date(d, format=DATE_FORMATS.get(lang, "medium"), locale=lang)


@pass_context
def fmt_date(ctx: Any, value: Any) -> str:
    return fmt_date_in(_lang(ctx), value)


@pass_context
def fmt_number(ctx: Any, value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_lang(ctx))


@pass_context
def market_name(ctx: Any, code: str | None) -> str:
    return markets.market_name(code, _lang(ctx)) if code else ""


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


@pass_context
def language_name(ctx: Any, code: str | None) -> str:
    return language_name_in(_lang(ctx), code) if code else ""


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


@pass_context
def export_to(ctx: Any, code: str | None) -> str:
    return export_to_in(_lang(ctx), code) if code else ""


def install(env: jinja2.Environment) -> None:
    """The i18n extension and the per-render helpers on a (shared) environment."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # babel.cfg extracts with trimmed = true too
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_ctx_gettext, ngettext=_ctx_ngettext, newstyle=True
    )
    env.globals.update(
        tr=tr,
        label=label,
        month_name=month_name,
        fmt_date=fmt_date,
        fmt_number=fmt_number,
        market_name=market_name,
        language_name=language_name,
        export_to=export_to,
        languages=LANGUAGES,
    )


class LocalisedTemplates(Jinja2Templates):
    """Jinja2Templates whose responses are rendered in the request's language.

    `label_maps` are dicts of English msgids that templates index (`kind_label[kind]`); each
    render gets them translated under the same names.
    """

    def __init__(self, directory: str, label_maps: Mapping[str, Mapping[str, str]]) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory), autoescape=jinja2.select_autoescape()
        )
        install(env)
        super().__init__(env=env)
        self.label_maps = label_maps

    def TemplateResponse(  # type: ignore[override]
        self, request: Request, name: str, context: dict[str, Any] | None = None, **kwargs: Any
    ) -> Response:
        lang = request_language(request)
        ctx = dict(context or {})
        ctx["lang"] = lang
        ctx["lang_links"] = switch_links(request)
        tr_ = translations(lang)
        for key, mapping in self.label_maps.items():
            ctx[key] = {k: tr_.gettext(v) for k, v in mapping.items()}
        response = super().TemplateResponse(request, name, ctx, **kwargs)
        # Caches must keep one copy per language choice.
        response.headers["Vary"] = "Accept-Language, Cookie"
        chosen = normalise(request.query_params.get("lang"))
        if chosen and chosen != request.cookies.get(COOKIE):
            response.set_cookie(
                COOKIE,
                chosen,
                max_age=COOKIE_MAX_AGE,
                samesite="lax",
                httponly=True,
                secure=request.app.state.settings.base_url.startswith("https://"),
            )
            # A response that sets a cookie is not for shared caches.
            if "public" in response.headers.get("cache-control", ""):
                response.headers["Cache-Control"] = "private, max-age=60"
        return response
