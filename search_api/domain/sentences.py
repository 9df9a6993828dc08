"""The sentences the JSON API and the web pages both write for a person, in English, French or
Spanish (the API in the language its client accepts, a page in its own), so the two never say
different things: why a record is shown, what to do before shipping, notices and replies.

The structured reasons (services/search.py `product_reason`, services/markets.py `checklist`)
stay the machine-readable part; these functions only put them in words.
"""

from __future__ import annotations

from typing import Any

from search_api.domain.i18n import N_, fmt_date_in, gettext, label_in, translations

# What each checklist step asks of an exporter (services/markets.py CHECK_ORDER).
CHECK_LABEL: dict[str, str] = {
    "register": N_("Register"),
    "certify": N_("Certificates"),
    "label": N_("Label"),
    "package": N_("Packaging and marking"),
    "standard": N_("Product standards"),
    "document": N_("Documents"),
    "other": N_("Other rules"),
}

BY_CODE = N_("Matches your product: HS %(codes)s")
BY_SECTOR = N_("Matches your product: %(sectors)s")
RELATED = N_("Related to your product: %(sectors)s")
GENERAL = N_("General trade fair")
OTHER = N_("Other sectors: %(sectors)s")
UNKNOWN = N_("Sectors not known")
ALL_PRODUCTS = N_("Applies to all products (no HS code)")

# A `lang` no record is in (services/search.py language_notices; templates/_notices.html).
NO_RECORDS_IN = N_("No record is in %(language)s yet; records are in: %(languages)s.")

COMMENTS_CLOSE = N_("Comments close on %(date)s")
APPLIES_FROM = N_("Applies from %(date)s")


def product_text(lang: str, reason: dict[str, Any] | None) -> str:
    """Why a record is shown for the product asked (`product_reason`'s answer) in `lang`:
    "Matches your product: coffee, tea and cocoa", "General trade fair"; "" without one."""
    if not reason:
        return ""
    via = reason.get("via")
    if via == "code":
        return gettext(lang, BY_CODE, codes=", ".join(reason.get("codes") or ()))
    if via == "all_products":
        return gettext(lang, ALL_PRODUCTS)
    sectors = ", ".join(label_in(lang, s).lower() for s in reason.get("sectors") or ())
    fit = reason.get("fit")
    if fit == "product":
        return gettext(lang, BY_SECTOR, sectors=sectors)
    if fit == "related":
        return gettext(lang, RELATED, sectors=sectors)
    if fit == "general":
        return gettext(lang, GENERAL)
    return gettext(lang, OTHER, sectors=sectors) if sectors else gettext(lang, UNKNOWN)


def check_label(lang: str, action: str) -> str:
    """A checklist step's heading in `lang` ("Register", "Certificats")."""
    return translations(lang).gettext(CHECK_LABEL.get(action, CHECK_LABEL["other"]))


def date_text(lang: str, what: str, value: str) -> str:
    """A checklist date in words: "Comments close on 1 Nov 2026", "Applies from ..."."""
    msg = COMMENTS_CLOSE if what == "comments" else APPLIES_FROM
    return gettext(lang, msg, date=fmt_date_in(lang, value))


SUBSCRIPTION_PENDING = N_(
    "A confirmation link was sent to %(email)s; nothing else is sent before it is opened."
)
"""`POST /api/v1/subscriptions`'s reply (services/subscriptions.py pending_reply)."""
