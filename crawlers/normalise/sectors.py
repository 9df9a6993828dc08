"""Map free category words (EN/FR/ES) onto Tradepoint's sector vocabulary."""

from __future__ import annotations

import re
from collections.abc import Iterable

from search_api.domain.textfold import fold_accents
from search_api.domain.vocab import SECTORS

__all__ = ["SECTORS", "map_sectors"]

# The vocabulary itself belongs to the record schema; this module only maps words onto it.

# (pattern on accent-folded, casefolded text, sectors). Patterns match at word
# starts so that plural and inflected forms ("textiles", "textil", "alimentos")
# share one stem; stems short enough to hit unrelated words get an end anchor.
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        r"agro ?aliment|agri ?food|agrifood|food|foods|aliment|comestible|nourriture|"
        r"gastronom|culinar|bakery|boulangerie|panader|confectioner|confiserie|dairy|"
        r"lait|lacteo|meat|viande|carne|snack|grocer|epicerie|halal|kosher|catering|"
        r"horeca|spice|epice|especia",
        ("food",),
    ),
    (
        r"beverage|drinks?\b|boissons?\b|bebidas?\b|wines?\b|vins?\b|vinos?\b|beers?\b|"
        r"bieres?\b|cervezas?\b|spirits\b|juices?\b|jus\b|zumos?\b|jugos?\b|liquor|"
        r"vitivinicol|viticult|brewing|brasserie",
        ("beverages",),
    ),
    (
        r"agricultur|agricol|agro\b|agronom|farming|farm\b|farms\b|livestock|elevage|"
        r"ganader|horticultur|seeds?\b|semences?\b|semillas?\b|fertili[sz]|agrotech|"
        r"agritech|crops?\b|tractor|grain|cereal",
        ("agriculture",),
    ),
    (
        r"fish|seafood|aquacultur|acuicultur|poisson|peche\b|pesca|mariscos?|"
        r"fruits de mer|crustace",
        ("fish_seafood",),
    ),
    (
        r"fruits?\b|vegetables?|legumes?\b|frutas?\b|verduras?\b|hortalizas?|"
        r"produce\b|fresh produce|fruta",
        ("fruit_vegetables",),
    ),
    (r"coffee|cafes?\b|tea\b|teas\b|cocoa|cacao|chocolat", ("coffee_tea_cocoa",)),
    (r"organic|biologique|\bbio\b|organico|ecologico", ("organic",)),
    (
        r"textil|fabrics?\b|tissus?\b|tejidos?|yarn|fibres?\b|fibers?\b|cotton|coton|"
        r"algodon|silk\b|soie|wool|laine",
        ("textiles",),
    ),
    (
        r"apparel|clothing|garments?|fashion|mode\b|moda\b|vetements?|habillement|"
        r"prendas?|ropa\b|confection\b|confeccion|pret a porter|wear\b|knitwear",
        ("apparel",),
    ),
    (r"leather|cuir|cuero|maroquinerie|marroquiner|tannery|tanner", ("leather",)),
    (r"footwear|shoes?\b|chaussures?|calzado|zapatos?\b", ("footwear",)),
    (
        r"handicraft|handcraft|crafts?\b|artisan|artesan|craftsmanship|hand ?made|"
        r"fait main|hecho a mano",
        ("handicrafts",),
    ),
    (
        r"home decor|home deco|decoration|decoracion|interior design|homeware|"
        r"housewares?|home textiles?|home and living|maison\b|hogar",
        ("home_decor",),
    ),
    (r"gifts?\b|giftware|cadeaux?|regalos?\b|souvenirs?", ("gifts",)),
    (r"jewel|bijou|joaill|joyer|joyas?\b|gems?\b|gemstones?|watches", ("jewellery",)),
    (r"furniture|meubles?\b|mobilier|ameublement|muebles?\b|mobiliario", ("furniture",)),
    (r"wood|timber|lumber|bois\b|madera|forestry|forest products|sylvicult", ("wood",)),
    (r"packag|emballage|conditionnement|envases?\b|embalaje|empaque", ("packaging",)),
    (
        r"printing|print\b|imprimerie|impresion|impression|graphic arts|arts graphiques|"
        r"artes graficas",
        ("printing",),
    ),
    (
        r"machiner|machines?\b|maquinaria|industrial automation|automation|manufacturing|"
        r"engineering|machine tools?|outillage|herramientas?",
        ("machinery",),
    ),
    (
        r"electronic|electroni|electrical|electrique|electric\b|semiconductor|"
        r"electrodomestic|appliances?",
        ("electronics",),
    ),
    (
        r"\bict\b|\bit\b services|information technology|informatique|informatica|"
        r"software|logiciel|telecom|digital|numerique|tecnologias? de la informacion|"
        r"\btic\b|cyber|computing|computer|fintech|internet|e ?commerce",
        ("ict",),
    ),
    (r"chemical|chimi|quimic|petrochemical", ("chemicals",)),
    (r"plastic|plastique|plastico|polymer|polymere|rubber|caoutchouc|caucho", ("plastics",)),
    (r"pharma|drugs?\b|medicaments?|medicamentos?|farmac", ("pharmaceuticals",)),
    (
        r"medical|medic|health ?care|healthcare|sante\b|salud\b|hospital|hopital|"
        r"dental|laborator|diagnostic",
        ("medical",),
    ),
    (
        r"cosmeti|beauty|beaute|belleza|perfum|parfum|personal care|hygiene|"
        r"skin ?care|cuidado personal",
        ("cosmetics",),
    ),
    (
        r"automotive|automobile|automovil|automotriz|auto parts|car\b|cars\b|vehicles?|"
        r"vehicules?|vehiculos?|motor\b|motors\b|trucks?\b",
        ("automotive",),
    ),
    (
        r"construction|construccion|building materials|materiaux|materiales de "
        r"construccion|batiment|btp\b|architecture|arquitectura|real estate|immobilier",
        ("construction",),
    ),
    (
        r"energ|renewable|renouvelable|renovable|solar|solaire|wind power|eolien|"
        r"oil and gas|petrole|petroleo|power\b|hydrogen",
        ("energy",),
    ),
    (
        r"environment|environnement|medio ambiente|medioambient|waste|dechets|residuos|"
        r"recycl|water treatment|traitement de l eau|tratamiento de agua|cleantech|"
        r"sustainab|durable\b|sostenib",
        ("environment",),
    ),
    (
        r"metal|steel|acier|acero|aluminium|aluminum|aluminio|foundry|fonderie|"
        r"fundicion|metallurg|metalurg",
        ("metals",),
    ),
    (r"mining|mines?\b|minier|mineria|minero|minerals?\b", ("mining",)),
    (
        r"touris|turism|travel|voyages?\b|viajes?\b|hospitality|hotellerie|hoteler|"
        r"hotels?\b",
        ("tourism",),
    ),
    (
        r"logistic|logistique|logistica|transport|shipping|freight|fret\b|supply chain|"
        r"warehous|entreposage|almacen|cargo",
        ("logistics",),
    ),
    (
        r"services?\b|servicios?\b|consulting|conseil|consultoria|finance|banking|"
        r"insurance|assurance|seguros?\b|outsourcing|franchis",
        ("services",),
    ),
    (r"toys?\b|jouets?\b|juguetes?\b|games and toys", ("toys",)),
    (
        r"sporting goods|sports? goods|sports? equipment|articles de sport|"
        r"articulos deportivos|sportswear|outdoor|fitness|bicycles?|cycling",
        ("sporting_goods",),
    ),
    (
        r"multi ?sector|multisector|multi ?sectoriel|multisectorial|general trade|"
        r"all sectors|tous secteurs|todos los sectores|general fair|foire generale|"
        r"feria general|consumer goods|biens de consommation|bienes de consumo",
        ("multi_sector",),
    ),
)
_COMPILED = tuple((re.compile(r"\b(?:" + pat + r")"), terms) for pat, terms in _RULES)
_VOCAB = frozenset(SECTORS)


def _fold(text: str) -> str:
    text = fold_accents(text).replace("&", " and ").replace("+", " and ")
    text = re.sub(r"[^\w]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _terms_for(value: str) -> list[str]:
    folded = _fold(value)
    if not folded:
        return []
    as_term = folded.replace(" ", "_")
    if as_term in _VOCAB:
        return [as_term]
    if as_term in ("jewelry",):
        return ["jewellery"]
    found: list[str] = []
    for pattern, terms in _COMPILED:
        if pattern.search(folded):
            found.extend(t for t in terms if t not in found)
    return found


def map_sectors(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """(sectors in first-seen order without duplicates, original values that
    mapped to nothing). Non-string and blank values are ignored."""
    mapped: list[str] = []
    unmapped: list[str] = []
    try:
        items = [values] if isinstance(values, str) else list(values)
    except TypeError:
        return mapped, unmapped
    for value in items:
        if not isinstance(value, str) or not value.strip():
            continue
        terms = _terms_for(value)
        if not terms:
            if value not in unmapped:
                unmapped.append(value)
            continue
        for term in terms:
            if term not in mapped:
                mapped.append(term)
    return mapped, unmapped
