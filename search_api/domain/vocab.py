"""Controlled vocabularies shared by the schema, the crawlers and the web pages."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, get_args

SECTORS: tuple[str, ...] = (
    "agriculture",
    "food",
    "beverages",
    "fish_seafood",
    "fruit_vegetables",
    "coffee_tea_cocoa",
    "organic",
    "textiles",
    "apparel",
    "leather",
    "footwear",
    "handicrafts",
    "home_decor",
    "gifts",
    "jewellery",
    "furniture",
    "wood",
    "packaging",
    "printing",
    "machinery",
    "electronics",
    "ict",
    "chemicals",
    "plastics",
    "pharmaceuticals",
    "medical",
    "cosmetics",
    "automotive",
    "construction",
    "energy",
    "environment",
    "metals",
    "mining",
    "tourism",
    "logistics",
    "services",
    "toys",
    "sporting_goods",
    "multi_sector",
)

# Each vocabulary is a Literal type (for the record models) and the tuple of its values.
FairStatus = Literal[
    "scheduled",
    "rescheduled",
    "postponed",
    "cancelled",
    "moved_online",
]
FAIR_STATUSES: tuple[str, ...] = get_args(FairStatus)
RequirementStatus = Literal[
    "proposed",
    "adopted",
    "in_force",
    "repealed",
]
REQUIREMENT_STATUSES: tuple[str, ...] = get_args(RequirementStatus)
RequirementType = Literal[
    "labelling",
    "packaging",
    "marking",
    "certification",
    "sps",
    "tbt",
    "documentation",
    "rules_of_origin",
]
REQUIREMENT_TYPES: tuple[str, ...] = get_args(RequirementType)
ProviderType = Literal[
    "eca",
    "exim_bank",
    "development_bank",
    "dfi",
    "commercial_bank",
    "agency",
    "guarantee_fund",
]
PROVIDER_TYPES: tuple[str, ...] = get_args(ProviderType)
FinanceInstrument = Literal[
    "credit_insurance",
    "working_capital_guarantee",
    "credit_guarantee",
    "pre_shipment_loan",
    "buyer_credit",
    "factoring",
    "risk_participation",
    "credit_line",
    "grant",
    "co_financing",
]
FINANCE_INSTRUMENTS: tuple[str, ...] = get_args(FinanceInstrument)

# Trade blocs and their members (ISO 3166-1 alpha-2). Membership as of 2026.
BLOCS: dict[str, tuple[str, ...]] = {
    "EU": (
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ),
    "EFTA": ("IS", "LI", "NO", "CH"),
    "GCC": ("BH", "KW", "OM", "QA", "SA", "AE"),
    "EAEU": ("AM", "BY", "KZ", "KG", "RU"),
    "ASEAN": ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL"),
    "EAC": ("BI", "CD", "KE", "RW", "SO", "SS", "TZ", "UG"),
    "ECOWAS": ("BJ", "CV", "CI", "GM", "GH", "GN", "GW", "LR", "NG", "SN", "SL", "TG"),
    "SADC": (
        "AO",
        "BW",
        "KM",
        "CD",
        "SZ",
        "LS",
        "MG",
        "MW",
        "MU",
        "MZ",
        "NA",
        "SC",
        "ZA",
        "TZ",
        "ZM",
        "ZW",
    ),
    "SACU": ("BW", "SZ", "LS", "NA", "ZA"),
    "COMESA": (
        "BI",
        "KM",
        "CD",
        "DJ",
        "EG",
        "ER",
        "SZ",
        "ET",
        "KE",
        "LY",
        "MG",
        "MW",
        "MU",
        "RW",
        "SC",
        "SO",
        "SD",
        "TN",
        "UG",
        "ZM",
        "ZW",
    ),
    "MERCOSUR": ("AR", "BO", "BR", "PY", "UY"),
    "CAN": ("BO", "CO", "EC", "PE"),
    "USMCA": ("US", "MX", "CA"),
}


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    import pycountry

    # XK (Kosovo) is user-assigned but used by every trade database.
    return frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})


def is_market_code(code: str) -> bool:
    return code in BLOCS or code in country_codes()


# Groups of countries that name an eligibility list ("open to exporters from all 55 African
# Union members") but are no market: their codes are not market codes (AU is Australia).
# The African Union: 55 member states (au.int, "Member States"), the Sahrawi Republic (EH)
# among them; "AFRICA" is the 54 African states of the United Nations, which is the list the
# African development institutions (AfDB's regional members, AGF) use.
_AFRICA = (
    "DZ", "AO", "BJ", "BW", "BF", "BI", "CV", "CM", "CF", "TD", "KM", "CG", "CD", "CI", "DJ",
    "EG", "GQ", "ER", "SZ", "ET", "GA", "GM", "GH", "GN", "GW", "KE", "LS", "LR", "LY", "MG",
    "MW", "ML", "MR", "MU", "MA", "MZ", "NA", "NE", "NG", "RW", "ST", "SN", "SC", "SL", "SO",
    "ZA", "SS", "SD", "TZ", "TG", "TN", "UG", "ZM", "ZW",
)  # fmt: skip
COUNTRY_GROUPS: dict[str, tuple[str, ...]] = {
    "AFRICA": _AFRICA,
    "AFRICAN_UNION": (*_AFRICA, "EH"),
}
