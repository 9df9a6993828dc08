"""Free text to the controlled vocabularies of kind-specific fields.

Sources write "Credit insurance", "Étiquetage" or "Partner banks"; records hold `credit_insurance`,
`labelling` and `partner_bank`. Pure functions: None means "could not map", never a guess from
a word that merely contains a keyword somewhere in a long sentence.
"""

from __future__ import annotations

import re

from search_api.domain.textfold import fold_accents
from search_api.domain.vocab import (
    FAIR_STATUSES,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_STATUSES,
    REQUIREMENT_TYPES,
)

__all__ = ["fold", "map_choice", "parse_bool"]


def fold(text: str) -> str:
    """casefold, accents off, punctuation to single spaces: "Pré-shipment" -> "pre shipment"."""
    text = re.sub(r"[^\w]+", " ", fold_accents(text).replace("&", " and "))
    return re.sub(r"\s+", " ", text).strip()


# Ordered: the first rule that matches wins, so the more specific phrase comes first
# ("certificate of origin" is rules_of_origin, not certification).
_Rules = tuple[tuple[str, str], ...]

_REQUIREMENT_TYPE: _Rules = (
    (
        "rules_of_origin",
        r"rules? of origin|origin rules?|certificates? of origin|preferential origin|"
        r"regles? d origine|reglas? de origen|normas? de origen|roo",
    ),
    ("labelling", r"label+ing|labels?|etiquetage|etiquettes?|etiquetado|etiquetas?|rotulado"),
    ("packaging", r"packag\w*|packing|emballages?|conditionnement|envases?|embalajes?"),
    ("marking", r"marking|markings|marquage|marcado|marcaje"),
    (
        "sps",
        r"sps|sanitary|phytosanitary|food safety|veterinary|plant health|animal health|"
        r"sanitaires?|phytosanitaires?|sanitari[oa]s?|fitosanitari[oa]s?|mrls?|"
        r"maximum residue limits?|pesticide residues?",
    ),
    (
        "tbt",
        r"tbt|technical barriers? to trade|technical regulations?|reglements? techniques?|"
        r"obstacles? techniques?|reglamentos? tecnicos?|obstaculos? tecnicos?|standards?",
    ),
    (
        "certification",
        r"certification|certificates?|certificats?|certificacion|certificados?|"
        r"conformity assessment|evaluation de la conformite|homologation|accreditation",
    ),
    (
        "documentation",
        r"documentation|documents?|customs documents?|import licen[cs]es?|licen[cs]ing|"
        r"documentos?|documentacion|formalities|formalites|tramites?|customs procedures?",
    ),
)

_INSTRUMENT: _Rules = (
    (
        "working_capital_guarantee",
        r"working capital guarantees?|wcg|garanties? de fonds de roulement|"
        r"garantias? de capital de trabajo",
    ),
    (
        "pre_shipment_loan",
        r"pre ?shipment (?:loans?|finance|financing|credits?)|pre ?export (?:loans?|finance|"
        r"financing)|packing credits?|prefinancement|prefinanciacion|pre ?financiamiento",
    ),
    ("buyer_credit", r"buyers? credits?|credits? acheteurs?|creditos? (?:al )?comprador"),
    (
        "credit_insurance",
        r"(?:export |trade )?credit insurance|assurance credit|assurance(?:s)? credit export|"
        r"seguros? de credito(?: a la exportacion)?",
    ),
    (
        "risk_participation",
        r"risk participations?|risk sharing|partage des risques|participacion (?:de|en el) riesgo",
    ),
    ("factoring", r"factoring|forfaiting|affacturage|forfaitage|factoraje"),
    (
        "credit_line",
        r"credit lines?|lines? of credit|lignes? de credit|lineas? de credito|revolving credit",
    ),
    ("co_financing", r"co ?financ\w*|co ?financement|co ?financiacion|co ?financiamiento"),
    (
        "credit_guarantee",
        r"(?:loan|credit|bank|export|bond) guarantees?|guarantees?|garanties?|garantias?",
    ),
    ("grant", r"grants?|subsid(?:y|ies)|subventions?|subvencion(?:es)?|matching funds?"),
)

_PROVIDER_TYPE: _Rules = (
    ("exim_bank", r"exim(?: bank)?|ex im|export import bank|eximbank"),
    (
        "eca",
        r"eca|export credit agenc(?:y|ies)|export credit insurer|"
        r"agences? de credit a l exportation|agencias? de credito a la exportacion",
    ),
    ("dfi", r"dfi|development finance institutions?"),
    (
        "development_bank",
        r"development banks?|banques? de developpement|bancos? de desarrollo|multilateral banks?",
    ),
    ("guarantee_fund", r"guarantee funds?|fonds de garantie|fondos? de garantia"),
    ("commercial_bank", r"commercial banks?|banks?|banques?|bancos?"),
    (
        "agency",
        r"agenc(?:y|ies)|agences?|agencias?|ministry|ministere|ministerio|chambers?|"
        r"trade promotion|tpo|government",
    ),
)

_REQUIREMENT_STATUS: _Rules = (
    ("repealed", r"repealed|revoked|withdrawn|abroge\w*|derogad[oa]s?|expired"),
    ("in_force", r"in force|en vigueur|vigentes?|en vigor|effective|applicable|applies"),
    ("adopted", r"adopted|adopte\w*|adoptad[oa]s?|approved|enacted|final"),
    (
        "proposed",
        r"proposed|proposal|draft|notified|notification|consultation|projet|proyecto|"
        r"propuest[oa]|under review|pending",
    ),
)

_FAIR_STATUS: _Rules = (
    ("cancelled", r"cancel+ed|annulee?s?|cancelad[oa]s?"),
    ("postponed", r"postponed|reportee?s?|aplazad[oa]s?|pospuest[oa]s?"),
    ("rescheduled", r"rescheduled|new dates?"),
    ("moved_online", r"moved online|online|virtual|en ligne|virtuel\w*|en linea"),
    ("scheduled", r"scheduled|confirmed|confirmee?|confirmad[oa]|planned"),
)

_ACCESS_CHANNEL: _Rules = (
    ("broker", r"brokers?|courtiers?|corredor(?:es)?"),
    (
        "partner_bank",
        r"partner banks?|(?:through|via) (?:a |your |commercial |partner )?banks?|"
        r"intermediar\w*|banques? partenaires?|bancos? (?:aliados|socios)",
    ),
    ("direct", r"direct\w*|online application|apply online"),
)

_AUDIENCE: _Rules = (
    ("mixed", r"mixed|both|trade and public|public and trade|b2b and b2c"),
    ("trade", r"trade|b2b|professionals?|professionnels?|profesionales|trade only"),
    ("public", r"public|consumers?|b2c|grand public|general public"),
)

_SCOPE: _Rules = (
    ("international", r"international|internationale?|internacional|global|world"),
    ("national", r"national|nationale?|nacional|domestic"),
    ("regional", r"regional|regionale?|local"),
)

_FREQUENCY: _Rules = (
    ("twice_yearly", r"twice (?:a|per) year|twice yearly|semi annual\w*|biannual|semestriel\w*"),
    ("biennial", r"biennial|every (?:two|2) years|biennale?|bienal|biannuel"),
    ("triennial", r"triennial|every (?:three|3) years|triennale?|trienal"),
    ("annual", r"annual|annually|yearly|every year|annuel\w*|anual"),
    ("other", r"other|irregular|one off|once"),
)

_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "requirement_type": _REQUIREMENT_TYPE,
    "instruments": _INSTRUMENT,
    "provider.type": _PROVIDER_TYPE,
    "requirement.status": _REQUIREMENT_STATUS,
    "fair.status": _FAIR_STATUS,
    "access_channel": _ACCESS_CHANNEL,
    "audience": _AUDIENCE,
    "scope": _SCOPE,
    "frequency": _FREQUENCY,
}
_VOCAB: dict[str, tuple[str, ...]] = {
    "requirement_type": REQUIREMENT_TYPES,
    "instruments": FINANCE_INSTRUMENTS,
    "provider.type": PROVIDER_TYPES,
    "requirement.status": REQUIREMENT_STATUSES,
    "fair.status": FAIR_STATUSES,
    "access_channel": ("direct", "partner_bank", "broker"),
    "audience": ("trade", "public", "mixed"),
    "scope": ("international", "national", "regional"),
    "frequency": ("annual", "biennial", "triennial", "twice_yearly", "other"),
}
_COMPILED = {
    name: tuple((re.compile(rf"\b(?:{pattern})\b"), value) for value, pattern in rules)
    for name, rules in _RULES.items()
}
# A long sentence mentioning "guarantee" is a description, not a value: only short phrases map.
_MAX_WORDS = 8

CHOICE_FIELDS = frozenset(_RULES)


def map_choice(vocabulary: str, text: object) -> str | None:
    """The vocabulary value `text` names, or None. `vocabulary` is a key of CHOICE_FIELDS
    ("requirement_type", "instruments", "provider.type", "requirement.status", ...)."""
    if not isinstance(text, str) or not text.strip():
        return None
    folded = fold(text)
    as_term = folded.replace(" ", "_")
    if as_term in _VOCAB[vocabulary]:
        return as_term
    if len(folded.split()) > _MAX_WORDS:
        return None
    for pattern, value in _COMPILED[vocabulary]:
        if pattern.search(folded):
            return value
    return None


_TRUE = frozenset({"yes", "y", "true", "1", "x", "oui", "si", "sí", "ja", "vrai", "verdadero"})
_FALSE = frozenset({"no", "n", "false", "0", "non", "nein", "faux", "falso", "-"})


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if not isinstance(value, str):
        return None
    text = value.strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None
